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
  idx.upsert(result({ ns: 'perf', name: 'a', start: 300, dp: 1750, labels: { app: 'web' },
    watch: { scheduled: 12.4, initialized: 400, containersReady: 1000, datapathReady: 1800, ready: 1850 } }));
  idx.upsert(result({ ns: 'perf', name: 'b', start: 200, dp: 600, labels: { app: 'web' },
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
    assert.deepEqual(PHASE_NAMES, ['scheduled', 'initialized', 'containers-ready', 'datapath-ready', 'ready', 'reporter-start', 'reporter-ready', 'ready-without-datapath']);
    const by = Object.fromEntries(s.phases.map((p) => [p.phase, p]));
    assert.equal(s.results, 3);
    assert.deepEqual([by.scheduled!.count, by.scheduled!.min, by.scheduled!.max], [2, 12, 20], 'whole ms; the result without instants is not counted');
    assert.deepEqual([by['reporter-ready']!.count, by['reporter-ready']!.max], [3, 1750]);
    // The gap: a: 1800-1000 = 800; b: the datapath worked 250 ms before the containers were ready.
    const gap = by['ready-without-datapath']!;
    assert.deepEqual([gap.count, gap.min, gap.max, gap.p50], [2, -250, 800, 275]);
    assert.deepEqual(gap.worstPods.map((w) => [w.name, w.value]), [['a', 800], ['b', -250]]);
    assert.match(gap.from, /ContainersReady/);
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
});
