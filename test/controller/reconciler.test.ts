// The reconcilers with every I/O edge faked: a pod store fed as the watch would, a status
// patcher and a result writer that record what they were asked to write, and a fake clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_START, CONDITION_TYPE, type DatapathResultSpec } from '../../src/contract.ts';
import type { ConditionPatch } from '../../src/conditions/condition-patch.ts';
import { ConditionReconciler } from '../../src/controller/condition-reconciler.ts';
import { createMetrics } from '../../src/controller/metrics.ts';
import { PodStore } from '../../src/controller/pod-store.ts';
import type { PodSummary } from '../../src/controller/pod-summary.ts';
import { ResultBook } from '../../src/controller/result-book.ts';
import { ResultReconciler } from '../../src/controller/result-reconciler.ts';
import { PodTracker } from '../../src/controller/tracking.ts';
import { FakeClock } from '../support/fake-clock.ts';

const CREATED = Date.parse('2026-11-30T10:00:00Z');

function summary(over: Partial<PodSummary> = {}): PodSummary {
  return {
    uid: 'u1', namespace: 'ns', name: 'p1', labels: { app: 'web' }, annotations: {}, hasGate: true,
    creationTimestampMs: CREATED, phase: 'Running', deleting: false, ...over,
  };
}

const READY = {
  [ANNOTATION_START]: new Date(CREATED + 200).toISOString(),
  [ANNOTATION_DP_READY]: new Date(CREATED + 1_400).toISOString(),
  [ANNOTATION_PROBE]: JSON.stringify({ targets: ['tcp://10.0.0.9:80'], attempts: 2 }),
};

const POLICY = { timeoutMs: 60_000, policy: 'fail-closed' as const, pendingGraceMs: 0 };
const quiet = { info() {}, warn() {} };

/** One replica: its own caches and clock, fake writers. */
export function replica(opts: { onWrite?: (spec: DatapathResultSpec, book: ResultBook) => void; mayWrite?: () => boolean } = {}) {
  const clock = new FakeClock();
  const store = new PodStore();
  const book = new ResultBook();
  const tracker = new PodTracker(store, book, clock);
  const metrics = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
  const patches: ConditionPatch[] = [];
  const results: DatapathResultSpec[] = [];
  const events: string[] = [];
  const mayWrite = opts.mayWrite ?? (() => true);
  const conditions = new ConditionReconciler({
    store, clock, metrics, policy: POLICY, mayWrite, log: quiet,
    patcher: { patch: async (_ns, _name, body) => { patches.push(body); return 'patched'; } },
    events: { record: (_pod, type, reason) => { events.push(`${type} ${reason}`); } },
  });
  const resultsReconciler = new ResultReconciler({
    store, tracker, book, clock, metrics, policy: POLICY, mayWrite, log: quiet,
    writer: { write: async (spec) => { opts.onWrite?.(spec, book); results.push(spec); return 'created'; } },
  });
  return {
    clock, store, book, tracker, metrics, patches, results, events,
    /** The condition pass for one pod. */
    reconcile: (uid: string) => conditions.reconcile(uid),
    /** The result pass for one pod. */
    record: (uid: string) => resultsReconciler.reconcile(uid),
  };
}

/** What the API server shows after a patch: the pod with that condition. */
function withCondition(s: PodSummary, patch: ConditionPatch): PodSummary {
  const c = patch.status.conditions[0]!;
  assert.equal(c.type, CONDITION_TYPE);
  return { ...s, condition: { status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime } };
}

// Issue 11, defect 3: the True message carried a latency from this replica's own first-seen
// instant, so a new leader (which saw the pod only on its list) rewrote every Ready pod.
test('a new leader makes no pods/status write for a pod the old leader already made Ready', async () => {
  const a = replica();
  const pod = summary({ annotations: READY });
  a.store.upsert(pod, { firstSeenMs: CREATED + 300 }); // a saw the ADDED event
  await a.reconcile('u1');
  assert.equal(a.patches.length, 1);

  const b = replica();
  b.store.upsert(withCondition(pod, a.patches[0]!)); // b found it on a list after the failover
  await b.reconcile('u1');
  assert.deepEqual(b.patches, [], 'the condition is the same on every replica');
});

// Issue 11, defect 7: the reconciler wrote `condition` onto the store's own object; a watch
// event from before the patch's echo replaced that object, and the next pass wrote again.
test('a stale watch event after our patch does not cause a second write, and the cache is not mutated', async () => {
  const r = replica();
  const pod = summary({ annotations: READY });
  r.store.upsert(pod);
  const cached = r.store.get('u1')!;
  const snapshot = structuredClone(cached);
  await r.reconcile('u1');
  assert.equal(r.patches.length, 1);
  assert.deepEqual(cached, snapshot, 'the cached pod object is left as the watch delivered it');
  r.store.upsert(summary({ annotations: READY })); // a MODIFIED event from before our patch landed
  await r.reconcile('u1');
  assert.equal(r.patches.length, 1, 'no second write');
  r.store.upsert(withCondition(pod, r.patches[0]!)); // the echo
  await r.reconcile('u1');
  assert.equal(r.patches.length, 1);
});

