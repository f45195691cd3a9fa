// Time as a dependency, so the work queue's backoff, the reflector's restarts, the elector's
// lease expiry and the timeout rechecks can be tested without sleeping.
export interface Clock {
  /** Wall-clock time (ms since the epoch): for timestamps that leave this process. */
  now(): number;
  /**
   * Monotonic time (ms from an arbitrary origin): for measuring intervals that decide
   * something, like lease expiry. A wall-clock step (NTP, a VM resumed) must not stretch or
   * shrink them: client-go's leader election uses monotonic time for the same reason.
   */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Node runs any timer longer than this after 1 ms (TimeoutOverflowWarning). Longer waits are
 * cut to it: the callback then runs early, and every caller here re-checks what it waits for.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
