import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { CONDITION_TYPE } from '../../src/contract.ts';
import { PodStore } from '../../src/controller/pod-store.ts';
import { summarizePod } from '../../src/controller/pod-summary.ts';
import { buildResultSpec, readyWait } from '../../src/controller/result-spec.ts';
import { readReporterReport } from '../../src/conditions/reporter-report.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function pod(trueConditions: string[]): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u', creationTimestamp: new Date(T0) as unknown as Date },
    spec: { containers: [], readinessGates: [{ conditionType: CONDITION_TYPE }] },
    status: { phase: 'Running', conditions: trueConditions.map((type) => ({ type, status: 'True' })) },
  };
}

describe('phase instants seen on the watch', () => {
  it('stamps each condition with the first live event that shows it True, never again', () => {
    const store = new PodStore();
    store.upsert(summarizePod(pod([]))!, { firstSeenMs: T0 + 5, seenAtMs: T0 + 5 });
    store.upsert(summarizePod(pod(['PodScheduled']))!, { seenAtMs: T0 + 17 });
    store.upsert(summarizePod(pod(['PodScheduled', 'Initialized', 'ContainersReady']))!, { seenAtMs: T0 + 900 });
    const p = store.upsert(summarizePod(pod(['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']))!, { seenAtMs: T0 + 1200 });
    assert.deepEqual(p.conditionSeenMs, { PodScheduled: T0 + 17, Initialized: T0 + 900, ContainersReady: T0 + 900, Ready: T0 + 1200 });
  });

  it('a pod first found by a list has no instants for what was already True, even after later events', () => {
    const store = new PodStore();
    store.replace([summarizePod(pod(['PodScheduled']))!]);
    const p = store.upsert(summarizePod(pod(['PodScheduled', 'Ready']))!, { seenAtMs: T0 + 3000 });
    assert.deepEqual(p.conditionSeenMs, { PodScheduled: null, Ready: T0 + 3000 });
    const spec = buildResultSpec(p, readReporterReport({}), { outcome: 'Succeeded', reason: 'DatapathReady', message: '' }, T0 + 4000);
    assert.deepEqual(spec.watchTimestamps, { ready: new Date(T0 + 3000).toISOString() }, 'unknown instants are left out');
  });

  it('a succeeded result waits for Ready at most --ready-wait after the datapath was seen, and not for failures', () => {
    const store = new PodStore();
    const p = store.upsert(summarizePod(pod(['PodScheduled']))!, { firstSeenMs: T0, seenAtMs: T0, readySeenMs: T0 + 1000 });
    assert.equal(readyWait(p, 'Succeeded', T0 + 1200, 5000), 4800);
    assert.equal(readyWait(p, 'Succeeded', T0 + 7000, 5000), 0);
    assert.equal(readyWait(p, 'Failed', T0 + 1200, 5000), 0);
    assert.equal(readyWait(p, 'Succeeded', T0 + 1200, 0), 0);
    const ready = store.upsert(summarizePod(pod(['PodScheduled', 'Ready']))!, { seenAtMs: T0 + 1300 });
    assert.equal(readyWait(ready, 'Succeeded', T0 + 1300, 5000), 0);
  });
});
