// Pod state → the condition dpready wants on it and the outcome to record. Pure and total:
// every tracked pod gets a status, a reason from the fixed set in the contract and a message
// a person can act on, and every pending pod gets an instant at which to look again, so no
// gate waits silently or forever.
import { ConditionReason, INJECT_DENY_TARGET_ANNOTATION, type Outcome } from '../contract.ts';
import { formatDuration } from '../durations.ts';
import { describeProblems, readReporterReport, type ReporterReport } from './reporter-report.ts';

export type TimeoutPolicy = 'fail-closed' | 'fail-open';

export interface DecisionInput {
  hasGate: boolean;
  /** The receive check's port (the pod's container port named dpready-receive), when it is on. */
  receivePort?: number;
  report: ReporterReport;
  /**
   * The policy check is on by the pod's own spec (the webhook's deny-target annotation), even
   * before its reporter has said so. The reporter's policy-probe annotation turns it on too.
   */
  policyCheck?: boolean;
  /** The pod's creationTimestamp (ms): the same on every replica. */
  createdAtMs: number;
  now: number;
  timeoutMs: number;
  policy: TimeoutPolicy;
  /**
   * How long a new pod whose reporter has written nothing yet may go without any condition.
   * Containers often start seconds after creation; a reporter that then succeeds at once costs
   * one condition write (True) instead of two (AwaitingReporter, then True). Ready is false
   * meanwhile anyway: the kubelet reads a missing gate condition as not ready. Once the reporter
   * has written its start (it does so only when the datapath is slow), Probing shows at once.
   */
  pendingGraceMs: number;
}

export interface DesiredCondition {
  status: 'True' | 'False';
  reason: ConditionReason;
  message: string;
}

export interface Decision {
  /** Undefined: leave the pod's condition as it is (not ours to manage, or not yet). */
  condition?: DesiredCondition;
  /** Set once the pod's outcome is known; the result is recorded then. */
  outcome?: { outcome: Outcome; reason: string; message: string };
  /** Decide again at this instant (ms) even if nothing about the pod changes. */
  recheckAt?: number;
}

/** The controller's settings that decide() needs. */
export interface DecisionPolicy {
  timeoutMs: number;
  policy: TimeoutPolicy;
  pendingGraceMs: number;
}

/** The pod fields decide() reads. */
export interface DecisionPod {
  hasGate: boolean;
  receivePort?: number;
  annotations: Record<string, string>;
  creationTimestampMs: number;
}

/**
 * decide()'s input, built only here. It holds the pod's own fields and `now`, nothing a replica
 * learnt by itself (such as when it first saw the pod): the condition must come out the same on
 * every replica, or a new leader would rewrite the condition of every pod. Results refine the
 * creation instant on their own (controller/result-spec.ts).
 */
export function decisionInput(pod: DecisionPod, policy: DecisionPolicy, now: number): DecisionInput {
  return {
    hasGate: pod.hasGate, report: readReporterReport(pod.annotations), createdAtMs: pod.creationTimestampMs, now,
    ...(pod.receivePort !== undefined ? { receivePort: pod.receivePort } : {}),
    ...(pod.annotations[INJECT_DENY_TARGET_ANNOTATION] !== undefined ? { policyCheck: true } : {}),
    timeoutMs: policy.timeoutMs, policy: policy.policy, pendingGraceMs: policy.pendingGraceMs,
  };
}

function targets(report: ReporterReport): string {
  const t = report.probe?.targets;
  return t && t.length ? t.join(', ') : 'the probe target';
}

