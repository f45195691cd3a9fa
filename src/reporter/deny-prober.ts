// Probes the deny targets (PROBE_DENY_TARGET) until the policy is confirmed in force, the
// deadline passes, or the caller stops it. It runs beside the datapath prober from process
// start, on its own timers, so neither delays the other's schedule. Each tick starts one round:
// one attempt per deny target, overlapping earlier rounds as the datapath's attempts do (a
// silent drop holds an attempt until its timeout). The load is bounded the same way: the
// datapath's schedule (the interval grows only while a target answers, the cap PROBE_INTERVAL)
// and at most PROBE_MAX_IN_FLIGHT rounds in flight, the oldest replaced at the limit.
// Judging rounds is deny-confirm.ts's job; classifying one attempt's ending is here.
import { AttemptStop } from './attempt-signal.ts';
import type { Clock } from './clock.ts';
import { DenyConfirmer, type Answering, type Verdict } from './deny-confirm.ts';
import { NotAttempted, type ProbeFn, type ProbeOptions } from './probes.ts';
import { admit, nextInterval, type ScheduleOptions } from './schedule.ts';
import type { Target } from './targets.ts';

export interface DenyProberOptions {
  targets: Target[];
  /** Consecutive denied rounds that confirm the policy (PROBE_DENY_CONFIRM). */
  window: number;
  schedule: ScheduleOptions;
  attemptTimeoutMs: number;
  maxInFlight: number;
  /** Monotonic instant after which no round starts. */
  deadline: number;
  clock: Clock;
  probe: ProbeFn;
  probeOptions?: Pick<ProbeOptions, 'ca' | 'insecureSkipVerify'>;
  signal?: AbortSignal;
  /** Called when a different deny target is seen answering (after the datapath's first success). */
  onAnswering?: (answering: Answering) => void;
}

export type DenyOutcome =
  | { outcome: 'enforced'; enforcedAt: number }
  | { outcome: 'deadline' | 'stopped'; answering?: Answering };

export interface DenyRun {
  /** Settles once: enforced, deadline or stopped. */
  done: Promise<DenyOutcome>;
  /** Tell it the datapath's first success (monotonic); rounds before it do not count. */
  datapathReady(at: number): void;
  /** Attempts started so far, all deny targets together. */
  attempts(): number;
  answering(): Answering | undefined;
  /** The latest answered round, also after the policy is confirmed. */
  lastAnswer(): Answering | undefined;
}

/**
 * Errors that mean the connection never got through: refused (a REJECT rule, or nothing
 * listening), unreachable (an ICMP reject), or denied locally (an OUTPUT rule drops the SYN:
 * connect() fails with EPERM). Anything else after a connection (an HTTP error status, a reset,
 * a TLS failure) means something answered.
 */
const DENIED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EPERM', 'EACCES']);
/** Errors that say nothing about the path: the name did not resolve. */
const INCONCLUSIVE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ENODATA']);

class DenyAbort extends Error {
  constructor(readonly verdict: Verdict, message: string) { super(message); }
}

/** An attempt's ending as evidence about the policy (exported for its unit test). */
export function classify(err: unknown): Verdict {
  if (err instanceof DenyAbort) return err.verdict;
  if (err instanceof NotAttempted) return 'inconclusive';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && DENIED_CODES.has(code)) return 'denied';
  if (typeof code === 'string' && INCONCLUSIVE_CODES.has(code)) return 'inconclusive';
  return 'answered';
}

