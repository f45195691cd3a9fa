// When attempts start. Pure: no timers here, the prober asks and sleeps.
//
// The error of "first success" is the gap between the instant the path starts working and
// the next attempt start, so it is bounded by the interval in force at that moment. A fixed
// interval trades accuracy against load; instead the interval is a fixed fraction of the time
// already waited (relative error stays ~`growth`), with a floor so the first attempts are not
// absurdly dense and a cap so a pod whose datapath never works costs a steady, small rate:
//
//   interval(elapsed) = min(cap, max(initial, growth × elapsed))
//
// The growth counts only time during which the target answered with failures (refused,
// HTTP errors, DNS errors): only then would fast probing load it. While attempts go
// unanswered (dropped SYNs, a black hole), an attempt costs the target nothing, so the
// interval stays at the floor (20 ms, 50 attempts/s) and a path that starts working is seen
// within 20 ms however long the wait was.
//
// Defaults (20 ms, 1.5 %, 2 s), for a refusing target: 20 ms until 1.33 s, 30 ms at 2 s, 150 ms at 10 s, 900 ms at
// 60 s, the 2 s cap from 133 s on. A pod whose datapath never works makes ~67 attempts in its
// first 1.33 s, then ~67 per e-fold of waiting (~95 by 2 s, ~320 by 60 s, ~375 by 133 s), then
// one per cap. The cap is the existing reporter's fixed 2 s, so at steady state a broken
// rollout loads a target no more than the existing system did; the extra early attempts are
// what buys ~1.5 % quantisation error instead of up to 2 s.
export interface ScheduleOptions {
  /** Floor of the interval, ms. */
  initialMs: number;
  /** Fraction of elapsed time used as the interval once that exceeds the floor. */
  growth: number;
  /** Ceiling of the interval, ms (PROBE_INTERVAL). */
  capMs: number;
}

export const DEFAULT_SCHEDULE: ScheduleOptions = { initialMs: 20, growth: 0.015, capMs: 2_000 };

/** Gap between the attempt started at `elapsedMs` (since probing began) and the next one. */
export function intervalAt(elapsedMs: number, opts: ScheduleOptions): number {
  return Math.min(opts.capMs, Math.max(opts.initialMs, opts.growth * Math.max(0, elapsedMs)));
}

/**
 * Gap to the next attempt: the floor while the latest failure went unanswered, else the
 * growing interval of the time spent answered (`answeredMs`).
 */
export function nextInterval(answeredMs: number, lastFailureAnswered: boolean, opts: ScheduleOptions): number {
  return lastFailureAnswered ? intervalAt(answeredMs, opts) : Math.min(opts.capMs, opts.initialMs);
}

/**
 * Attempt start offsets from 0 up to (excluding) `untilMs`. Offsets are computed from the
 * previous planned start, not from when the timer fired, so timer lateness does not drift.
 */
export function plannedStarts(opts: ScheduleOptions, untilMs: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < untilMs; t += intervalAt(t, opts)) out.push(t);
  return out;
}

/**
 * What to do at a tick when `inFlight` attempts are still waiting. Overlap is the point (a
 * hung attempt must not delay detection), but it is bounded so a black-holed path cannot pile
 * up sockets: at the limit the oldest attempt is abandoned in favour of a fresh one, because
 * the newest attempt is the one that can see a path that just started working.
 */
export function admit(inFlight: number, maxInFlight: number): 'start' | 'replace-oldest' {
  return inFlight < maxInFlight ? 'start' : 'replace-oldest';
}
