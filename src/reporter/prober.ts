// Runs the schedule against every target until all have succeeded once, the deadline
// passes, or the caller stops it. Attempts overlap: each tick starts a new attempt without
// waiting for earlier ones, so a dropped SYN or a hung server delays nothing. I/O (the probe)
// and time (the clock) are injected; the decisions are in schedule.ts.
//
// The instant recorded for a success is when its attempt's packet went out (the SYN, after
// any lookup of the target's name; the query, for a dns target), not when the answer was
// read, whenever the attempt completed before that packet could have been sent again
// (FIRST_RESEND_MS): it got through, so the path worked when it went out. Not the attempt's
// start: a lookup that began while the path was broken can end after it healed (a rollout's
// pod by Service name was recorded 15 ms before the heal in a CI run).
// The answer comes a round trip later, and on a busy node much later still: the reporter's
// event loop, and the target's, wait for CPU (on 2 cores with 20 reporters healing at once,
// 38 ms at p50 and 110 ms at worst in 2026-12-05-bbf062f.json). The packet's instant is
// stamped as it is sent (on the tick right after the connect(2) that sends the SYN; a clock
// read before the call would be early by any wait for a core in between), so only
// quantisation (the interval) is left in it.
// For that to hold, a connection not up by CONNECT_WITHIN_MS is abandoned before the kernel
// resends its SYN: a resent SYN goes out on the kernel's timer wheel at 1 s plus up to tens
// of ms, an instant nobody stamped, and with the old attempts resending, about half of the
// successes were resent SYNs (2026-12-05-bbf062f.json). Fresh attempts go out every 20 ms
// on a silent path anyway, so an abandoned connection loses nothing.
import { AttemptStop } from './attempt-signal.ts';
import type { Clock } from './clock.ts';
import { NotAttempted, type ProbeFn, type ProbeOptions } from './probes.ts';
import { admit, DEFAULT_SCHEDULE, nextInterval, type ScheduleOptions } from './schedule.ts';
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
  /**
   * Sleeps between ticks on the thread while the path is silent (SLEEP_ON_THREAD below). Only
   * for a process that serves nothing else on time: every other timer and socket of it waits up
   * to an interval for its turn. run.ts sets it when there is no receive check and no deny target.
   */
  sleepOnThread?: boolean;
}

/**
 * Linux sends a connection's first SYN again 1 s after connect() (TCP_TIMEOUT_INIT), and a
 * lookup's resolver waits at least 1 s (resolv.conf's timeout is whole seconds) before asking
 * again: in an attempt that completed within this long, the first packet got through.
 */
export const FIRST_RESEND_MS = 1_000;
/** A connection not up by then is abandoned, before its SYN is resent (see above). */
export const CONNECT_WITHIN_MS = 900;
/**
 * Node's timers count whole milliseconds from the event loop's cached clock, so a timer fires
 * before the instant it was asked for by performance.now(): by up to 1 ms of rounding (by hand,
 * 193 of 300 bare 20 ms timers did), plus however long the loop had been running when the timer
 * was set (the tick's own work; up to 1.5 ms early in all, by hand). A tick that treated such a
 * wake as too early slept again, and the shortest timer is 1 ms: 1.35-1.43 wake-ups per attempt
 * instead of 1, and up to 1 ms more lateness. So whatever falls due within this slack is done on
 * this wake-up. An attempt may be abandoned up to this much before its time, which changes
 * nothing recorded. A tick's attempt waits out the rest on the thread (Clock.waitUntil, a futex
 * sleep with a µs deadline and no turn of the event loop), so it starts on its tick, not before:
 * a success is late against the heal by up to the gap between its SYN and the one before, and
 * an attempt started early stretches that gap past the interval by as much. It narrows the gaps
 * only a little: on this machine most of their spread is the other way, timers (and the futex)
 * waking late, 0.4 ms at p50 and 2.2 ms at p99 by hand on an idle VM. Gaps p10-p90, unanswered
 * tcp attempts: 18.85-21.19 ms started at the wake, 19.04-20.87 waited out (http 18.92-20.94,
 * 19.3-20.78; bench/results/attempt-cost-2026-12-07-a73fbd9.json), CPU per attempt within noise.
 */
