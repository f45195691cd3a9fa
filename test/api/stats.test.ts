import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter } from '../../src/api/filters.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { metricStats, PERCENTILE_METHOD, summarize } from '../../src/api/stats.ts';
import { parseSelector } from '../../src/labels/selector.ts';
import { result } from './fixtures.ts';

// Hand-computed with h = (n-1)p, q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
const TABLE: { sample: number[]; p50: number; p90: number; p95: number; p99: number; min: number; max: number; mean: number }[] = [
  // n=1: every statistic is the one value.
  { sample: [7], p50: 7, p90: 7, p95: 7, p99: 7, min: 7, max: 7, mean: 7 },
  // n=2: p90 h=0.9 -> 100 + 0.9*100.
  { sample: [200, 100], p50: 150, p90: 190, p95: 195, p99: 199, min: 100, max: 200, mean: 150 },
  // n=5: p50 h=2 -> 35; p90 h=3.6 -> 40+0.6*10; p95 h=3.8 -> 48; p99 h=3.96 -> 49.6.
  { sample: [50, 15, 40, 20, 35], p50: 35, p90: 46, p95: 48, p99: 49.6, min: 15, max: 50, mean: 32 },
  // n=10 (10..100): p50 h=4.5 -> 55; p90 h=8.1 -> 91; p95 h=8.55 -> 95.5; p99 h=8.91 -> 99.1.
  { sample: [100, 90, 80, 70, 60, 50, 40, 30, 20, 10], p50: 55, p90: 91, p95: 95.5, p99: 99.1, min: 10, max: 100, mean: 55 },
  // ties: sorted [1,2,2,3]; p90 h=2.7 -> 2.7; p99 h=2.97.
  { sample: [3, 1, 2, 2], p50: 2, p90: 2.7, p95: 2.85, p99: 2.97, min: 1, max: 3, mean: 2 },
  // fractions: p90 of [0.1,0.2,0.3] is 0.28 (float noise rounded to the microsecond).
  { sample: [0.3, 0.1, 0.2], p50: 0.2, p90: 0.28, p95: 0.29, p99: 0.298, min: 0.1, max: 0.3, mean: 0.2 },
];

function indexOf(values: number[]): ResultIndex {
  const idx = new ResultIndex();
  values.forEach((v, i) => idx.upsert(result({ name: `p${i}`, dp: v, start: v / 10 })));
  return idx;
}

describe('percentiles against a hand-computed table', () => {
  for (const row of TABLE) {
    it(`sample ${JSON.stringify(row.sample)}`, () => {
      const { sample, ...want } = row;
      const exact = summarize(Float64Array.from(sample).sort());
      assert.deepEqual({ p50: exact.p50, p90: exact.p90, p95: exact.p95, p99: exact.p99, min: exact.min, max: exact.max, mean: exact.mean }, want);
      // On the wire every order statistic is whole ms (Go int64 clients); the mean keeps its fraction.
      const s = metricStats(indexOf(row.sample).view('time-to-datapath-ready'), undefined, { metric: 'time-to-datapath-ready', topN: 0, pending: 0 });
      assert.deepEqual(
        { p50: s.p50, p90: s.p90, p95: s.p95, p99: s.p99, min: s.min, max: s.max, mean: s.mean },
        { p50: Math.round(want.p50), p90: Math.round(want.p90), p95: Math.round(want.p95), p99: Math.round(want.p99),
          min: Math.round(want.min), max: Math.round(want.max), mean: want.mean },
      );
      for (const k of ['p50', 'p90', 'p95', 'p99', 'min', 'max'] as const) assert.ok(Number.isInteger(s[k]), `${k}=${s[k]}`);
      assert.equal(s.count, sample.length);
      assert.equal(s.percentileMethod, PERCENTILE_METHOD);
    });
  }

  it('sends worst-pod values in whole ms', () => {
    const s = metricStats(indexOf([10.4, 20.5, 30.6]).view('time-to-datapath-ready'), undefined, { metric: 'time-to-datapath-ready', topN: 3, pending: 0 });
    assert.deepEqual(s.worstPods.map((w) => w.value), [31, 21, 10]);
  });

  it('differs from the existing system\'s floor((n-1)p) index where it should', () => {
    // The Go system's p90 of [15,20,35,40,50] is x[floor(3.6)] = 40; ours interpolates to 46.
    assert.equal(summarize(Float64Array.from([15, 20, 35, 40, 50])).p90, 46);
  });
});

