// Time as the reporter sees it, injected everywhere so tests drive time instead of waiting.
// `now` is monotonic (performance.now: ms since process start), so durations are immune to
// wall-clock steps; wall time is derived once as performance.timeOrigin + now.
import type { AttemptSignal } from './attempt-signal.ts';

export interface Clock {
  /** Monotonic ms since process start. */
  now(): number;
  /** Resolves after `ms`, or early (never rejects) when `signal` aborts (an AbortSignal or an attempt's stop). */
  sleep(ms: number, signal?: AttemptSignal): Promise<void>;
  /** Wall-clock epoch ms for a monotonic instant from now(). */
  wallAt(mono: number): number;
}

export const systemClock: Clock = {
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
  // timeOrigin is the instant the process started; adding monotonic time keeps start and
  // ready on one time base, so ready - start equals the skew-free duration exactly.
  wallAt: (mono) => performance.timeOrigin + mono,
};

/** RFC3339 UTC with milliseconds, the annotation format. */
export function rfc3339(epochMs: number): string {
  return new Date(Math.round(epochMs)).toISOString();
}
