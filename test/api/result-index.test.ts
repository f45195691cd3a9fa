import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildView, ResultIndex } from '../../src/api/result-index.ts';
import { result, T0 } from './fixtures.ts';

describe('ResultIndex', () => {
  it('keys results by pod UID: upsert replaces, delete removes', () => {
    const idx = new ResultIndex();
    idx.upsert(result({ name: 'a', uid: 'u1', dp: 10, rv: '1' }));
    idx.upsert(result({ name: 'a', uid: 'u1', dp: 30, rv: '2' }));
    idx.upsert(result({ name: 'a', uid: 'u2', dp: 20, rv: '3' }));
    assert.equal(idx.size, 2);
    assert.deepEqual([...idx.view('time-to-datapath-ready').values], [20, 30]);
    assert.equal(idx.delete('u1'), true);
    assert.equal(idx.delete('u1'), false);
    assert.deepEqual([...idx.view('time-to-datapath-ready').values], [20]);
  });

  it('keeps only slim fields, and reuses its orders until something changes', () => {
    const idx = new ResultIndex();
    idx.upsert(result({ name: 'a', uid: 'u1', dp: 10, start: 2, rv: '5', labels: { app: 'x' } }));
    const v1 = idx.view('time-to-datapath-ready');
    assert.equal(idx.view('time-to-datapath-ready'), v1, 'no rebuild without a change');
    // An informer resync re-delivers the same resourceVersion: no rebuild.
    idx.upsert(result({ name: 'a', uid: 'u1', dp: 10, start: 2, rv: '5', labels: { app: 'x' } }));
    assert.equal(idx.view('time-to-datapath-ready'), v1);
    const version = idx.version;
    idx.upsert(result({ name: 'a', uid: 'u1', dp: 11, start: 2, rv: '6', labels: { app: 'x' } }));
    assert.ok(idx.version > version);
    assert.deepEqual([...idx.view('time-to-datapath-ready').values], [11], 'kept current in place');
    assert.deepEqual(Object.keys(idx.get('u1')!).sort(), [
      'containersReadyMs', 'createdAt', 'createdAtMs', 'dpReadySeenMs', 'dpReadyTs', 'initializedMs', 'labels', 'latDpReadyMs', 'latPolicyMs', 'latReceiveMs', 'latStartMs',
      'message', 'name', 'namespace', 'nodeName', 'outcome', 'policyCheck', 'policyEnforcedTs', 'readyMs', 'reason', 'receiveCheck', 'receiveTs', 'resourceVersion', 'scheduledMs', 'startTs', 'uid',
    ].sort());
  });

  it('keeps built orders identical to a rebuild through random upserts and deletes', () => {
    let seed = 42;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const idx = new ResultIndex();
    const check = () => {
      for (const metric of ['time-to-start', 'time-to-datapath-ready'] as const) {
        const live = idx.view(metric);
        const fresh = buildView(idx.values(), metric);
        assert.deepEqual(live.measured.map((e) => e.uid), fresh.measured.map((e) => e.uid), metric);
        assert.deepEqual([...live.values], [...fresh.values]);
        assert.deepEqual(live.unmeasured.map((e) => e.uid), fresh.unmeasured.map((e) => e.uid));
        assert.equal(live.measuredTimedOut, fresh.measuredTimedOut);
      }
    };
    check();
    let rv = 0;
    // Rounds of 50 changes stay incremental; the 3,000-change round exceeds the limit and rebuilds.
    for (const changes of [50, 50, 3000, 50]) {
      for (let i = 0; i < changes; i++) {
        const uid = `u${rnd(300)}`;
        if (rnd(4) === 0) { idx.delete(uid); continue; }
        const kind = rnd(3);
        idx.upsert(result({
          ns: `ns${rnd(3)}`, name: `p${rnd(40)}`, uid, rv: String(++rv),
          // Few distinct values, so ties (broken by namespace/name/uid) are common.
          ...(kind === 0 ? { start: rnd(5), dp: rnd(5) * 10 } : kind === 1 ? { start: rnd(5), outcome: 'TimedOut' as const, reason: `R${rnd(2)}` } : { outcome: 'Failed' as const }),
        }));
      }
      check();
    }
  });

  it('replaceAll makes a re-list exact (drops results deleted while the watch was down)', () => {
    const idx = new ResultIndex();
    idx.upsert(result({ name: 'gone', uid: 'u1', dp: 10 }));
    idx.replaceAll([result({ name: 'kept', uid: 'u2', dp: 20 })]);
    assert.equal(idx.has('u1'), false);
    assert.equal(idx.get('u2')!.name, 'kept');
  });

  it('is not synced until told, and gives failures a reason even when the result has none', () => {
    const idx = new ResultIndex();
    assert.equal(idx.synced, false);
    idx.markSynced();
    assert.equal(idx.synced, true);
    idx.upsert(result({ name: 'f', uid: 'u3', outcome: 'Failed' }));
    assert.equal(idx.get('u3')!.reason, 'Failed');
    assert.ok(Number.isNaN(idx.get('u3')!.latDpReadyMs));
  });
});

describe('ResultIndex: the Ready instant from the watch', () => {
  it('a result written before Ready takes the instant the watch saw, without a second write, and keeps it', () => {
    const seen = new Map<string, number>();
    const idx = new ResultIndex({ readySeen: (uid) => seen.get(uid) });
    idx.upsert(result({ name: 'a', uid: 'u1', dp: 10, rv: '1', watch: { datapathReady: 12 } }));
    assert.ok(Number.isNaN(idx.get('u1')!.readyMs), 'no Ready yet');
    const version = idx.version;
    idx.noteReady('u1', T0 + 40);
    assert.equal(idx.get('u1')!.readyMs, T0 + 40);
    assert.ok(idx.version > version, 'answers computed before are not reused');
    idx.noteReady('u1', T0 + 99);
    assert.equal(idx.get('u1')!.readyMs, T0 + 40, 'the first sighting stays');
    // A later rewrite of the result (another outcome) that records no Ready keeps the watch's instant.
    idx.upsert(result({ name: 'a', uid: 'u1', dp: 11, rv: '2' }));
    assert.equal(idx.get('u1')!.readyMs, T0 + 40);
    // Ready seen before the result arrived on the result watch: taken when it arrives.
    seen.set('u2', T0 + 55);
    idx.upsert(result({ name: 'b', uid: 'u2', dp: 10, rv: '3' }));
    assert.equal(idx.get('u2')!.readyMs, T0 + 55);
    // A result that records its own Ready (written with --ready-wait) keeps its own.
    seen.set('u3', T0 + 70);
    idx.upsert(result({ name: 'c', uid: 'u3', dp: 10, rv: '4', watch: { ready: 60 } }));
    assert.equal(idx.get('u3')!.readyMs, T0 + 60);
    idx.replaceAll([result({ name: 'a', uid: 'u1', dp: 11, rv: '2' })]);
    assert.equal(idx.get('u1')!.readyMs, T0 + 40, 'a re-list keeps it');
    idx.noteReady('nope', T0);
    assert.equal(idx.size, 1);
  });
});
