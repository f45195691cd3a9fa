// Issue 11, defect 2: a replica that is not leading must keep caches only. Before the fix it
// queued every event, resync and delete for work it never ran, and kept a tombstone of every
// deleted pod: 20k pods created and deleted left 20k keys in each queue and 20k tombstones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as k8s from '@kubernetes/client-node';
import { ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE } from '../../src/contract.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { ReflectorOptions } from '../../src/controller/reflector.ts';
import { settings, testLog } from '../support/controller.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1_048_576;
}

function pod(i: number, annotations: Record<string, string>): k8s.V1Pod {
  return {
    metadata: { uid: `uid-${i}`, name: `p-${i}`, namespace: 'perf', creationTimestamp: new Date(), resourceVersion: String(i),
      labels: { app: 'web', 'pod-template-hash': '5d8f7c9b6' }, annotations },
    spec: { readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [] },
    status: { phase: 'Pending' },
  };
}

test('a follower keeps caches only: 20k pods created and deleted leave no queued work, no tombstones, flat memory', async (t) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser({ name: 'nowhere', server: 'https://127.0.0.1:1', skipTLSVerify: false }, { name: 'nobody' });
  // Leader election on, never started: this replica is and stays a follower.
  const c = new Controller(kc, settings({ leaderElect: true }), testLog);
  // The pod watch's own callback: the path every real event takes.
  const podEvents = (c as unknown as { podReflector: { opts: ReflectorOptions } }).podReflector.opts;
  const resultEvents = (c as unknown as { resultReflector: { opts: ReflectorOptions } }).resultReflector.opts;
  const now = () => new Date().toISOString();
  const round = (from: number, n: number) => {
    for (let i = from; i < from + n; i++) {
      podEvents.onEvent('ADDED', pod(i, {}));
      podEvents.onEvent('MODIFIED', pod(i, { [ANNOTATION_START]: now() }));
      const ready = pod(i, { [ANNOTATION_START]: now(), [ANNOTATION_DP_READY]: now() });
      podEvents.onEvent('MODIFIED', ready);
      // The leader records each result: half before the pod goes, half (PodDeleted) after.
      const result = { metadata: { namespace: 'perf', name: `dpresult-uid-${i}` }, spec: {
        podRef: { namespace: 'perf', name: `p-${i}`, uid: `uid-${i}` }, outcome: 'Succeeded', reason: 'DatapathReady',
        timestamps: { createdAt: now(), recordedAt: now() }, metrics: {}, labels: {} } };
      if (i % 2 === 0) resultEvents.onEvent('ADDED', result);
      podEvents.onEvent('DELETED', ready);
      if (i % 2 === 1) resultEvents.onEvent('ADDED', result);
      // --result-ttl on the leader: the results go too.
      resultEvents.onEvent('DELETED', result);
    }
  };
  round(0, 2_000); // warm up: JIT, maps at their working size
  const before = heapMB();
  round(2_000, 20_000);
  const after = heapMB();
  t.diagnostic(`heap ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB after 20k pods created and deleted (${(after - before).toFixed(2)} MB)`);
  assert.equal(c.conditions.depth + c.conditions.scheduled, 0, 'no condition work queued');
  assert.equal(c.results.depth + c.results.scheduled, 0, 'no result work queued');
  assert.equal(c.store.size, 0);
  assert.equal(c.tracker.untrackedCount, 0);
  assert.equal(c.tracker.tombstoneCount, 0);
  assert.equal(c.book.size, 0);
  assert.ok(after - before < 1, `heap grew ${(after - before).toFixed(2)} MB`);
  await c.stop();
});

// The receive check's knock schedule dropped stale entries only when it ran, that is on the
// leader: on a follower every pod that needed a knock stayed in it.
test('a follower schedules no knocks: 20k receive-checked pods created and deleted leave the schedule empty', async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser({ name: 'nowhere', server: 'https://127.0.0.1:1', skipTLSVerify: false }, { name: 'nobody' });
  const c = new Controller(kc, settings({ leaderElect: true }), testLog);
  const podEvents = (c as unknown as { podReflector: { opts: ReflectorOptions } }).podReflector.opts;
  for (let i = 0; i < 20_000; i++) {
    const p = pod(i, { [ANNOTATION_START]: new Date().toISOString() });
    p.spec!.containers = [{ name: 'app', image: 'x', ports: [{ name: 'dpready-receive', containerPort: 9090 }] }];
    p.status = { phase: 'Running', podIP: `10.0.${i >> 8}.${i & 255}` };
    podEvents.onEvent('ADDED', p);
    podEvents.onEvent('DELETED', p);
  }
  assert.equal(c.receiver.pending, 0);
  assert.equal(c.receiver.scheduled, 0, 'no knock scheduled while following');
  await c.stop();
});