export const TIMER_SLACK_MS = 2;
/**
 * After a success the reporter stays quiet this long (from the success's instant) before it
 * closes its other attempts and hands the result on: two intervals of the default floor. Pods
 * on one node often see the same heal (a Service's rule, a policy, the CNI), and each one's
 * work after its success (closing ~45 sockets, the patch, the handover's execve: 20-30 ms of
 * CPU on this machine) came down on the cores just as its neighbours' next ticks fell due,
 * the ticks whose start is the instant they record: those ticks were late by 24 ms at p50 and
 * 42 ms at worst in 2026-12-06-195b42c.json, and by 3.3 ms at p50 and 16 ms at worst with the
 * quiet (2026-12-06-5c719f6.json). The instant recorded is unchanged; the write comes this
 * much later.
 */
export const QUIET_AFTER_SUCCESS_MS = 40;
/**
 * An http(s) attempt whose connection comes up holds its request this long from its SYN: one
 * interval of the default floor, and 5 ms for a neighbour's tick that waits for a core. The
 * quiet above keeps the work after a success off its neighbours' ticks, but not the success's
 * own exchange: the request written and the status line read were 3.5 ms of CPU in a fresh
 * process, most of it V8 compiling node's stream code on first use (bench/success-cost.ts).
 * Twenty pods healing at one instant paid it within the same interval, on two cores, as their
 * neighbours' ticks fell due. Held, it comes after them. What is recorded is the SYN's instant,
 * so the hold changes nothing in it, and the result is written no later: the quiet (40 ms from
 * the same instant) outlasts it.
 */
export const HOLD_REQUEST_MS = 25;
/*
 * SLEEP_ON_THREAD. With `sleepOnThread`, while no attempt has a connection and none has
 * succeeded, the wait for the next tick is a futex sleep, then one turn of the event loop handles
 * whatever came in meanwhile, then the tick (Clock.sleepOnThread). A connection that comes up
 * between two ticks then wakes nobody: it is handled at the next tick, on the wake-up that tick
 * makes anyway. Why: twenty pods of a node see one heal, and each success's completion was a
 * wake-up of its own with the prober's work after it (about 0.7 ms of CPU a pod on the real
 * node) in the 20 ms in which the neighbours' first ticks after the heal fall due. The reporters
 * had 26 of the two cores' 40 ms in that interval against 12 in the one before it, and those
 * ticks, whose instants are what they record, went out late (20 ms at the median with it:
 * docs/performance.md, "Ticks on the grid"). The instant recorded is the SYN's, so handling the completion a tick
 * later changes nothing in it; the hold and the quiet count from the SYN too. Once a connection
 * is up (its exchange needs the event loop), or the path answers (the interval grows), or the
 * wait is longer than THREAD_SLEEP_MAX_MS (a PROBE_INITIAL_INTERVAL above the default), the
 * prober sleeps in the event loop again.
 */
/** The longest wait slept on the thread: the default floor and the slack. */
export const THREAD_SLEEP_MAX_MS = DEFAULT_SCHEDULE.initialMs + TIMER_SLACK_MS;

