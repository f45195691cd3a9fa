// One process of bench/time-origin.ts, started through dpready-start: how far each way of
// dating its monotonic instants lies from this host's clocks, ms. Prints one JSON line.
import { monotonicOriginMs, originWallMs } from '../src/reporter/clock.ts';
import { wallMinusMonotonic } from '../src/reporter/wall-offset.ts';

export interface OriginErrors {
  /** performance.timeOrigin − the true wall-clock instant of performance.now()'s origin. */
  timeOriginMs: number;
  /** The reporter's origin (clock.ts, from dpready-start's DPREADY_WALL_MINUS_MONO_NS) − the same. */
  reporterMs: number;
}

const given = process.env.DPREADY_WALL_MINUS_MONO_NS;
if (!given) throw new Error('DPREADY_WALL_MINUS_MONO_NS is not set: run this under dpready-start');
const reporter = originWallMs(BigInt(given));
const truth = wallMinusMonotonic().offsetMs + monotonicOriginMs(2_000);
const out: OriginErrors = { timeOriginMs: performance.timeOrigin - truth, reporterMs: reporter - truth };
process.stdout.write(`${JSON.stringify(out)}\n`);
