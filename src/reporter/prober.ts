// Runs the schedule against every target until all have succeeded once, the deadline
// passes, or the caller stops it. Attempts overlap: each tick starts a new attempt without
// waiting for earlier ones, so a dropped SYN or a hung server delays nothing. I/O (the probe)
// and time (the clock) are injected; the decisions are in schedule.ts.
import type { Clock } from './clock.ts';
import { NotAttempted, type ProbeFn, type ProbeOptions } from './probes.ts';
import { admit, nextInterval, type ScheduleOptions } from './schedule.ts';
import type { Target } from './targets.ts';

export interface ProberOptions {
  targets: Target[];
  schedule: ScheduleOptions;
  /** Each attempt is abandoned this long after its planned start. */
  attemptTimeoutMs: number;
  /** Per target; at the limit a tick replaces the oldest attempt. */
  maxInFlight: number;
  /** Monotonic instant after which no attempt starts and the run fails. */
  deadline: number;
  clock: Clock;
  probe: ProbeFn;
  /** Passed through to every probe (TLS trust). */
  probeOptions?: Pick<ProbeOptions, 'ca' | 'insecureSkipVerify'>;
  /** Stops the run early (SIGTERM, or the pod turned out to be ready already). */
  signal?: AbortSignal;
  /** Called as each attempt starts; the benchmark uses it for "process start to first attempt". */
  onAttempt?: (target: Target, at: number) => void;
  /** Receives the live per-target results once, so progress can be reported before the run ends. */
  onStart?: (results: readonly TargetResult[]) => void;
}

export interface TargetResult {
  target: Target;
  attempts: number;
  lastError?: string;
  /** Round trip of the successful attempt. */
  rttMs?: number;
  /** Monotonic instant of success. */
  doneAt?: number;
}

export type ProbeRun =
  | { outcome: 'ready'; readyAt: number; results: TargetResult[] }
  | { outcome: 'deadline' | 'stopped'; results: TargetResult[] };

/** Why an attempt was aborted; only timeouts and replacements say anything about the path. */
class AttemptAbort extends Error {
  constructor(message: string) {
    // No stack trace: one is made for every replaced attempt (up to 50 a second), and only the
    // message is ever read. Capturing it was the largest item of an attempt's CPU profile.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

/** Why a settled attempt's signal is aborted (its socket goes); one shared instance. */
const FINISHED = new AttemptAbort('settled');

interface InFlight {
  attempt: AbortController;
  startedAt: number;
  /** Monotonic instant it is abandoned: its planned start + the attempt timeout. */
  expiresAt: number;
}

export async function runProber(opts: ProberOptions): Promise<ProbeRun> {
  const { clock } = opts;
  const t0 = clock.now();
  // One signal ends everything: deadline, external stop, or all targets done.
  const end = new AbortController();
  let deadlineHit = false;
  const onStop = () => end.abort();
  opts.signal?.addEventListener('abort', onStop, { once: true });
  if (opts.signal?.aborted) end.abort();
  void clock.sleep(opts.deadline - t0, end.signal).then(() => {
    if (!end.signal.aborted) { deadlineHit = true; end.abort(); }
  });

  const results = opts.targets.map((target): TargetResult => ({ target, attempts: 0 }));
  opts.onStart?.(results);
  try {
    await Promise.all(results.map((r) => runTarget(r, t0, end.signal, opts)));
  } finally {
    opts.signal?.removeEventListener('abort', onStop);
    end.abort();
  }
  if (results.every((r) => r.doneAt !== undefined)) {
    return { outcome: 'ready', readyAt: Math.max(...results.map((r) => r.doneAt!)), results };
  }
  return { outcome: deadlineHit ? 'deadline' : 'stopped', results };
}

async function runTarget(result: TargetResult, t0: number, end: AbortSignal, opts: ProberOptions): Promise<void> {
  const { clock } = opts;
  // One reason for every timed-out attempt of this target: an Error (and its stack) per attempt
  // is CPU spent 50 times a second for a message that never changes.
  const timedOut = new AttemptAbort(`no answer within ${opts.attemptTimeoutMs} ms`);
  const done = new AbortController();
  const stop = AbortSignal.any([end, done.signal]);
  const inFlight: InFlight[] = [];
  // Whether the latest failure was an answer (refused, an error status) rather than silence
  // (timeout, replaced): only answers slow the schedule down (see schedule.ts).
  let lastFailureAnswered = false;
  let answeredMs = 0;

  const launch = (plannedAt: number) => {
    const attempt = new AbortController();
    // Due from its planned start, which is on the schedule's grid: at the floor an attempt's
    // expiry then falls on a later tick exactly, and the tick that is awake anyway abandons it.
    // A timer of its own fired a millisecond after that tick, a second wake-up per attempt
    // (by hand, about a fifth of an attempt's CPU on this machine's VM).
    const entry: InFlight = { attempt, startedAt: clock.now(), expiresAt: plannedAt + opts.attemptTimeoutMs };
    inFlight.push(entry);
    result.attempts++;
    opts.onAttempt?.(result.target, entry.startedAt);
    opts.probe(result.target, { ...opts.probeOptions, signal: attempt.signal, now: clock.now }).then(
      (ok) => {
        // The first success wins; later ones (overlapping attempts) change nothing.
        if (result.doneAt === undefined && !end.aborted) {
          result.doneAt = ok.doneAt;
          result.rttMs = ok.rttMs;
          done.abort();
        }
      },
      (err: unknown) => {
        const reason: unknown = attempt.signal.aborted ? attempt.signal.reason : err;
        if (reason === FINISHED) return;
        lastFailureAnswered = !(reason instanceof AttemptAbort || reason instanceof NotAttempted);
        if (result.doneAt === undefined) result.lastError = reason instanceof Error ? reason.message : String(reason);
      },
    ).finally(() => {
      const i = inFlight.indexOf(entry);
      if (i >= 0) inFlight.splice(i, 1);
      attempt.abort(FINISHED);
    });
  };

  /** Abandons every attempt whose time is up (they are in start order). */
  const expire = () => {
    const now = clock.now();
    while (inFlight.length > 0 && inFlight[0]!.expiresAt <= now) inFlight.shift()!.attempt.abort(timedOut);
  };

  let next = t0;
  while (!stop.aborted) {
    // Wake for the next tick, or earlier when an attempt expires before it (intervals above
    // the attempt timeout).
    const wake = Math.min(next, inFlight[0]?.expiresAt ?? Infinity);
    const wait = wake - clock.now();
    if (wait > 0) await clock.sleep(wait, stop);
    if (stop.aborted) break;
    expire();
    if (clock.now() < next) continue;
    if (admit(inFlight.length, opts.maxInFlight) === 'replace-oldest') {
      const oldest = inFlight.shift()!;
      const age = Math.round(clock.now() - oldest.startedAt);
      oldest.attempt.abort(new AttemptAbort(`no answer within ${age} ms (replaced by a newer attempt)`));
    }
    launch(next);
    const gap = nextInterval(answeredMs, lastFailureAnswered, opts.schedule);
    if (lastFailureAnswered) answeredMs += gap;
    next += gap;
    // A timer that fired very late (a stalled event loop) must not cause a burst of
    // catch-up attempts: resume the schedule from now.
    if (next < clock.now()) next = clock.now();
  }
  // Whatever is still waiting is moot now: release its sockets.
  for (const { attempt } of inFlight.splice(0)) attempt.abort(FINISHED);
}