export function startDenyProber(opts: DenyProberOptions): DenyRun {
  const { clock } = opts;
  const confirmer = new DenyConfirmer(opts.targets.length, opts.window);
  const end = new AbortController();
  const onStop = () => end.abort();
  opts.signal?.addEventListener('abort', onStop, { once: true });
  if (opts.signal?.aborted) end.abort();
  let attempts = 0;
  let settleEnforced: () => void = () => {};
  const enforced = new Promise<void>((resolve) => { settleEnforced = resolve; });
  const timedOut = new DenyAbort('denied', `no answer within ${opts.attemptTimeoutMs} ms`);
  const inFlight: { controllers: AttemptStop[]; startedAt: number }[] = [];

  let told: string | undefined;
  const check = () => {
    if (confirmer.enforcedAt !== undefined) { settleEnforced(); end.abort(); return; }
    const a = confirmer.answering;
    if (a && a.target !== told) { told = a.target; opts.onAnswering?.(a); }
  };

  const launchRound = (): void => {
    const startedAt = clock.now();
    const round = confirmer.open(startedAt);
    const entry = { controllers: [] as AttemptStop[], startedAt };
    inFlight.push(entry);
    let open = opts.targets.length;
    for (const target of opts.targets) {
      // An AttemptStop, not an AbortController, as the datapath prober's (attempt-signal.ts).
      const attempt = new AttemptStop();
      entry.controllers.push(attempt);
      attempts++;
      void clock.sleep(opts.attemptTimeoutMs, attempt).then(() => {
        if (!attempt.aborted) attempt.abort(timedOut);
      });
      opts.probe(target, { ...opts.probeOptions, signal: attempt, now: clock.now, onSent: (at) => confirmer.sent(round, at) }).then(
        () => 'answered' as const,
        (err: unknown) => classify(attempt.aborted ? attempt.reason : err),
      ).then((verdict) => {
        if (!attempt.aborted) attempt.abort(new DenyAbort('inconclusive', 'settled'));
        if (--open === 0) {
          const i = inFlight.indexOf(entry);
          if (i >= 0) inFlight.splice(i, 1);
        }
        confirmer.settle(round, target.raw, verdict);
        check();
      });
    }
  };

  const loop = async (): Promise<DenyOutcome> => {
    const t0 = clock.now();
    let next = t0;
    let answeredMs = 0;
    void clock.sleep(opts.deadline - t0, end.signal).then(() => end.abort());
    while (!end.signal.aborted) {
      const wait = next - clock.now();
      if (wait > 0) await clock.sleep(wait, end.signal);
      if (end.signal.aborted) break;
      if (admit(inFlight.length, opts.maxInFlight) === 'replace-oldest') {
        const oldest = inFlight.shift()!;
        const age = Math.round(clock.now() - oldest.startedAt);
        // Silence for a whole attempt timeout is a denial; cut short, it proves nothing.
        const why = age >= opts.attemptTimeoutMs
          ? new DenyAbort('denied', `no answer within ${age} ms (replaced by a newer round)`)
          : new DenyAbort('inconclusive', `replaced after ${age} ms by a newer round`);
        for (const c of oldest.controllers) c.abort(why);
      }
      launchRound();
      // Whether the last judged round had a deny target answering: only answers load a target,
      // so only they grow the interval (as for the datapath's refusals; schedule.ts).
      const lastAnswered = confirmer.lastVerdict === 'answered';
      const gap = nextInterval(answeredMs, lastAnswered, opts.schedule);
      if (lastAnswered) answeredMs += gap;
      next += gap;
      if (next < clock.now()) next = clock.now();
    }
    for (const { controllers } of inFlight.splice(0)) for (const c of controllers) c.abort(new DenyAbort('inconclusive', 'probing ended'));
    opts.signal?.removeEventListener('abort', onStop);
    await Promise.race([enforced, Promise.resolve()]);
    if (confirmer.enforcedAt !== undefined) return { outcome: 'enforced', enforcedAt: confirmer.enforcedAt };
    const answering = confirmer.answering;
    return { outcome: opts.signal?.aborted ? 'stopped' : 'deadline', ...(answering ? { answering } : {}) };
  };

  return {
    done: loop(),
    datapathReady: (at) => { confirmer.datapathReady(at); check(); },
    attempts: () => attempts,
    answering: () => confirmer.answering,
    lastAnswer: () => confirmer.lastAnswer,
  };
}
