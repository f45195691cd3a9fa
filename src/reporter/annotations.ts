// What the reporter writes, decided without I/O: the idempotency decision from the pod's
// current annotations, and the JSON merge-patch bodies. A merge patch on metadata.annotations
// touches only the keys it names (null deletes a key), so other annotations are never at risk.
// Names and the RFC3339 check from contract-names.ts, the shapes as types only: the reporter's
// bundle carries no zod (its output is typed; test/reporter/annotations.test.ts parses it with
// the zod schemas).
import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, ANNOTATION_PROBE,
  ANNOTATION_RECEIVE_TS, ANNOTATION_START, isRfc3339,
} from '../contract-names.ts';
import type { PolicyProbe, ProbeDetails, ReporterFailure } from '../contract.ts';
import type { TargetResult } from './prober.ts';

export type Annotations = Record<string, string | null>;
export interface AnnotationPatch { metadata: { annotations: Annotations } }

export type Decision =
  /** Ready (and, with the receive or policy check, their instants) is recorded already: do not probe, do not write (a restart after success). */
  | { action: 'done'; ready: string }
  /**
   * Probe. `keepStart` is the start recorded by an earlier run, if any (it stays).
   * `keepReady`: the send side is recorded already; only the receive side or the policy is still awaited.
   * `keepReceived`: the receive side is recorded too; only the policy is still awaited.
   */
  | { action: 'probe'; keepStart?: string; keepReady?: string; keepReceived?: true; invalid: string[] };

/** What a (re)started reporter should do, given the pod's annotations. */
export function decide(existing: Record<string, string> | undefined, receiveCheck = false, policyCheck = false): Decision {
  const a = existing ?? {};
  const invalid: string[] = [];
  const valid = (key: string): string | undefined => {
    const v = a[key];
    if (v === undefined) return undefined;
    if (isRfc3339(v)) return v;
    invalid.push(`${key}=${JSON.stringify(v)}`);
    return undefined;
  };
  const ready = valid(ANNOTATION_DP_READY);
  const start = valid(ANNOTATION_START);
  const received = receiveCheck ? valid(ANNOTATION_RECEIVE_TS) : undefined;
  const enforced = policyCheck ? valid(ANNOTATION_POLICY_ENFORCED) : undefined;
  const receiveDone = !receiveCheck || received !== undefined;
  // An unparseable ready value is not a result: probe again and overwrite it, rather than
  // leave the pod stuck on garbage. The same holds for an unparseable start.
  if (ready !== undefined && receiveDone && (!policyCheck || enforced !== undefined)) return { action: 'done', ready };
  // A restart between the sides: the recorded instants stay, only what is missing is awaited.
  if (ready !== undefined) {
    return { action: 'probe', ...(start !== undefined ? { keepStart: start } : {}), keepReady: ready,
      ...(receiveCheck && receiveDone ? { keepReceived: true as const } : {}), invalid };
  }
  return start !== undefined ? { action: 'probe', keepStart: start, invalid } : { action: 'probe', invalid };
}

const MAX_ERROR_CHARS = 300;
function clip(s: string | undefined): string | undefined {
  return s === undefined || s.length <= MAX_ERROR_CHARS ? s : `${s.slice(0, MAX_ERROR_CHARS - 1)}…`;
}

/**
 * The probe-details annotation value; `start` is the monotonic instant durations count from
 * (0 is Node's start) and where it came from (run.ts).
 */