export interface TargetResult {
  target: Target;
  attempts: number;
  lastError?: string;
  /** Round trip of the successful attempt. */
  rttMs?: number;
  /**
   * Monotonic instant recorded as the first success: when the successful attempt's packet was
   * sent (ProbeSuccess.sentAt) if it completed within FIRST_RESEND_MS of that (`readyFrom`
   * 'sent'), else its completion ('done').
   */
  doneAt?: number;
  readyFrom?: 'sent' | 'done';
  /**
   * How late the successful attempt started against the schedule, ms: the time its tick waited
   * for the event loop (a core, on a busy node). Part of the error of `doneAt`; the rest is
   * the interval's quantisation. Never negative: an attempt does not start before its tick.
   */
  lateMs?: number;
  /**
   * With readyFrom 'sent': from the successful attempt's start to its packet's instant, ms (a
   * lookup, and any wait for a core before its connect(2)). Part of the error of `doneAt`.
   */
  sendDelayMs?: number;
  /**
   * Monotonic instant of the latest attempt sent before the success that failed: the path did
   * not work then, so its true instant lies after this and at or before `doneAt`. Unset when the
   * first attempt succeeded. See lowerBound().
   */
  failedAt?: number;
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
  attempt: AttemptStop;
  /** Its tick on the schedule's grid, and when it actually started. */
  plannedAt: number;
  startedAt: number;
  /**
   * Monotonic instant it is abandoned: its planned start + CONNECT_WITHIN_MS while a connection
   * is awaited, + the attempt timeout once it is up (or for a lookup).
   */
  expiresAt: number;
  /** Its connection is up (or it has none to wait for): it runs to the attempt timeout. */
  connected: boolean;
  /** Just before its packet went to the kernel (ProbeOptions.onSending); unset until then. */
  sendingAt?: number;
  /** An http(s) attempt whose connection is up holds its request until then (HOLD_REQUEST_MS). */
  holdsUntil?: number;
}

/** The instant recorded for a success (see the top of this file). */
export function successInstant(sentAt: number, doneAt: number): { at: number; from: 'sent' | 'done' } {
  return doneAt - sentAt < FIRST_RESEND_MS ? { at: sentAt, from: 'sent' } : { at: doneAt, from: 'done' };
}

/**
 * The latest instant at which an attempt's packet is known not to have got through, among those
 * sent before the successful attempt's (`sentBefore`): the latest `sendingAt` of an attempt that
 * failed, or, when `unanswered` (tcp and http(s)), of one still waiting for its connection. A
 * SYN that left before one that got through, and is still unanswered, was dropped: had the path
 * worked when it went out, its connection would have come up a round trip later, before the
 * later attempt's success (settleWinner waits out the event loop's turn). A lookup still in
 * flight proves nothing (it may be slow, not dropped), so dns counts failures only.
 */
export function lowerBound(failedAt: number | undefined, inFlight: readonly InFlight[], sentBefore: number, unanswered: boolean): number | undefined {
  let at = failedAt !== undefined && failedAt < sentBefore ? failedAt : undefined;
  if (unanswered) {
    for (const e of inFlight) {
      if (!e.connected && e.sendingAt !== undefined && e.sendingAt < sentBefore && (at === undefined || e.sendingAt > at)) at = e.sendingAt;
    }
  }
  return at;
}