test('lastTransitionTime moves only when the status changes, even with a stale event in between', async () => {
  const r = replica();
  const probing = summary({ annotations: { [ANNOTATION_START]: READY[ANNOTATION_START] } });
  r.store.upsert(probing);
  await r.reconcile('u1');
  const first = r.patches[0]!.status.conditions[0]!;
  assert.equal(first.status, 'False');
  r.store.upsert(withCondition(probing, r.patches[0]!));
  await r.clock.advance(5_000);
  r.store.upsert(withCondition(summary({ annotations: READY }), r.patches[0]!));
  await r.reconcile('u1');
  const second = r.patches[1]!.status.conditions[0]!;
  assert.equal(second.status, 'True');
  assert.notEqual(second.lastTransitionTime, first.lastTransitionTime);
  r.store.upsert(withCondition(summary({ annotations: READY }), r.patches[0]!)); // stale: still False
  await r.clock.advance(5_000);
  await r.reconcile('u1');
  assert.equal(r.patches.length, 2, 'the False from before our True write is not "corrected" with a new transition');
});

// Issue 11, defect 6: outcome metrics were skipped when the watch echo of our own create
// reached the book before the create call returned.
test('a result is counted once in the metrics even when its watch echo arrives before the create returns', async () => {
  const r = replica({ onWrite: (spec, book) => book.observe(spec, spec.podRef.namespace) });
  r.store.upsert(summary({ annotations: READY }));
  await r.record('u1');
  assert.equal(r.results.length, 1);
  const text = await r.metrics.registry.getSingleMetricAsString('dpready_results_total');
  assert.match(text, /dpready_results_total\{outcome="Succeeded"\} 1/);
  await r.record('u1');
  assert.equal(r.results.length, 1, 'nothing to rewrite');
  assert.match(await r.metrics.registry.getSingleMetricAsString('dpready_results_total'), /dpready_results_total\{outcome="Succeeded"\} 1/);
});

test('a recorded pod\'s ready-without-datapath gap (ContainersReady seen → datapath seen) lands in its histogram', async () => {
  const r = replica();
  r.store.upsert(summary({ conditionsTrue: [] }), { firstSeenMs: CREATED, seenAtMs: CREATED });
  r.store.upsert(summary({ conditionsTrue: ['PodScheduled', 'Initialized', 'ContainersReady'] }), { seenAtMs: CREATED + 1_000 });
  r.store.upsert(summary({ annotations: READY, conditionsTrue: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'] }),
    { readySeenMs: CREATED + 3_500, seenAtMs: CREATED + 3_600 });
  await r.record('u1');
  assert.equal(r.results.length, 1);
  const text = await r.metrics.registry.getSingleMetricAsString('dpready_ready_without_datapath_seconds');
  assert.match(text, /dpready_ready_without_datapath_seconds_sum 2\.5$/m);
  assert.match(text, /dpready_ready_without_datapath_seconds_count 1$/m);
  assert.match(text, /_bucket\{le="2"\} 0$/m);
  assert.match(text, /_bucket\{le="2\.5"\} 1$/m);
});

// Issue 20: the result waited behind the condition write (seconds in a burst); it needs none of it.
test('a pod whose outcome is known is handed to the result queue before its condition is written', async () => {
  const clock = new FakeClock();
  const store = new PodStore();
  const metrics = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
  const order: string[] = [];
  let release!: () => void;
  const patchHeld = new Promise<void>((r) => { release = r; });
  const conditions = new ConditionReconciler({
    store, clock, metrics, policy: POLICY, mayWrite: () => true, log: quiet,
    patcher: { patch: async () => { order.push('patch sent'); await patchHeld; order.push('patch done'); return 'patched'; } },
    events: { record: () => {} },
    outcomeKnown: (uid) => order.push(`result due ${uid}`),
  });
  store.upsert(summary({ annotations: READY }));
  const pass = conditions.reconcile('u1');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['result due u1', 'patch sent'], 'the result is due while the patch is still in flight');
  release();
  assert.equal((await pass).outcomeKnown, true);
  // A pod with no outcome yet (no annotation) is not handed over.
  store.upsert(summary({ uid: 'u2', name: 'p2' }));
  await conditions.reconcile('u2');
  assert.ok(!order.includes('result due u2'));
});
