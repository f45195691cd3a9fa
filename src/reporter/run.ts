// One reporter run: probe, and write what was measured, in as few patches as possible.
// Everything it touches is injected (clock, probe, pod API), so the timeline of writes is
// tested without sockets or sleeps; main.ts wires the real ones.
//
// Timeline:
//   t=0 (process start)  start instant taken; probing begins at once; GET pod in parallel
//   first success < grace  one patch: start + ready + details         (a healthy pod: 1 write)
//   grace ends first       patch start; later, patch ready + details  (2 writes)
//   deadline               patch failure (+ start if not written yet), exit code 3
// With the receive check on, "success" means both sides: the first successful probe out and
// the first knock in; each instant is taken when it happens. Both within the grace: one patch;
// otherwise the send side goes out when it succeeds and the receive side when the knock comes,
// or a ReceiveDeadline failure at the deadline.
// With deny targets (PROBE_DENY_TARGET), a deny prober runs beside the datapath prober from the
// start; the ready patch carries the policy-probe annotation (so the controller knows the gate
// waits for the policy), then the policy-enforced instant follows when confirmed, or a
// PolicyDeadline failure at the deadline. At most one progress write in between: the first
// deny target seen answering after the ready patch, so the condition can name it.
// A restarted reporter keeps a recorded start, and stops without probing if ready is recorded.
import { ErrorCodes, isDpreadyError } from '../errors.ts';
import { formatDuration } from '../durations.ts';
import type { PolicyProbe } from '../contract.ts';
import {
  decide, failurePatch, policyPatch, probeDetails, readyPatch, receivePatch, startPatch, type AnnotationPatch,
} from './annotations.ts';
import { rfc3339, type Clock } from './clock.ts';
import type { ReporterConfig } from './config.ts';
import type { Logger } from './log.ts';
import type { PodApi } from './pod-writer.ts';
import { withRetry } from './pod-writer.ts';
import { startDenyProber, type DenyRun } from './deny-prober.ts';
import { runProber, type ProbeRun, type TargetResult } from './prober.ts';
import type { ProbeFn } from './probes.ts';
import type { Target } from './targets.ts';

/** Writes after the probe deadline (the failure annotation, a late ready) get this much more time. */
export const API_GRACE_MS = 10_000;

export type Outcome = 'ready' | 'already-ready' | 'deadline' | 'stopped' | 'api-failure';

export interface RunResult {
  outcome: Outcome;
  /** Process exit code in init mode (0, 3 deadline, 4 API failure). */
  exitCode: number;
  /** Patches sent successfully, in order. */
  writes: AnnotationPatch[];
  probe?: ProbeRun;
  error?: string;
}

export interface RunDeps {
  config: Pick<ReporterConfig, 'targets' | 'timeoutMs' | 'schedule' | 'attemptTimeoutMs' | 'maxInFlight'
    | 'ca' | 'insecureSkipVerify' | 'startGraceMs' | 'apiCallTimeoutMs'> & Partial<Pick<ReporterConfig, 'denyTargets' | 'denyConfirm'>>;
  clock: Clock;
  probe: ProbeFn;
  /** Created lazily: building the client must not delay the first attempt. */
  podApi: () => Promise<PodApi>;
  log: Logger;
  /**
   * The start: its monotonic instant (0 is this process's start, performance.now's origin) and
   * where it came from (config.ts: the container's exec stamped by dpready-start, or Node's start).
   */
  start?: { at: number; from: 'exec' | 'node' };
  /** SIGTERM: stop probing and write nothing more. */
  signal?: AbortSignal;
  random?: () => number;
  onAttempt?: (target: Target, at: number) => void;
  /** The receive check's listener (PROBE_RECEIVE_PORT): resolves at the first knock. */
  receive?: { firstKnock: Promise<number> };
  /** Runs the success path once against loopback (warm-up.ts); called WARM_UP_AFTER_MS after the start if probing still goes on. */
  warmUp?: (targets: readonly Target[]) => Promise<void>;
}