/** When the successful attempt's packet was handed over (its recorded instant, for a probe that does not say). */
const sentFrom = (w: { entry: InFlight; at: number }) => w.entry.sendingAt ?? w.at;

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

  // This target's run stops at the run's end or once its own result is final. One plain
  // controller, not AbortSignal.any: every tick's sleep adds and removes a listener on it,
  // which on a composite signal also walks its sources.
  const stopTarget = new AbortController();
  const stop = stopTarget.signal;
  const onEnd = () => stopTarget.abort();
  end.addEventListener('abort', onEnd, { once: true });
  if (end.aborted) stopTarget.abort();
  const inFlight: InFlight[] = [];
  // Whether the latest failure was an answer (refused, an error status) rather than silence
  // (timeout, replaced): only answers slow the schedule down (see schedule.ts).
  let lastFailureAnswered = false;
  let answeredMs = 0;

  // The earliest success so far, not yet final: an older attempt still in flight may succeed
  // too, and then it is the one that saw the path first (see settleWinner).
  let winner: { entry: InFlight; at: number; from: 'sent' | 'done'; rttMs: number } | undefined;
  let winnerCheck = false;
  // The latest sendingAt of a failed attempt that asked the network (see lowerBound).
  let failedAt: number | undefined;
  const finish = () => {
    const w = winner!;
    result.doneAt = w.at;
    const bound = lowerBound(failedAt, inFlight, sentFrom(w), awaitsOlder);
    if (bound !== undefined) result.failedAt = bound;
    result.readyFrom = w.from;
    result.lateMs = Math.max(0, w.entry.startedAt - w.entry.plannedAt);
    if (w.from === 'sent') result.sendDelayMs = Math.max(0, w.at - w.entry.startedAt);
    result.rttMs = w.rttMs;
    // Nothing new is launched from here (winner is set); what is in flight stays open until then.
    void clock.sleep(w.at + QUIET_AFTER_SUCCESS_MS - clock.now(), end).then(() => stopTarget.abort());
  };
  /**
   * Makes the earliest success final once no older attempt can still beat it. Answers to
   * overlapping attempts need not come back in the order they went out: on a busy node the
   * target, or the reporter's own event loop, can hand a later attempt's answer over first, and
   * its start is an interval later (2026-12-06-c597890.json: 41.6 ms against the heal, with
   * ticks at most 13 ms late). So the decision waits for the end of the event loop's turn
   * (answers that arrived together are all read), then for every older attempt whose
   * connection is up (its SYN got through, so it is after the heal and likely to succeed): each
   * ends with its answer, or at its own timeout. Older attempts with no connection are not
   * waited for: their SYN was dropped. Nor are older lookups: nothing tells a query that got
   * through from one that was dropped, and each would hold the result up to its timeout.
   */
  const awaitsOlder = result.target.kind !== 'dns';
  const settleWinner = () => {
    if (!winner || winnerCheck || result.doneAt !== undefined) return;
    winnerCheck = true;
    setImmediate(() => {
      winnerCheck = false;
      if (!winner || result.doneAt !== undefined) return;
      const before = winner.entry.startedAt;
      if (!awaitsOlder || !inFlight.some((e) => e.connected && e.startedAt < before)) finish();
    });
  };

  // A lookup has no SYN to be resent early: its attempts run to the attempt timeout.
  const connectWithinMs = result.target.kind === 'dns' ? opts.attemptTimeoutMs : Math.min(opts.attemptTimeoutMs, CONNECT_WITHIN_MS);
  const unconnected = new AttemptAbort(`no connection within ${connectWithinMs} ms`);
  // At most a quarter of the attempt's time, so that a short PROBE_ATTEMPT_TIMEOUT still leaves the exchange its own.
  const holdRequestMs = Math.min(HOLD_REQUEST_MS, opts.attemptTimeoutMs / 4);
  const holds = result.target.kind === 'http' || result.target.kind === 'https';
  const launch = (plannedAt: number) => {
    const attempt = new AttemptStop();
    // Due from its planned start, which is on the schedule's grid: at the floor an attempt's
    // expiry then falls on a later tick exactly, and the tick that is awake anyway abandons it.
    // A timer of its own fired a millisecond after that tick, a second wake-up per attempt
    // (by hand, about a fifth of an attempt's CPU on this machine's VM).
    const entry: InFlight = { attempt, plannedAt, startedAt: clock.now(), expiresAt: plannedAt + connectWithinMs, connected: connectWithinMs === opts.attemptTimeoutMs };
    inFlight.push(entry);
    result.attempts++;
    opts.onAttempt?.(result.target, entry.startedAt);
    const onConnected = () => {
      entry.connected = true;
      entry.expiresAt = plannedAt + opts.attemptTimeoutMs;
      if (holds && entry.sendingAt !== undefined) entry.holdsUntil = entry.sendingAt + holdRequestMs;
    };
    // Both handlers end with settled(), not a .finally(): one promise and one turn of the
    // microtask queue fewer, up to 50 times a second.
    const settled = () => {
      const i = inFlight.indexOf(entry);
      if (i >= 0) inFlight.splice(i, 1);
      attempt.abort(FINISHED);
      settleWinner();
    };
    const onSending = (at: number) => { entry.sendingAt = at; };
    opts.probe(result.target, { ...opts.probeOptions, signal: attempt, now: clock.now, onConnected, onSending, holdRequestMs }).then(
      (ok) => {
        // The earliest success wins, wherever its answer came in the order (settleWinner).
        if (result.doneAt === undefined && !end.aborted) {
          const ready = successInstant(ok.sentAt, ok.doneAt);
          if (!winner || ready.at < winner.at) winner = { entry, at: ready.at, from: ready.from, rttMs: ok.rttMs };
        }
        settled();
      },
      (err: unknown) => {
        const reason: unknown = attempt.aborted ? attempt.reason : err;
        if (reason !== FINISHED) {
          // Sent before the success so far only: a failure after it (a flaky path) says nothing of when the path began to work.
          const sent = entry.sendingAt;
          if (sent !== undefined && !(reason instanceof NotAttempted) && sent < (winner ? sentFrom(winner) : Infinity) && (failedAt === undefined || sent > failedAt)) failedAt = sent;
          lastFailureAnswered = !(reason instanceof AttemptAbort || reason instanceof NotAttempted);
          if (result.doneAt === undefined) result.lastError = reason instanceof Error ? reason.message : String(reason);
        }
        settled();
      },
    );
  };

  /** Abandons every attempt whose time is up (a connected one may outlive later ones). */
  const expire = () => {
    const now = clock.now();
    for (let i = 0; i < inFlight.length;) {
      const entry = inFlight[i]!;
      if (entry.expiresAt > now + TIMER_SLACK_MS) { i++; continue; }
      inFlight.splice(i, 1);
      entry.attempt.abort(entry.connected ? timedOut : unconnected);
    }
    settleWinner();
  };
  const firstExpiry = () => inFlight.reduce((min, e) => Math.min(min, e.expiresAt), Infinity);

  let next = t0;
  while (!stop.aborted) {
    // Wake for the next tick, or earlier when an attempt expires before it (intervals above
    // the attempt timeout).
    // Within TIMER_SLACK_MS of it, whatever is due is done on this wake-up (a wake-up saved); so
    // after any wake-up either an attempt expires or the tick's attempt starts, on its tick.
    const wake = Math.min(next, firstExpiry());
    const wait = wake - clock.now();
    if (wait > TIMER_SLACK_MS) {
      // On the thread while the path is silent (SLEEP_ON_THREAD): at the floor, with nothing up.
      if (opts.sleepOnThread && !winner && wait <= Math.min(opts.schedule.initialMs + TIMER_SLACK_MS, THREAD_SLEEP_MAX_MS) && !inFlight.some((e) => e.connected)) {
        await clock.sleepOnThread(wake);
      } else {
        await clock.sleep(wait, stop);
      }
    }
    if (stop.aborted) break;
    expire();
    // With a success in hand no attempt is needed, only older ones awaited (settleWinner).
    if (winner) { next = Infinity; continue; }
    if (clock.now() < next - TIMER_SLACK_MS) continue;
    // A tick that falls while a connection is up and holding its request is skipped: that SYN
    // got through, and another would only add its CPU to the interval the hold keeps clear for
    // the neighbours. Should the held attempt fail after all, the next tick is on the grid.
    const now = clock.now();
    if (!inFlight.some((e) => e.holdsUntil !== undefined && e.holdsUntil > now)) {
      if (admit(inFlight.length, opts.maxInFlight) === 'replace-oldest') {
        const oldest = inFlight.shift()!;
        const age = Math.round(now - oldest.startedAt);
        oldest.attempt.abort(new AttemptAbort(`no answer within ${age} ms (replaced by a newer attempt)`));
      }
      // The timer woke up to TIMER_SLACK_MS early: the rest on the thread, not a second timer.
      clock.waitUntil(next);
      launch(next);
    }
    const gap = nextInterval(answeredMs, lastFailureAnswered, opts.schedule);
    if (lastFailureAnswered) answeredMs += gap;
    next += gap;
    // A timer that fired very late (a stalled event loop) must not cause a burst of
    // catch-up attempts: resume the schedule from now.
    if (next < clock.now()) next = clock.now();
  }
  // A success that was waiting for older attempts when the run ended (deadline, stop) stands.
  if (winner && result.doneAt === undefined) finish();
  // Whatever is still waiting is moot now: release its sockets.
  for (const { attempt } of inFlight.splice(0)) attempt.abort(FINISHED);
  end.removeEventListener('abort', onEnd);
}
