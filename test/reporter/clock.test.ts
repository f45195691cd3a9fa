// The reporter's wall clock: every instant it writes is counted from the wall-clock instant of
// the monotonic clock's origin, paired with care, not from performance.timeOrigin.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { monotonicOriginMs, originWallMs, systemClock, systemClockAt } from '../../src/reporter/clock.ts';
import { wallMinusMonotonic } from '../../src/reporter/wall-offset.ts';

/** performance.now()'s origin on the monotonic clock, ms, from many more readings than the reporter takes. */
const monoOrigin = () => monotonicOriginMs(1_000);

test('given the entrypoint\'s offset, the origin is that offset plus performance.now()\'s origin on the monotonic clock, to the µs', () => {
  const offsetNs = 1_796_533_916_296_368_090n;
  const origin = originWallMs(offsetNs);
  assert.ok(Math.abs(origin - (1_796_533_916_296 + 0.368_09 + monoOrigin())) < 0.02, String(origin));
  // The clock built on it dates each monotonic instant from it.
  assert.equal(systemClockAt(origin).wallAt(250), origin + 250);
});

test('without it, the origin is measured: this host\'s clocks, as the tick-over method reads them', () => {
  const measured = originWallMs();
  const ref = wallMinusMonotonic();
  const reference = ref.offsetMs + monoOrigin();
  // Each measurement is within its bracket of the truth; on a busy machine a bracket can widen
  // (both watch more tick-overs then, wall-offset.ts), so the bound counts the reference's.
  const slack = 0.1 + 2 * ref.uncertaintyMs;
  assert.ok(Math.abs(measured - reference) < slack, `measured ${measured}, reference ${reference} (± ${slack})`);
  // The shared clock (benchmarks, tests) agrees with Date.now(), which is floored to the ms
  // (its first wall-clock instant measures the origin: a few ms, taken before the comparison).
  systemClock.wallAt(0);
  const before = Date.now();
  const wall = systemClock.wallAt(performance.now());
  const after = Date.now();
  // Date.now() floors: the true instant of `before` is at least it, that of `after` below it + 1.
  assert.ok(wall >= before - slack && wall < after + 1 + slack, `${wall} between Date.now() readings ${before} and ${after} (± ${slack})`);
});

test('waitUntil blocks the thread until the instant, without a turn of the event loop; an instant past returns at once', () => {
  let turned = false;
  setImmediate(() => { turned = true; });
  const at = performance.now() + 3;
  systemClock.waitUntil(at);
  assert.ok(performance.now() >= at, `returned ${at - performance.now()} ms early`);
  assert.equal(turned, false, 'the event loop ran during the wait');
  const before = performance.now();
  systemClock.waitUntil(before - 5);
  assert.ok(performance.now() - before < 1, 'waited for an instant already past');
});
