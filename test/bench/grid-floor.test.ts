// The interval's share of the datapath-ready mark, and the check of each pod's own bracket.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkBrackets, expectedGridMaxMs, passChance } from '../../bench/grid-floor.ts';
import { nearestRank } from '../../bench/stats.ts';
import { DEFAULT_SCHEDULE, nextInterval } from '../../src/reporter/schedule.ts';

/** A small deterministic generator, so the simulation is the same every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

test('the interval alone: 20 reporters on the default schedule, healed at once at a random phase each, put the nearest-rank p99 at 19 ms on average', () => {
  // Each pod's grid is the schedule's own on a path that drops every attempt (no answer, so no
  // growth); the heal falls somewhere in the second second of probing, at an independent phase
  // for each pod.
  const grid: number[] = [];
  for (let t = 0; t < 3_000; t += nextInterval(0, false, DEFAULT_SCHEDULE)) grid.push(t);
  const random = lcg(18);
  const runs = 4_000;
  let sum = 0;
  let passed = 0;
  for (let run = 0; run < runs; run++) {
    const errors = Array.from({ length: 20 }, () => {
      const heal = 1_000 + random() * 1_000;
      return grid.find((t) => t >= heal)! - heal;
    }).sort((a, b) => a - b);
    const p99 = nearestRank(errors, 0.99);
    sum += p99;
    if (p99 + 1 <= 20) passed++;
  }
  const expected = expectedGridMaxMs(20, DEFAULT_SCHEDULE.initialMs);
  assert.ok(Math.abs(expected - 19.05) < 0.01, `formula: ${expected}`);
  assert.ok(Math.abs(sum / runs - expected) < 0.1, `simulated mean ${sum / runs} against ${expected}`);
  // With 1 ms of delay in every pod, a run passes the 20 ms mark about a third of the time.
  const chance = passChance(20, DEFAULT_SCHEDULE.initialMs, Array(20).fill(1));
  assert.ok(Math.abs(chance - 0.95 ** 20) < 1e-12);
  assert.ok(Math.abs(passed / runs - chance) < 0.03, `simulated ${passed / runs} against ${chance}`);
});

test('the pass chance: one pod whose delay alone exceeds the mark makes it 0; no delay makes it 1 at a mark of one interval', () => {
  assert.equal(passChance(20, 20, [0, 0, 0]), 1);
  assert.equal(passChance(20, 20, [0, 21]), 0);
  assert.equal(passChance(20, 20, [10, 10]), 0.25);
});

test('brackets: the truth must lie after the lower end and at or before the upper end, within the annotation\'s rounding', () => {
  const check = checkBrackets(4, [
    { pod: 'a', lowerMs: -12, upperMs: 8 },
    { pod: 'b', lowerMs: -20.4, upperMs: 0.2 },
    // Recorded 0.3 ms before the truth: within the ms rounding of the annotation.
    { pod: 'c', lowerMs: -19.3, upperMs: -0.3 },
    // Claims the path failed 2 ms after it healed: the bracket is wrong.
    { pod: 'd', lowerMs: 2, upperMs: 21 },
  ]);
  assert.equal(check.withBracket, 4);
  assert.equal(check.truthInside, 3);
  assert.deepEqual(check.outside.map((b) => b.pod), ['d']);
  assert.deepEqual(check.widthMs, { p50: 19, max: 20.6 });
  // A reported instant 1 ms before the truth is outside too.
  assert.equal(checkBrackets(1, [{ pod: 'e', lowerMs: -21, upperMs: -1 }]).truthInside, 0);
});