/**
 * A reporter still probing this long after its start warms its success path up (warm-up.ts):
 * a pod whose path works at once never pays for it, and the node's burst of container starts,
 * in which its CPU would delay its neighbours' starts, is mostly over.
 */
export const WARM_UP_AFTER_MS = 1_000;
/** The warm-up's log line, with its wall ms and CPU ms (the benchmark reads it from the pod's log). */
export const WARM_UP_MSG = 'success path warmed up on loopback';

export async function run(deps: RunDeps): Promise<RunResult> {
  const { config, clock, log } = deps;
  const startInstant = deps.start ?? { at: 0, from: 'node' as const };
  const origin = startInstant.at;
  const startTs = rfc3339(clock.wallAt(origin));
  const deadline = origin + config.timeoutMs;
  const retry = {
    clock, until: deadline + API_GRACE_MS, callTimeoutMs: config.apiCallTimeoutMs,
    ...(deps.random ? { random: deps.random } : {}),
    onRetry: (i: { what: string; attempt: number; delayMs: number; error: string }) =>
      log.warn('API call failed; retrying', { ...i, delayMs: Math.round(i.delayMs) }),
  };
  const writes: AnnotationPatch[] = [];

  // Probing starts before anything else: the API round trips below must not delay it.
  const stopProbing = new AbortController();
  const stop = deps.signal ? AbortSignal.any([deps.signal, stopProbing.signal]) : stopProbing.signal;
  let firstAttemptLogged = false;
  let liveResults: readonly TargetResult[] = [];
  const probing = runProber({
    onStart: (results) => { liveResults = results; },
    targets: config.targets, schedule: config.schedule, attemptTimeoutMs: config.attemptTimeoutMs,
    maxInFlight: config.maxInFlight, deadline, clock, probe: deps.probe, signal: stop,
    probeOptions: { ...(config.ca ? { ca: config.ca } : {}), insecureSkipVerify: config.insecureSkipVerify },
    // A knock, or a deny target's answer, is dated when the event loop reads it: a loop asleep
    // on the thread for up to an interval would date it that much late. Without them, what else
    // runs here (the pod API's calls, the warm-up, the grace's timer) can wait a tick.
    sleepOnThread: !deps.receive && !config.denyTargets?.length,
    onAttempt: (target, at) => {
      if (!firstAttemptLogged) {
        firstAttemptLogged = true;
        // CPU so far: the start-up's cost, read by the benchmark from this line (wall time to it
        // depends on the node's load; CPU much less).
        const cpu = process.cpuUsage();
        // Since the recorded start (the container's exec when dpready-start stamped it) and since
        // Node's own start (performance.now's origin): the difference is Node's start-up.
        log.info('first probe attempt', {
          target: target.raw, sinceStartMs: round(at - origin), startFrom: startInstant.from,
          sinceProcessStartMs: round(at), cpuMs: round((cpu.user + cpu.system) / 1000),
        });
      }
      deps.onAttempt?.(target, at);
    },
  });

  if (deps.warmUp) {
    const warm = deps.warmUp;
    const probingOver = new AbortController();
    void probing.then(() => probingOver.abort(), () => probingOver.abort());
    void clock.sleep(origin + WARM_UP_AFTER_MS - clock.now(), probingOver.signal).then(async () => {
      if (probingOver.signal.aborted) return;
      const began = clock.now();
      const cpu = process.cpuUsage();
      try {
        await warm(config.targets);
        const used = process.cpuUsage(cpu);
        log.info(WARM_UP_MSG, { ms: round(clock.now() - began), cpuMs: round((used.user + used.system) / 1000) });
      } catch (err) {
        log.warn('success path not warmed up; the first success runs it cold', { error: describe(err) });
      }
    });
  }

  // The deny targets, on their own timers from the start too (deny-prober.ts); stopped on
  // their own, since they outlive the datapath's success.
  const stopDeny = new AbortController();
  let answeringNow = false;
  const notifyAnswering: { fn?: () => void } = {};
  const deny: DenyRun | undefined = config.denyTargets?.length ? startDenyProber({
    targets: config.denyTargets, window: config.denyConfirm ?? 3, schedule: config.schedule,
    attemptTimeoutMs: config.attemptTimeoutMs, maxInFlight: config.maxInFlight, deadline, clock, probe: deps.probe,
    signal: deps.signal ? AbortSignal.any([deps.signal, stopDeny.signal]) : stopDeny.signal,
    probeOptions: { ...(config.ca ? { ca: config.ca } : {}), insecureSkipVerify: config.insecureSkipVerify },
    onAnswering: () => { answeringNow = true; notifyAnswering.fn?.(); },
  }) : undefined;
  void probing.then((p) => { if (p.outcome === 'ready') deny?.datapathReady(p.readyAt); });
  const policyState = (enforcedAt?: number): PolicyProbe => {
    const answering = enforcedAt === undefined ? deny!.answering() : undefined;
    // Once enforced, the last answer still says how long before the instant a target answered.
    const last = answering ?? deny!.lastAnswer();
    return {
      targets: config.denyTargets!.map((t) => t.raw), attempts: deny!.attempts(), confirm: config.denyConfirm ?? 3,
      ...(answering ? { answering: answering.target } : {}),
      ...(last ? { lastAnswerTs: rfc3339(clock.wallAt(last.at)) } : {}),
      ...(enforcedAt !== undefined ? { startToEnforcedMs: round(enforcedAt - origin) } : {}),
    };
  };

  // The pod's current annotations decide whether this is a re-run. A failure here must not
  // leave the prober running (unhandled) behind us.
  const api = deps.podApi().then((podApi) => ({ podApi }));
  const decision = api.then(({ podApi }) => withRetry('get pod', (s) => podApi.getAnnotations(s), retry))
    .then((a) => decide(a, deps.receive !== undefined, deny !== undefined));
  let decided: Awaited<typeof decision>;
  let podApi: PodApi;
  try {
    [decided, { podApi }] = await Promise.all([decision, api]);
  } catch (err) {
    stopProbing.abort();
    stopDeny.abort();
    const probe = await probing;
    return failed(err, writes, probe, log);
  }
  if (decided.action === 'done') {
    stopProbing.abort();
    stopDeny.abort();
    await probing;
    log.info('datapath ready already recorded by an earlier run; not probing again', { ready: decided.ready });
    return { outcome: 'already-ready', exitCode: 0, writes };
  }
  if (decided.invalid.length) log.warn('ignoring unparseable annotations; they will be overwritten', { invalid: decided.invalid });
  const startKept = decided.keepStart !== undefined;
  if (decided.keepReady !== undefined) {
    // The send side is recorded by an earlier run: its instant stays; only receive or the policy is awaited.
    log.info('datapath ready already recorded by an earlier run; awaiting the rest', { ready: decided.keepReady });
    // The datapath worked before this run began: deny rounds count from now on.
    deny?.datapathReady(clock.now());
    stopProbing.abort();
  }
  if (startKept) log.info('keeping the start recorded by an earlier run', { start: decided.keepStart });
  let startWritten = startKept;
  const send = async (what: string, body: AnnotationPatch) => {
    await withRetry(what, (s) => podApi.patch(body, s), retry);
    writes.push(body);
  };

  // The receive side ends at the first knock, or with nothing at the deadline or a stop.
  const endReceive = new AbortController();
  const receiveStop = deps.signal ? AbortSignal.any([deps.signal, endReceive.signal]) : endReceive.signal;
  const receiving: Promise<number | undefined> = deps.receive
    ? Promise.race([deps.receive.firstKnock, clock.sleep(deadline - clock.now(), receiveStop).then(() => undefined)])
    : Promise.resolve(undefined);
  // Batching: wait for whichever comes first, first success or the end of the grace period.
  const graceEnd = origin + config.startGraceMs;
  const graceOver = new AbortController();
  const grace = clock.sleep(graceEnd - clock.now(), graceOver.signal).then(() => 'grace' as const);
  const first = await Promise.race([probing.then(() => 'probe' as const), grace]);
  graceOver.abort();
  let startWrite: Promise<void> | undefined;
  if (first === 'grace' && !startWritten) {
    // Written while probing goes on, so a pod whose datapath never works still has a start.
    startWrite = send('patch start', startPatch(startTs, probeDetails([...liveResults], { start: startInstant, startKept }))).then(
      () => { startWritten = true; },
      (err: unknown) => log.warn('start annotation not written yet; it goes out with the next patch', { error: describe(err) }),
    );
  }
  const probe = await probing;
  await startWrite;
  const start = startWritten ? undefined : startTs;
  // A knock arriving within the grace shares the ready patch; after it, the send side goes out
  // at once (its annotation keeps its meaning and its timing) and the receive side follows.
  const early = deps.receive && decided.keepReady === undefined && probe.outcome === 'ready'
    ? await Promise.race([receiving, clock.sleep(graceEnd - clock.now(), receiveStop).then(() => undefined)])
    : undefined;

  /** Awaits the first knock and writes it, or the ReceiveDeadline failure. */
  const finishReceive = async (): Promise<RunResult> => {
    const knockedAt = await receiving;
    if (knockedAt !== undefined) {
      const received = rfc3339(clock.wallAt(knockedAt));
      await send('patch receive', receivePatch(received));
      log.info('datapath receive side recorded', { received, writes: writes.length });
      return { outcome: 'ready', exitCode: 0, writes, probe };
    }
    if (deps.signal?.aborted) {
      log.info('stopped before an inbound probe reached the pod; nothing more written');
      return { outcome: 'stopped', exitCode: 0, writes, probe };
    }
    const failure = receiveFailure(config.timeoutMs, clock);
    await send('patch failure', failurePatch({ failure }));
    log.error('the pod reaches its targets, but no inbound probe reached it before the deadline', { message: failure.message });
    return { outcome: 'deadline', exitCode: ErrorCodes.DPR_PROBE_DEADLINE.exitCode, writes, probe };
  };

  let namedAnswering = false;
  /** Awaits the policy check (deny targets), writes its instant, or the PolicyDeadline failure. */
  const finishPolicy = async (): Promise<RunResult> => {
    if (!deny) return { outcome: 'ready', exitCode: 0, writes, probe };
    // One progress write at most: the first deny target seen answering that no patch named yet.
    let progress: Promise<void> | undefined;
    const announce = () => {
      if (namedAnswering) return;
      namedAnswering = true;
      progress = send('patch policy progress', policyPatch(policyState())).catch(
        (err: unknown) => log.warn('policy progress not written; the final patch follows', { error: describe(err) }));
    };
    notifyAnswering.fn = announce;
    if (answeringNow) announce();
    const outcome = await deny.done;
    notifyAnswering.fn = undefined;
    await progress;
    if (outcome.outcome === 'enforced') {
      const enforced = rfc3339(clock.wallAt(outcome.enforcedAt));
      const policy = policyState(outcome.enforcedAt);
      await send('patch policy enforced', policyPatch(policy, enforced));
      log.info('policy in force', { enforced, startToEnforcedMs: policy.startToEnforcedMs, attempts: policy.attempts, writes: writes.length });
      return { outcome: 'ready', exitCode: 0, writes, probe };
    }
    if (outcome.outcome === 'stopped') {
      log.info('stopped before the policy was confirmed in force; nothing more written');
      return { outcome: 'stopped', exitCode: 0, writes, probe };
    }
    const policy = policyState();
    const why = outcome.answering
      ? `${outcome.answering.target} still answered at ${rfc3339(clock.wallAt(outcome.answering.at))}`
      : `no run of ${policy.confirm} consecutive rounds in which every deny target went unanswered`;
    const failure = {
      reason: 'PolicyDeadline' as const,
      message: `policy not in force within ${formatDuration(config.timeoutMs)}: ${why} (${policy.attempts} attempts against ${policy.targets.join(', ')})`,
      ts: rfc3339(clock.wallAt(clock.now())),
      policy,
    };
    await send('patch failure', failurePatch({ failure }));
    log.error('the datapath works, but the policy was not seen in force before the deadline', { message: failure.message });
    return { outcome: 'deadline', exitCode: ErrorCodes.DPR_PROBE_DEADLINE.exitCode, writes, probe };
  };

  try {
    if (decided.keepReady !== undefined) {
      if (deps.receive && !decided.keepReceived) {
        const r = await finishReceive();
        if (r.outcome !== 'ready') return r;
      }
      return await finishPolicy();
    }
    if (probe.outcome === 'ready') {
      const details = probeDetails(probe.results, { readyAt: probe.readyAt, start: startInstant, startKept });
      const ready = rfc3339(clock.wallAt(probe.readyAt));
      const received = early === undefined ? undefined : rfc3339(clock.wallAt(early));
      const policy = deny ? policyState() : undefined;
      namedAnswering = policy?.answering !== undefined;
      await send('patch ready', readyPatch({ ...(start ? { start } : {}), ready, details, ...(received ? { received } : {}), ...(policy ? { policy } : {}) }));
      log.info(deps.receive && !received ? 'datapath ready to send; awaiting an inbound probe' : deny ? 'datapath ready; awaiting the policy' : 'datapath ready',
        { ready, ...(received ? { received } : {}), startToReadyMs: details.startToReadyMs, attempts: details.attempts, writes: writes.length });
      if (deps.receive && !received) {
        const r = await finishReceive();
        if (r.outcome !== 'ready') return r;
      }
      return await finishPolicy();
    }
    if (probe.outcome === 'deadline') {
      const details = probeDetails(probe.results, { start: startInstant, startKept });
      const pending = probe.results.filter((r) => r.doneAt === undefined).map((r) => r.target.raw);
      const message = `no success within ${formatDuration(config.timeoutMs)} from ${pending.join(', ')}`
        + ` after ${details.attempts} attempts${details.lastError ? `; last error: ${details.lastError}` : ''}`;
      await send('patch failure', failurePatch({
        ...(start ? { start } : {}),
        failure: { reason: 'ProbeDeadline', message, ts: rfc3339(clock.wallAt(clock.now())), probe: details },
      }));
      log.error('probe deadline passed', { message });
      return { outcome: 'deadline', exitCode: ErrorCodes.DPR_PROBE_DEADLINE.exitCode, writes, probe };
    }
    log.info('stopped before the datapath was ready; nothing more written');
    return { outcome: 'stopped', exitCode: 0, writes, probe };
  } catch (err) {
    return failed(err, writes, probe, log);
  } finally {
    endReceive.abort(); // no timer may keep an init container's process alive
    stopDeny.abort();
  }
}

function receiveFailure(timeoutMs: number, clock: Clock) {
  return {
    reason: 'ReceiveDeadline' as const,
    message: `no inbound probe reached the pod within ${formatDuration(timeoutMs)} (the receive check: is the controller running, and does the pod's network admit traffic to it?)`,
    ts: rfc3339(clock.wallAt(clock.now())),
  };
}

function failed(err: unknown, writes: AnnotationPatch[], probe: ProbeRun, log: Logger): RunResult {
  const error = isDpreadyError(err) ? `${err.code}: ${err.message}` : describe(err);
  log.error('Kubernetes API failure', { error });
  return { outcome: 'api-failure', exitCode: ErrorCodes.DPR_API_FAILURE.exitCode, writes, probe, error };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
