// bench/attempt-cost.ts's arithmetic: the figures docs/performance.md cites are these medians.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { gaps, perTick } from '../../bench/attempt-cost-child.ts';
import { summarize } from '../../bench/attempt-cost.ts';
import { summarizeModes } from '../../bench/success-cost.ts';

test('perTick: CPU µs over the window → ms per tick, user and system apart; no tick is an error, not a zero', () => {
  assert.deepEqual(perTick(500, { user: 250_000, system: 100_000 }), { ticks: 500, userMs: 0.5, systemMs: 0.2 });
  assert.throws(() => perTick(0, { user: 1, system: 1 }), /no tick in the measured window/);
});

test('gaps: the intervals between consecutive starts, by nearest rank; fewer than two starts is an error, not a zero', () => {
  // 0, 20, 41, 60, 80.5: gaps 20, 21, 19, 20.5.
  assert.deepEqual(gaps([0, 20, 41, 60, 80.5]), { n: 4, p1: 19, p10: 19, p50: 20, p90: 21, p99: 21 });
  assert.throws(() => gaps([5]), /no gap between 1 attempt start\(s\)/);
});

test('summarize: each variant the median of its processes, its total the median of per-process sums; a variant with no figure is named', () => {
  const runs = new Map([
    ['socket', [{ ticks: 500, userMs: 0.3, systemMs: 0.3 }, { ticks: 500, userMs: 0.5, systemMs: 0.1 }, { ticks: 500, userMs: 0.4, systemMs: 0.4 }]],
  ]);
  const [row] = summarize(['socket'], runs);
  assert.equal(row!.userMs, 0.4);
  assert.equal(row!.systemMs, 0.3);
  // Sums 0.6, 0.6, 0.8: the median sum (one process's own total), not the sum of the medians (0.7).
  assert.equal(row!.totalMs, 0.6);
  assert.throws(() => summarize(['socket', 'prober-http@abc1234'], runs), /no run of prober-http@abc1234 produced a figure/);
  assert.equal(row!.gapsMs, undefined);
});

test('summarize: a prober variant\'s gaps are the median of each process\'s quantile', () => {
  const g = (p1: number, p99: number) => ({ n: 499, p1, p10: 19.5, p50: 20, p90: 20.5, p99 });
  const runs = new Map([['prober-tcp', [
    { ticks: 500, userMs: 0.3, systemMs: 0.3, gapsMs: g(18, 22) }, { ticks: 500, userMs: 0.3, systemMs: 0.3, gapsMs: g(19, 21) }, { ticks: 500, userMs: 0.3, systemMs: 0.3, gapsMs: g(17, 23) },
  ]]]);
  assert.deepEqual(summarize(['prober-tcp'], runs)[0]!.gapsMs, { p1: 18, p10: 19.5, p50: 20, p90: 20.5, p99: 22 });
});

test('summarizeModes (bench/success-cost.ts): median, min and max per mode; a mode without a run is named', () => {
  const runs = [
    { mode: 'cold' as const, successCpuMs: 2.5, attempts: 70 }, { mode: 'warm' as const, successCpuMs: 1.2, attempts: 70, warmUpCpuMs: 9 },
    { mode: 'cold' as const, successCpuMs: 3.1, attempts: 71 }, { mode: 'warm' as const, successCpuMs: 0.9, attempts: 70, warmUpCpuMs: 7 },
    { mode: 'cold' as const, successCpuMs: 2.4, attempts: 69 },
  ];
  const [cold, warm] = summarizeModes(runs);
  assert.deepEqual(cold, { mode: 'cold', medianMs: 2.5, minMs: 2.4, maxMs: 3.1, runs: [2.5, 3.1, 2.4] });
  assert.equal(warm!.medianMs, 1.2, 'of two, the upper middle (as attempt-cost.ts)');
  assert.equal(warm!.warmUpCpuMedianMs, 9);
  assert.equal('warmUpCpuMedianMs' in cold!, false, 'no warm-up ran cold');
  assert.throws(() => summarizeModes(runs.filter((r) => r.mode === 'cold')), /no warm run produced a figure/);
});
