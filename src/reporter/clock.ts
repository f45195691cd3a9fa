// Time as the reporter sees it, injected everywhere so tests drive time instead of waiting.
// `now` is monotonic (performance.now: ms since process start), so durations are immune to
// wall-clock steps; wall time is derived once, as the wall-clock instant of now()'s origin
// (originWallMs) + now.
import type { AttemptSignal } from './attempt-signal.ts';
import { wallMinusMonotonic } from './wall-offset.ts';

export interface Clock {
  /** Monotonic ms since process start. */
  now(): number;
  /** Resolves after `ms`, or early (never rejects) when `signal` aborts (an AbortSignal or an attempt's stop). */
  sleep(ms: number, signal?: AttemptSignal): Promise<void>;
  /** Wall-clock epoch ms for a monotonic instant from now(). */
  wallAt(mono: number): number;
  /**
   * Blocks the thread until the monotonic instant `at`, at most a few ms ahead (the prober's
   * timer slack); returns at once if it has passed.
   */
  waitUntil(at: number): void;
  /**
   * Blocks the thread until the monotonic instant `until` (waitUntil), then lets the event loop
   * take one turn: resolves once what came in meanwhile (completions, answers, due timers) has
   * been handled.
   */
  sleepOnThread(until: number): Promise<void>;
}

// Atomics.wait on a cell nobody writes: a futex sleep with a µs deadline, outside the event loop.
const futexCell = new Int32Array(new SharedArrayBuffer(4));

/** Clock.waitUntil on the real clock. */
function waitUntil(at: number): void {
  const ms = at - performance.now();
  if (ms > 0) Atomics.wait(futexCell, 0, 0, ms);
}

const monotonic: Omit<Clock, 'wallAt'> = {
  now: () => performance.now(),
  // A plain timer and listener, not timers/promises with a signal: that one rejects with a new
  // AbortError (a stack trace) every time a sleep is cut short, i.e. for every probe attempt.
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    if (signal?.aborted) { resolve(); return; }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    // A sleep with no end waits for the signal only: setTimeout would make Infinity 1 ms.
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
    signal?.addEventListener('abort', done, { once: true });
  }),
  waitUntil,
  sleepOnThread: (until) => {
    waitUntil(until);
    return new Promise<void>((resolve) => setImmediate(resolve));
  },
};

/**
 * The wall-clock instant (epoch ms) of performance.now()'s origin. Not performance.timeOrigin:
 * Node takes the wall-clock reading for it at another moment of its start than the monotonic
 * one that performance.now() counts from, and on busy cores the two can lie tens of ms apart:
 * 32 ms in one of 90 processes (bench/results/time-origin-2026-12-07-d9f144e.json; 44-76 ms in
 * four of 120 by hand). That pod's every instant would be as late.
 * Given `wallMinusMonoNs` (the image's entrypoint reads the two clocks together,
 * DPREADY_WALL_MINUS_MONO_NS), that offset; else measured here where Date.now() ticks over
 * (wall-offset.ts: 1–2 ms of spinning, up to 12 on a busy machine).
 */
export function originWallMs(wallMinusMonoNs?: bigint): number {
  const originMonoMs = monotonicOriginMs();
  // Whole ms from the BigInt, then the ns below them: a Number of ns since 1970 loses the µs.
  const offsetMs = wallMinusMonoNs !== undefined
    ? Number(wallMinusMonoNs / 1_000_000n) + Number(wallMinusMonoNs % 1_000_000n) / 1e6
    : wallMinusMonotonic(undefined, undefined, 2).offsetMs;
  return offsetMs + originMonoMs;
}

/**
 * performance.now()'s origin on the monotonic clock (process.hrtime), ms: hrtime − now(), read
 * one after the other. A preemption between the two only lowers a sample, so the largest of a
 * few is the one.
 */
export function monotonicOriginMs(samples = 8): number {
  let origin = -Infinity;
  for (let i = 0; i < samples; i++) {
    const hr = process.hrtime.bigint();
    const sinceOrigin = performance.now();
    origin = Math.max(origin, Number(hr) / 1e6 - sinceOrigin);
  }
  return origin;
}

/** The process's clock, its wall-clock instants counted from `originWall` (originWallMs()). */
export function systemClockAt(originWall: number): Clock {
  return { ...monotonic, wallAt: (mono) => originWall + mono };
}

/**
 * For callers that start no reporter run of their own (benchmarks, tests): the origin is
 * measured on the first wall-clock instant asked for.
 */
let measuredOrigin: number | undefined;
export const systemClock: Clock = {
  ...monotonic,
  wallAt: (mono) => (measuredOrigin ??= originWallMs()) + mono,
};

/** RFC3339 UTC with milliseconds, the annotation format. */
export function rfc3339(epochMs: number): string {
  return new Date(Math.round(epochMs)).toISOString();
}
