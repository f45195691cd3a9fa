import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/api/app.ts';
import { NO_PODS } from '../../src/api/pod-source.ts';
import { PHASE_NAMES, phaseStats } from '../../src/api/phases.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { result } from './fixtures.ts';

function index(): ResultIndex {
  const idx = new ResultIndex();
  // containers ready at 1000, datapath seen at 1800: 800 ms Ready without datapath.
  // a: the policy in force 450 ms after its datapath worked; b: 20 ms after.
  idx.upsert(result({ ns: 'perf', name: 'a', start: 300, dp: 1750, policy: 2200, labels: { app: 'web' },
    watch: { scheduled: 12.4, initialized: 400, containersReady: 1000, datapathReady: 1800, ready: 1850 } }));
  idx.upsert(result({ ns: 'perf', name: 'b', start: 200, dp: 600, policy: 620, labels: { app: 'web' },
    watch: { scheduled: 20, initialized: 300, containersReady: 900, datapathReady: 650, ready: 950 } }));
  // A result written by a controller that started late: no watch instants.
  idx.upsert(result({ ns: 'perf', name: 'c', start: 100, dp: 200, labels: { app: 'db' } }));
  idx.markSynced();
  return idx;
}

describe('phaseStats', () => {
  it('measures each phase from creation on the watch clock, and the Ready-without-datapath gap', () => {
    const s = phaseStats(index().values(), undefined, 5);
    assert.deepEqual(s.phases.map((p) => p.phase), PHASE_NAMES);
    assert.deepEqual(PHASE_NAMES, ['scheduled', 'initialized', 'containers-ready', 'datapath-ready', 'ready', 'reporter-start', 'reporter-ready', 'policy-enforced', 'policy-after-datapath', 'ready-without-datapath']);
    const by = Object.fromEntries(s.phases.map((p) => [p.phase, p]));
    assert.equal(s.results, 3);
    assert.deepEqual([by.scheduled!.count, by.scheduled!.min, by.scheduled!.max], [2, 12, 20], 'whole ms; the result without instants is not counted');
    assert.deepEqual([by['reporter-ready']!.count, by['reporter-ready']!.max], [3, 1750]);
    // The gap: a: 1800-1000 = 800; b: the datapath worked 250 ms before the containers were ready.
    const gap = by['ready-without-datapath']!;
    assert.deepEqual([gap.count, gap.min, gap.max, gap.p50], [2, -250, 800, 275]);
    assert.deepEqual(gap.worstPods.map((w) => [w.name, w.value]), [['a', 800], ['b', -250]]);
    assert.match(gap.from, /ContainersReady/);
    assert.deepEqual([by['policy-enforced']!.count, by['policy-enforced']!.min, by['policy-enforced']!.max], [2, 620, 2200], 'pods with deny targets only');
    const open = by['policy-after-datapath']!;
    assert.deepEqual(open.worstPods.map((w) => [w.name, w.value]), [['a', 450], ['b', 20]]);
    assert.equal(open.clock, 'node (reporter)');
    assert.equal(by.ready!.clock, 'controller (watch)');
    assert.match(by['reporter-ready']!.clock, /node/);
  });

  it('keeps the same worst pods and percentiles as a full sort would, ties by namespace and name', () => {
    const idx = new ResultIndex();
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    for (let i = 0; i < 400; i++) {
      // Few distinct values, so many ties.
      idx.upsert(result({ ns: `ns-${Math.floor(rnd() * 4)}`, name: `p-${i}`, start: 1, dp: 2, watch: { scheduled: Math.floor(rnd() * 20) } }));
    }
    const s = phaseStats(idx.values(), undefined, 25).phases[0]!;
    const all = [...idx.values()].map((r) => ({ r, v: r.scheduledMs - r.createdAtMs }))
      .sort((a, b) => b.v - a.v || (a.r.namespace < b.r.namespace ? -1 : a.r.namespace > b.r.namespace ? 1 : a.r.name < b.r.name ? -1 : a.r.name > b.r.name ? 1 : 0));
    assert.deepEqual(s.worstPods.map((w) => `${w.namespace}/${w.name}=${w.value}`), all.slice(0, 25).map((x) => `${x.r.namespace}/${x.r.name}=${x.v}`));
    assert.equal(s.max, all[0]!.v);
    assert.equal(s.min, all.at(-1)!.v);
    assert.equal(s.count, 400);
  });

  it('filters like the other routes, and topN bounds each worst list', async () => {
    const app = await buildApp({ results: index(), pods: NO_PODS, registry: new Registry(), isReady: () => true });
    const res = await app.inject({ url: '/api/v1/phases?labelSelector=app%3Dweb&topN=1' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.results, 2);
    assert.equal(body.percentileMethod, 'linear-interpolation-r7');
    for (const p of body.phases) {
      assert.equal(p.worstPods.length, 1, p.phase);
      for (const k of ['count', 'p50', 'p90', 'p95', 'p99', 'min', 'max']) assert.ok(Number.isInteger(p[k]), `${p.phase}.${k}`);
    }
    const bad = await app.inject({ url: '/api/v1/phases?phase=ready' });
    assert.deepEqual([bad.statusCode, bad.json().parameter], [400, 'phase']);
    await app.close();
  });

  it('GET /api/v1/time-to-policy-enforced: the shape of the other series, over pods with deny targets only', async () => {
    const idx = index();
    // Deny targets, but the policy never seen in force: a failed pod of this series.
    idx.upsert(result({ ns: 'perf', name: 'd', start: 100, dp: 300, policy: null, outcome: 'TimedOut', reason: 'PolicyNotEnforced', labels: { app: 'web' } }));
    const app = await buildApp({ results: idx, pods: NO_PODS, registry: new Registry(), isReady: () => true });
    const res = await app.inject({ url: '/api/v1/time-to-policy-enforced?topN=5' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.metric, 'time-to-policy-enforced');
    assert.equal(body.unit, 'ms');
    assert.deepEqual([body.count, body.totalSuccessful, body.totalFailed], [2, 2, 1], 'c had no deny targets: not in this series');
    assert.deepEqual(body.worstPods.map((w: { name: string; value: number; measuredTs: string }) => [w.name, w.value]), [['a', 2200], ['b', 620]]);
    assert.equal(body.worstPods[0].measuredTs, '2025-03-01T12:00:02.200Z');
    assert.deepEqual(body.failedPods.map((f: { name: string; reason: string }) => [f.name, f.reason]), [['d', 'PolicyNotEnforced']]);
    const ready = (await app.inject({ url: '/api/v1/time-to-datapath-ready' })).json();
    assert.deepEqual(Object.keys(body).sort(), Object.keys(ready).sort(), 'same fields as the other series');
    await app.close();
  });
});
