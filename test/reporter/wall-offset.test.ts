// The offset from the monotonic clock to the wall clock, as the kernel's instants are dated by.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { monotonicOriginMs } from '../../src/reporter/clock.ts';
import { wallMinusMonotonic } from '../../src/reporter/wall-offset.ts';

/** A monotonic clock that moves `stepNs` per reading (and jumps once, if asked), and a wall clock floored to the ms as Date.now() is. */
function fakeClocks(offsetMs: number, stepNs: bigint, jump?: { atReading: number; ns: bigint }) {
  let mono = 5_000_000_000n;
  let readings = 0;
  const readMono = () => {
    readings++;
    mono += stepNs + (jump && readings === jump.atReading ? jump.ns : 0n);
    return mono;
  };
  const readWall = () => Math.floor(Number(mono) / 1e6 + offsetMs);
  return { readMono, readWall };
}

test('the offset is found to within a few µs, not up to a millisecond early as a single Date.now() reading gives', () => {
  // A true offset 0.457 ms past a whole ms: one Date.now() paired with the monotonic clock
  // (the way before) reads it 0.457 ms low.
  const offsetMs = 1_765_000_000_123.457;
  const { readMono, readWall } = fakeClocks(offsetMs, 300n);
  const single = readWall() - Number(readMono()) / 1e6;
  assert.ok(offsetMs - single > 0.4, `a single reading is ${offsetMs - single} ms low`);
  const found = wallMinusMonotonic(readMono, readWall);
  assert.ok(Math.abs(found.offsetMs - offsetMs) < 0.002, `found ${found.offsetMs}, true ${offsetMs}`);
  assert.ok(found.uncertaintyMs < 0.002, `uncertainty ${found.uncertaintyMs}`);
});

test('a tick-over whose bracket a preemption widened is not the one kept', () => {
  const offsetMs = 1_765_000_000_000.9;
  // 3 ms lost in one reading, early on: the first tick-over falls inside that gap.
  const { readMono, readWall } = fakeClocks(offsetMs, 250n, { atReading: 5, ns: 3_000_000n });
  const found = wallMinusMonotonic(readMono, readWall, 3);
  assert.ok(Math.abs(found.offsetMs - offsetMs) < 0.002, `found ${found.offsetMs}, true ${offsetMs}`);
});

test('on a loaded machine every tick-over may skip milliseconds (the process was off its core): each still brackets the instant the wall clock reached its new value', () => {
  const offsetMs = 1_765_000_000_000.25;
  // 2.5 ms per reading: Date.now() never moves by exactly 1 between two readings.
  const { readMono, readWall } = fakeClocks(offsetMs, 2_500_000n);
  const found = wallMinusMonotonic(readMono, readWall, 2);
  // Each bracket spans about two readings (5 ms): the offset is within half of that.
  assert.ok(Math.abs(found.offsetMs - offsetMs) <= found.uncertaintyMs, `found ${found.offsetMs} ± ${found.uncertaintyMs}, true ${offsetMs}`);
  assert.ok(found.uncertaintyMs < 5, `uncertainty ${found.uncertaintyMs}`);
});

test('on this machine the offset agrees with the one Node paired at its own start (performance.timeOrigin)', () => {
  const found = wallMinusMonotonic();
  // performance.now() = hrtime − the time origin's hrtime, so this is Node's pairing of the two clocks.
  const node = performance.timeOrigin - monotonicOriginMs(1_000);
  assert.ok(Math.abs(found.offsetMs - node) < 1, `found ${found.offsetMs}, Node's ${node}`);
  assert.ok(found.uncertaintyMs < 0.5, `uncertainty ${found.uncertaintyMs} ms`);
});
