import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_DP_READY, ANNOTATION_START } from '../../src/contract.ts';
import { PodStore } from '../../src/controller/pod-store.ts';
import type { PodSummary } from '../../src/controller/pod-summary.ts';
import { ResultBook } from '../../src/controller/result-book.ts';
import { PodTracker, TOMBSTONE_TTL_MS } from '../../src/controller/tracking.ts';
import { FakeClock } from '../support/fake-clock.ts';

function setup() {
  const clock = new FakeClock();
  const store = new PodStore();
  const book = new ResultBook();
  return { clock, store, book, tracker: new PodTracker(store, book, clock) };
}

function summary(clock: FakeClock, over: Partial<PodSummary> = {}): PodSummary {
  return { uid: 'u1', namespace: 'ns', name: 'p1', labels: {}, annotations: {}, hasGate: true,
    creationTimestampMs: Math.floor(clock.now() / 1000) * 1000, phase: 'Pending', deleting: false, ...over };
}

const started = { [ANNOTATION_START]: '2026-11-30T10:00:00.100Z' };
const ready = { ...started, [ANNOTATION_DP_READY]: '2026-11-30T10:00:00.900Z' };

test('watch events become work: a tracked pod a condition pass, its deletion a result pass', () => {
  const { clock, tracker, store } = setup();
  assert.deepEqual(tracker.onEvent('ADDED', summary(clock), true), { conditions: ['u1'], results: [], gone: [] });
  assert.equal(store.get('u1')?.firstSeenMs, clock.now());
  assert.deepEqual(tracker.onEvent('ADDED', summary(clock, { uid: 'other', hasGate: false }), true), { conditions: [], results: [], gone: [] });
  assert.equal(store.get('other'), undefined, 'pods that are not ours are not cached');
  tracker.onEvent('MODIFIED', summary(clock, { annotations: started }), true);
  assert.deepEqual(tracker.onEvent('DELETED', summary(clock, { annotations: started }), true), { conditions: [], results: ['u1'], gone: ['u1'] });
  assert.equal(tracker.tombstone('u1')?.name, 'p1');
});

test('a pod deleted before its reporter wrote anything leaves no tombstone: there is nothing to record', () => {
  const { clock, tracker } = setup();
  tracker.onEvent('ADDED', summary(clock), true);
  assert.deepEqual(tracker.onEvent('DELETED', summary(clock), true), { conditions: [], results: [], gone: ['u1'] });
  assert.equal(tracker.tombstoneCount, 0);
});

test('the gate latency starts only when the leader sees the ready annotation; a follower records none', () => {
  const { clock, tracker, store } = setup();
  tracker.onEvent('ADDED', summary(clock), false);
  tracker.onEvent('MODIFIED', summary(clock, { annotations: ready }), false);
  assert.equal(store.get('u1')?.readySeenMs, undefined);
  tracker.onEvent('ADDED', summary(clock, { uid: 'u2' }), true);
  tracker.onEvent('MODIFIED', summary(clock, { uid: 'u2', annotations: ready }), true);
  assert.equal(store.get('u2')?.readySeenMs, clock.now());
});

test('a follower keeps no tombstone of a pod whose result it knows, and drops the others once recorded or after the TTL', async () => {
  const { clock, tracker, book } = setup();
  book.set('u1', { fingerprint: 'f', namespace: 'ns', podName: 'p1', recordedAtMs: 0 });
  tracker.onEvent('ADDED', summary(clock, { annotations: ready }), false);
  tracker.onEvent('DELETED', summary(clock, { annotations: ready }), false);
  assert.equal(tracker.tombstoneCount, 0);
  for (const uid of ['u2', 'u3']) {
    tracker.onEvent('ADDED', summary(clock, { uid, annotations: started }), false);
    tracker.onEvent('DELETED', summary(clock, { uid, annotations: started }), false);
  }
  assert.equal(tracker.tombstoneCount, 2);
  tracker.onResultRecorded('u2');
  assert.deepEqual(tracker.tombstoneKeys(), ['u3']);
  await clock.advance(TOMBSTONE_TTL_MS + 1);
  tracker.prune();
  assert.equal(tracker.tombstoneCount, 0);
});

test('a first sighting is kept only inside the creation second, and dropped when the pod is deleted or missing from a relist', async () => {
  const { clock, tracker, store } = setup();
  const plain = (uid: string) => summary(clock, { uid, hasGate: false });
  tracker.onEvent('ADDED', plain('a'), true);
  tracker.onEvent('ADDED', plain('b'), true);
  tracker.onEvent('ADDED', { ...plain('old'), creationTimestampMs: clock.now() - 5_000 }, true);
  assert.equal(tracker.untrackedCount, 2, 'a pod created seconds ago gains nothing from a first sighting');
  tracker.onEvent('DELETED', plain('a'), true);
  tracker.replace([], true);
  assert.equal(tracker.untrackedCount, 0);
  // And it is used when the pod turns out to be ours.
  tracker.onEvent('ADDED', plain('c'), true);
  const seen = clock.now();
  await clock.advance(300);
  tracker.onEvent('MODIFIED', { ...plain('c'), annotations: started }, true);
  assert.equal(store.get('c')?.firstSeenMs, seen);
});

test('a relist tombstones pods deleted while the watch was down', () => {
  const { clock, tracker } = setup();
  tracker.onEvent('ADDED', summary(clock, { annotations: started }), true);
  tracker.onEvent('ADDED', summary(clock, { uid: 'u2', annotations: started }), true);
  const work = tracker.replace([summary(clock, { uid: 'u2', annotations: started })], true);
  assert.deepEqual(work, { conditions: ['u2'], results: ['u1'], gone: ['u1'] });
});
