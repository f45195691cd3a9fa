// Wall-clock ms − CLOCK_MONOTONIC ms: the offset that turns the kernel's trace stamps (mono
// clock) into the wall-clock instants the reporters write (devcluster/tracefs.ts), and the
// reporter's own monotonic instants into wall-clock ones when the image's entrypoint did not
// pair the two clocks for it (clock.ts). Node has no wall clock finer than
// Date.now()'s whole milliseconds (floored), so a reading taken at an arbitrary point of its
// millisecond is early by up to 1 ms: 0.5 ms on average, and the same in every truth of a run
// (the kernel's commit and every exec), as tracefs.ts did until 2026-12-07. The instant
// Date.now() ticks over, though, the wall clock is exactly that whole millisecond. So this
// watches it tick over, with the monotonic clock read around each reading, and dates the tick
// between the monotonic reading before the last old value and the one after the first new one.

export interface WallOffset {
  /** Wall − monotonic, ms. */
  offsetMs: number;
  /** Half the width of the kept tick-over's bracket, ms: the offset is within this of the true one. */
  uncertaintyMs: number;
}

/** A bracket this tight (half-width, ms) ends the watch once `crossings` tick-overs are seen. */
export const TIGHT_MS = 0.01;
/** Tick-overs watched at most (as many ms) when none is that tight: a busy machine's. */
export const MAX_CROSSINGS = 12;

/**
 * Watches `crossings` tick-overs of `readWall` (a few ms) and keeps the one most tightly
 * bracketed by `readMono` (a preemption in between only widens its bracket); on a busy machine,
 * where a preemption can widen every bracket, it watches more, up to MAX_CROSSINGS, until one is
 * within TIGHT_MS. A tick-over that skipped milliseconds (the process was off its core) still
 * brackets the instant the wall clock reached its new value: before it, the reading was below
 * the previous value + 1. Clocks injected for the test; the defaults are the process's own.
 */
export function wallMinusMonotonic(
  readMono: () => bigint = () => process.hrtime.bigint(),
  readWall: () => number = Date.now,
  crossings = 3,
): WallOffset {
  let best: WallOffset = { offsetMs: NaN, uncertaintyMs: Infinity };
  let prev = { before: readMono(), wall: readWall() };
  let seen = 0;
  // Bounded however the clocks behave: a wall clock that never moves ends it too.
  const done = () => seen >= MAX_CROSSINGS || (seen >= crossings && best.uncertaintyMs <= TIGHT_MS);
  for (let i = 0; !done() && i < 50_000_000; i++) {
    const before = readMono();
    const wall = readWall();
    const after = readMono();
    // Forward only: a wall clock stepped back (by NTP) says nothing of this.
    if (wall > prev.wall) {
      seen++;
      // The instant the wall clock reached `wall` came after the previous reading (itself after
      // prev.before) and before this one (before `after`).
      const widthNs = after - prev.before;
      const uncertaintyMs = Number(widthNs) / 2e6;
      if (uncertaintyMs < best.uncertaintyMs) {
        best = { offsetMs: wall - Number(prev.before + widthNs / 2n) / 1e6, uncertaintyMs };
      }
    }
    prev = { before, wall };
  }
  if (!Number.isFinite(best.offsetMs)) throw new Error('the wall clock (Date.now()) did not move in 50,000,000 readings');
  return best;
}