export function decide(input: DecisionInput): Decision {
  const { report, now, createdAtMs, timeoutMs, policy } = input;
  if (!input.hasGate && !report.present) return {};

  const deadline = createdAtMs + timeoutMs;
  const timedOut = now >= deadline;

  if (report.problems.length) {
    const message = describeProblems(report.problems);
    return {
      condition: { status: 'False', reason: ConditionReason.InvalidAnnotation, message },
      outcome: { outcome: 'Failed', reason: ConditionReason.InvalidAnnotation, message },
    };
  }

  const receiveCheck = input.receivePort !== undefined;
  // Deny targets configured: the gate also waits for the policy (docs/policy.md).
  const policyCheck = input.policyCheck === true || report.policy !== undefined;
  const policyDone = !policyCheck || report.policyEnforced !== undefined;
  const sent = report.ready
    ? `${targets(report)} answered ${Math.round(report.ready.ms - createdAtMs)} ms after pod creation`
      + (report.probe?.rttMs !== undefined ? `, probe round trip ${Math.round(report.probe.rttMs)} ms` : '')
    : undefined;
  const denied = report.policy?.targets.join(', ') ?? 'the deny targets';
  if (report.ready && (!receiveCheck || report.received) && policyDone) {
    const received = report.received ? `; an inbound probe reached it on :${input.receivePort} ${Math.round(report.received.ms - createdAtMs)} ms after pod creation` : '';
    const enforced = report.policyEnforced
      ? `; policy in force: ${denied} unanswered from ${Math.round(report.policyEnforced.ms - createdAtMs)} ms after pod creation` : '';
    const message = `datapath ready: ${sent}${received}${enforced}`;
    return {
      condition: { status: 'True', reason: ConditionReason.DatapathReady, message },
      outcome: { outcome: 'Succeeded', reason: ConditionReason.DatapathReady, message },
    };
  }

  const failOpen = timedOut && policy === 'fail-open';
  const openMessage = (why: string) =>
    `${why}; the gate is open because --timeout-policy=fail-open and --datapath-timeout=${formatDuration(timeoutMs)} passed`;

  if (report.failure) {
    const lastError = report.probe?.lastError ? ` (last error: ${report.probe.lastError})` : '';
    const policyFailed = report.failure.reason === 'PolicyDeadline';
    const why = policyFailed
      ? `datapath works, but the policy was not seen in force: the reporter gave up: ${report.failure.message}`
      : `reporter gave up on ${targets(report)}: ${report.failure.reason}: ${report.failure.message}${lastError}`;
    return {
      condition: failOpen
        ? { status: 'True', reason: ConditionReason.DatapathTimeoutFailOpen, message: openMessage(why) }
        : { status: 'False', reason: policyFailed ? ConditionReason.PolicyNotEnforced : ConditionReason.ReporterFailed, message: why },
      outcome: { outcome: 'Failed', reason: report.failure.reason, message: why },
      recheckAt: timedOut || policy === 'fail-closed' ? undefined : deadline,
    };
  }

  const receiveDone = !receiveCheck || report.received !== undefined;
  const answering = report.policy?.answering
    ? `${report.policy.answering} still answered at ${report.policy.lastAnswerTs ?? 'an unknown instant'}`
    : report.policy
    ? `no deny target answering; confirming over ${report.policy.confirm} rounds in a row in which ${denied} go unanswered`
    : 'the reporter has not reported on its deny targets yet';
  if (timedOut && report.ready && receiveDone) {
    const why = `policy not in force within ${formatDuration(timeoutMs)} of pod creation: ${answering} (datapath works: ${sent})`;
    return {
      condition: policy === 'fail-open'
        ? { status: 'True', reason: ConditionReason.DatapathTimeoutFailOpen, message: openMessage(why) }
        : { status: 'False', reason: ConditionReason.PolicyNotEnforced, message: why },
      outcome: { outcome: 'TimedOut', reason: ConditionReason.PolicyNotEnforced, message: why },
    };
  }

  if (timedOut) {
    const why = report.ready
      ? `no inbound probe reached the pod on :${input.receivePort} within ${formatDuration(timeoutMs)} of pod creation (sending works: ${sent})`
      : report.start
      ? `no datapath success on ${targets(report)} within ${formatDuration(timeoutMs)} of pod creation` +
        (report.probe?.lastError ? ` (last error: ${report.probe.lastError})` : '')
      : `no reporter output within ${formatDuration(timeoutMs)} of pod creation: is the dpready reporter container in this pod and allowed to patch it?`;
    return {
      condition: policy === 'fail-open'
        ? { status: 'True', reason: ConditionReason.DatapathTimeoutFailOpen, message: openMessage(why) }
        : { status: 'False', reason: ConditionReason.DatapathTimeout, message: why },
      outcome: { outcome: 'TimedOut', reason: ConditionReason.DatapathTimeout, message: why },
    };
  }

  if (!report.start && now < createdAtMs + input.pendingGraceMs) {
    return { recheckAt: Math.min(createdAtMs + input.pendingGraceMs, deadline) };
  }

  const condition: DesiredCondition = report.ready && receiveDone
    ? { status: 'False', reason: ConditionReason.AwaitingPolicy,
        message: `datapath ready (${sent}); awaiting the NetworkPolicy: ${answering}; gives up ${formatDuration(timeoutMs)} after pod creation` }
    : report.ready
    ? { status: 'False', reason: ConditionReason.AwaitingReceive,
        message: `sending works (${sent}); receiving: no inbound probe has reached the pod on :${input.receivePort} yet`
          + ` (the controller knocks on the pod IP; the reporter listens with PROBE_RECEIVE_PORT=${input.receivePort}); gives up ${formatDuration(timeoutMs)} after pod creation` }
    : report.start
    ? { status: 'False', reason: ConditionReason.Probing,
        message: `reporter probing ${targets(report)} since ${report.start.raw}; gives up ${formatDuration(timeoutMs)} after pod creation` }
    : { status: 'False', reason: ConditionReason.AwaitingReporter,
        message: `waiting for the dpready reporter to start; times out ${formatDuration(timeoutMs)} after pod creation` };
  return { condition, recheckAt: deadline };
}