describe('metricStats', () => {
  it('returns zeros and empty arrays, never null, when there is no data', () => {
    const s = metricStats(new ResultIndex().view('time-to-start'), undefined, { metric: 'time-to-start', topN: 10, pending: 3 });
    assert.deepEqual(s, {
      metric: 'time-to-start', unit: 'ms', count: 0, totalSuccessful: 0, totalFailed: 0,
      p50: 0, p90: 0, p95: 0, p99: 0, min: 0, max: 0, mean: 0,
      pending: 3, timedOut: 0, percentileMethod: PERCENTILE_METHOD,
      worstPods: [], failedPods: [], failedPodsTruncated: false,
    });
  });

  it('lists the worst pods highest first, ties by namespace then name', () => {
    const idx = new ResultIndex();
    for (const [ns, name, dp] of [['x', 'b', 100], ['x', 'a', 100], ['w', 'z', 100], ['a', 'fast', 5], ['b', 'top', 300]] as const) {
      idx.upsert(result({ ns, name, dp, start: 1 }));
    }
    const s = metricStats(idx.view('time-to-datapath-ready'), undefined, { metric: 'time-to-datapath-ready', topN: 4, pending: 0 });
    assert.deepEqual(s.worstPods.map((p) => `${p.namespace}/${p.name}=${p.value}`), ['b/top=300', 'w/z=100', 'x/a=100', 'x/b=100']);
    const w = s.worstPods[0]!;
    assert.equal(w.measuredTs, '2025-03-01T12:00:00.300Z');
    assert.equal(w.createdAt, '2025-03-01T12:00:00.000Z');
  });

  it('counts results without the metric as failed, sorted by reason then namespace/name, with timedOut apart', () => {
    const idx = new ResultIndex();
    idx.upsert(result({ ns: 'b', name: 'one', start: 10, outcome: 'TimedOut', reason: 'DatapathTimeout' }));
    idx.upsert(result({ ns: 'a', name: 'two', outcome: 'Failed', reason: 'ReporterFailed', message: 'probe deadline' }));
    idx.upsert(result({ ns: 'a', name: 'three', start: 10, outcome: 'TimedOut', reason: 'DatapathTimeout' }));
    idx.upsert(result({ ns: 'a', name: 'ok', start: 10, dp: 50 }));
    const dp = metricStats(idx.view('time-to-datapath-ready'), undefined, { metric: 'time-to-datapath-ready', topN: 10, pending: 0 });
    assert.deepEqual(dp.failedPods.map((p) => `${p.reason}:${p.namespace}/${p.name}`),
      ['DatapathTimeout:a/three', 'DatapathTimeout:b/one', 'ReporterFailed:a/two']);
    assert.deepEqual(dp.failedPods[2], { namespace: 'a', name: 'two', uid: 'uid-a-two', nodeName: 'node-1', reason: 'ReporterFailed', outcome: 'Failed', message: 'probe deadline' });
    assert.equal(dp.totalFailed, 3);
    assert.equal(dp.totalSuccessful, 1);
    assert.equal(dp.timedOut, 2);
    // The timed-out pods did start: for time-to-start they are measured, not failed.
    const st = metricStats(idx.view('time-to-start'), undefined, { metric: 'time-to-start', topN: 10, pending: 0 });
    assert.equal(st.count, 3);
    assert.equal(st.totalFailed, 1);
    assert.equal(st.timedOut, 2);
  });

  it('caps failedPods and says so, keeping the first in order', () => {
    const idx = new ResultIndex();
    for (let i = 0; i < 5; i++) idx.upsert(result({ name: `f${i}`, outcome: 'Failed', reason: 'ReporterFailed' }));
    const s = metricStats(idx.view('time-to-start'), undefined, { metric: 'time-to-start', topN: 10, pending: 0, failedLimit: 2 });
    assert.deepEqual(s.failedPods.map((p) => p.name), ['f0', 'f1']);
    assert.equal(s.totalFailed, 5);
    assert.equal(s.failedPodsTruncated, true);
  });

  it('filters by namespace, selector, time window and outcome over the precomputed order', () => {
    const idx = new ResultIndex();
    const T = Date.parse('2025-03-01T12:00:00Z');
    idx.upsert(result({ ns: 'a', name: 'p1', dp: 10, start: 1, labels: { app: 'web' }, createdAtMs: T }));
    idx.upsert(result({ ns: 'a', name: 'p2', dp: 20, start: 1, labels: { app: 'db' }, createdAtMs: T + 1000 }));
    idx.upsert(result({ ns: 'b', name: 'p3', dp: 30, start: 1, labels: { app: 'web' }, createdAtMs: T + 2000 }));
    idx.upsert(result({ ns: 'b', name: 'p4', start: 1, outcome: 'TimedOut', labels: { app: 'web' }, createdAtMs: T + 3000 }));
    const run = (f: Parameters<typeof compileFilter>[0]) =>
      metricStats(idx.view('time-to-datapath-ready'), compileFilter(f), { metric: 'time-to-datapath-ready', topN: 10, pending: 0 });
    assert.deepEqual(run({ namespace: 'a' }).worstPods.map((p) => p.name), ['p2', 'p1']);
    const web = run({ selector: parseSelector('app in (web)') });
    assert.deepEqual([web.count, web.totalFailed, web.p50], [2, 1, 20]);
    assert.deepEqual(run({ sinceMs: T + 1000, untilMs: T + 3000 }).worstPods.map((p) => p.name), ['p3', 'p2']);
    const timedOut = run({ outcome: 'TimedOut' });
    assert.deepEqual([timedOut.count, timedOut.totalFailed, timedOut.timedOut], [0, 1, 1]);
    assert.equal(compileFilter({}), undefined, 'no filter means no per-result walk');
  });
});
