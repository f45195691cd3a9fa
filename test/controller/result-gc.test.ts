import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodStore } from '../../src/controller/pod-store.ts';
import { ResultBook } from '../../src/controller/result-book.ts';
import { ResultCollector } from '../../src/controller/result-gc.ts';
import { FakeClock } from '../support/fake-clock.ts';

const HOUR = 3_600_000;

function setup(podExists?: (ns: string, name: string, uid: string) => Promise<boolean>) {
  const clock = new FakeClock();
  const store = new PodStore();
  const book = new ResultBook();
  const deleted: string[] = [];
  const collector = new ResultCollector({
    store, book, clock, ttlMs: HOUR, mayWrite: () => true, log: { info() {}, warn() {} }, podExists,
    writer: { delete: async (_ns, name) => { deleted.push(name); } },
  });
  const old = clock.now() - 2 * HOUR;
  book.set('live', { fingerprint: 'f', namespace: 'ns', podName: 'p-live', recordedAtMs: old });
  book.set('gone', { fingerprint: 'f', namespace: 'ns', podName: 'p-gone', recordedAtMs: old });
  book.set('young', { fingerprint: 'f', namespace: 'ns', podName: 'p-young', recordedAtMs: clock.now() - HOUR / 2 });
  store.upsert({ uid: 'live', namespace: 'ns', name: 'p-live', labels: {}, annotations: {}, hasGate: true, creationTimestampMs: old, phase: 'Running', deleting: false });
  return { collector, deleted, book };
}

// Issue 11, defect 1: GC deleted every result past the cutoff, live pods' too; the next resync
// recorded them again and counted them again.
test('only expired results of pods that are gone are deleted', async () => {
  const { collector, deleted, book } = setup();
  assert.equal(await collector.collect(), 1);
  assert.deepEqual(deleted, ['dpresult-gone']);
  assert.ok(book.get('live') && book.get('young') && !book.get('gone'));
});

test('with a label selector the API server is asked whether a pod missing from the cache still exists', async () => {
  const asked: string[] = [];
  const { collector, deleted } = setup(async (_ns, name) => { asked.push(name); return false; });
  await collector.collect();
  assert.deepEqual(asked, ['p-gone']);
  assert.deepEqual(deleted, ['dpresult-gone']);
  const kept = setup(async () => true);
  await kept.collector.collect();
  assert.deepEqual(kept.deleted, []);
});