export function probeDetails(results: TargetResult[], opts: { readyAt?: number; start?: { at: number; from: 'exec' | 'node' }; startKept: boolean }): ProbeDetails {
  const origin = opts.start?.at ?? 0;
  const rtts = results.map((r) => r.rttMs).filter((x): x is number => x !== undefined);
  const lastError = results.map((r) => r.lastError).filter((x) => x !== undefined).at(-1);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const details: ProbeDetails = {
    targets: results.map((r) => r.target.raw),
    attempts: results.reduce((n, r) => n + r.attempts, 0),
    ...(lastError !== undefined ? { lastError: clip(lastError)! } : {}),
    ...(rtts.length === results.length && rtts.length > 0 ? { rttMs: round(Math.max(...rtts)) } : {}),
    ...(opts.readyAt !== undefined ? { startToReadyMs: round(opts.readyAt - origin) } : {}),
    ...(opts.startKept ? { startKept: true } : {}),
    ...(opts.start ? { startFrom: opts.start.from } : {}),
    perTarget: results.map((r) => ({
      target: r.target.raw,
      attempts: r.attempts,
      ...(r.lastError !== undefined ? { lastError: clip(r.lastError)! } : {}),
      ...(r.rttMs !== undefined ? { rttMs: round(r.rttMs) } : {}),
      ...(r.doneAt !== undefined ? { readyAfterMs: round(r.doneAt - origin) } : {}),
      ...(r.readyFrom !== undefined ? { readyFrom: r.readyFrom } : {}),
      ...(r.lateMs !== undefined ? { lateMs: round(r.lateMs) } : {}),
      ...(r.sendDelayMs !== undefined ? { sendDelayMs: round(r.sendDelayMs) } : {}),
      ...(r.failedAt !== undefined ? { failedAfterMs: round(r.failedAt - origin) } : {}),
    })),
  };
  return details;
}

function patch(annotations: Annotations): AnnotationPatch {
  return { metadata: { annotations } };
}

/**
 * Start, with the probe details so far: sent when the grace period ends without a first
 * success, so the controller can say which targets the pod is still waiting for.
 */
export function startPatch(start: string, details?: ProbeDetails): AnnotationPatch {
  return patch({ [ANNOTATION_START]: start, ...(details ? { [ANNOTATION_PROBE]: JSON.stringify(details) } : {}) });
}

/**
 * Ready (with start when it has not been written yet: the one-write healthy path). Clears a
 * failure left by an earlier run, since it no longer describes the pod.
 */
export function readyPatch(opts: { start?: string; ready: string; details: ProbeDetails; received?: string; policy?: PolicyProbe }): AnnotationPatch {
  return patch({
    ...(opts.start !== undefined ? { [ANNOTATION_START]: opts.start } : {}),
    [ANNOTATION_DP_READY]: opts.ready,
    [ANNOTATION_PROBE]: JSON.stringify(opts.details),
    ...(opts.received !== undefined ? { [ANNOTATION_RECEIVE_TS]: opts.received } : {}),
    // With the ready instant, in the same patch: the controller must never see a ready pod
    // without knowing that its gate also waits for the policy.
    ...(opts.policy !== undefined ? { [ANNOTATION_POLICY_PROBE]: JSON.stringify(opts.policy) } : {}),
    [ANNOTATION_FAILURE]: null,
  });
}

/** The receive side's first knock, alone (a restart that had the send side recorded already). */
export function receivePatch(received: string): AnnotationPatch {
  return patch({ [ANNOTATION_RECEIVE_TS]: received, [ANNOTATION_FAILURE]: null });
}

/**
 * The policy check's state: with `enforced`, the confirmed instant (the check is over); without,
 * progress (a deny target answering that the ready patch did not name yet).
 */
export function policyPatch(policy: PolicyProbe, enforced?: string): AnnotationPatch {
  return patch({
    ...(enforced !== undefined ? { [ANNOTATION_POLICY_ENFORCED]: enforced, [ANNOTATION_FAILURE]: null } : {}),
    [ANNOTATION_POLICY_PROBE]: JSON.stringify(policy),
  });
}

/** Deadline passed: say why, so the controller can tell "failed" from "still running". */
export function failurePatch(opts: { start?: string; failure: ReporterFailure }): AnnotationPatch {
  // The one field its type cannot pin: the controller would reject the whole failure over it.
  if (!isRfc3339(opts.failure.ts)) throw new Error(`failure ts ${JSON.stringify(opts.failure.ts)} is not RFC3339`);
  return patch({
    ...(opts.start !== undefined ? { [ANNOTATION_START]: opts.start } : {}),
    [ANNOTATION_FAILURE]: JSON.stringify(opts.failure),
  });
}
