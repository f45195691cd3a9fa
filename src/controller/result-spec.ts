// Builds the DatapathResult for a pod whose outcome is known. Pure. This is where the
// measurement is made, so it is where its error is kept small: the creation instant is the
// controller's own first sight of the pod when that falls inside creationTimestamp's second
// (which is truncated to whole seconds), and the result says which instant it used.
import { createHash } from 'node:crypto';
import { RESULT_LABEL_POD_NAMESPACE, type CreatedAtSource, type DatapathResultSpec, type Outcome } from '../contract.ts';
import type { ReporterReport } from '../conditions/reporter-report.ts';
import type { TrackedPod } from './pod-store.ts';

export interface CreationInstant { ms: number; source: CreatedAtSource }

export function creationInstant(pod: TrackedPod): CreationInstant {
  const cts = pod.creationTimestampMs;
  if (pod.firstSeenMs !== undefined && pod.firstSeenMs >= cts && pod.firstSeenMs < cts + 1_000) {
    return { ms: pod.firstSeenMs, source: 'controllerFirstSeen' };
  }
  return { ms: cts, source: 'creationTimestamp' };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function buildResultSpec(pod: TrackedPod, report: ReporterReport,
  outcome: { outcome: Outcome; reason: string; message: string }, now: number): DatapathResultSpec {
  const created = creationInstant(pod);
  const latency = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms - created.ms));
  const spec: DatapathResultSpec = {
    podRef: { namespace: pod.namespace, name: pod.name, uid: pod.uid, ...(pod.nodeName ? { nodeName: pod.nodeName } : {}) },
    timestamps: {
      createdAt: iso(created.ms),
      createdAtSource: created.source,
      ...(report.start ? { startTs: iso(report.start.ms) } : {}),
      ...(report.ready ? { dpReadyTs: iso(report.ready.ms) } : {}),
      ...(report.received ? { receiveTs: iso(report.received.ms) } : {}),
      ...(report.policyEnforced ? { policyEnforcedTs: iso(report.policyEnforced.ms) } : {}),
      recordedAt: iso(now),
    },
    metrics: {
      ...(report.start ? { latStartMs: latency(report.start.ms) } : {}),
      ...(report.ready ? { latDpReadyMs: latency(report.ready.ms) } : {}),
      ...(report.received ? { latReceiveMs: latency(report.received.ms) } : {}),
      ...(report.policyEnforced ? { latPolicyMs: latency(report.policyEnforced.ms) } : {}),
      ...(report.probe?.startToReadyMs !== undefined ? { reporterStartToReadyMs: report.probe.startToReadyMs } : {}),
    },
    ...watchTimestamps(pod),
    labels: { ...pod.labels },
    ...(pod.receivePort !== undefined ? { receivePort: pod.receivePort } : {}),
    ...(report.policy ? { denyTargets: report.policy.targets } : {}),
    outcome: outcome.outcome,
    reason: outcome.reason,
    message: outcome.message,
    ...(report.probe ? { probe: {
      targets: report.probe.targets, attempts: report.probe.attempts,
      ...(report.probe.lastError !== undefined ? { lastError: report.probe.lastError } : {}),
      ...(report.probe.rttMs !== undefined ? { rttMs: report.probe.rttMs } : {}),
      ...(report.probe.startToReadyMs !== undefined ? { startToReadyMs: report.probe.startToReadyMs } : {}),
    } } : {}),
  };
  return spec;
}

/**
 * ContainersReady → the datapath working, both on the watch clock (the ready-without-datapath
 * phase of GET /api/v1/phases): undefined unless the result has both instants.
 */
export function readyWithoutDatapathMs(spec: DatapathResultSpec): number | undefined {
  const w = spec.watchTimestamps;
  if (!w?.containersReady || !w.datapathReady) return undefined;
  return Date.parse(w.datapathReady) - Date.parse(w.containersReady);
}

/** The phase instants the controller saw on its watch, as the result records them. */
function watchTimestamps(pod: TrackedPod): Pick<DatapathResultSpec, 'watchTimestamps'> {
  const seen = pod.conditionSeenMs ?? {};
  const out: NonNullable<DatapathResultSpec['watchTimestamps']> = {};
  const put = (k: keyof typeof out, ms: number | null | undefined) => { if (typeof ms === 'number') out[k] = iso(ms); };
  put('scheduled', seen.PodScheduled);
  put('initialized', seen.Initialized);
  put('containersReady', seen.ContainersReady);
  put('datapathReady', pod.readySeenMs);
  put('ready', seen.Ready);
  return Object.keys(out).length > 0 ? { watchTimestamps: out } : {};
}

/**
 * How long to hold back a succeeded pod's result for its Ready instant (ms; 0: write now). Ready
 * follows our condition turning True, so it comes after the outcome is known; waiting for it
 * (up to `maxWaitMs` after the ready annotation was seen) records every phase in one write
 * instead of rewriting the result. Nothing waits for a pod that is going away, failed, or whose
 * Ready instant cannot be known.
 */
export function readyWait(pod: TrackedPod, outcome: Outcome, now: number, maxWaitMs: number): number {
  if (maxWaitMs <= 0 || outcome !== 'Succeeded' || pod.deleting || !pod.hasGate) return 0;
  if (pod.conditionSeenMs && 'Ready' in pod.conditionSeenMs) return 0;
  if (pod.readySeenMs === undefined) return 0;
  return Math.max(0, pod.readySeenMs + maxWaitMs - now);
}

/**
 * The result object's metadata.labels: the pod's labels (valid label keys and values already),
 * so `kubectl get dpr -l app=x` selects results as the pods were selected, and the pod's
 * namespace, since results are stored apart from their pods.
 */
export function resultLabels(spec: Pick<DatapathResultSpec, 'labels' | 'podRef'>): Record<string, string> {
  return { ...spec.labels, [RESULT_LABEL_POD_NAMESPACE]: spec.podRef.namespace };
}

/**
 * What makes two results "the same outcome": a result is rewritten only when this changes.
 * The creation instant is left out on purpose: after a controller restart the first-seen
 * instant is gone, and a rewrite would replace a precise measurement with a coarser one.
 */
export function outcomeFingerprint(spec: Pick<DatapathResultSpec, 'outcome' | 'reason' | 'timestamps'>): string {
  return createHash('sha1')
    .update(`${spec.outcome}\0${spec.reason ?? ''}\0${spec.timestamps.startTs ?? ''}\0${spec.timestamps.dpReadyTs ?? ''}\0${spec.timestamps.receiveTs ?? ''}`
      // Appended only when present, so the fingerprints of results without it do not change.
      + (spec.timestamps.policyEnforcedTs ? `\0${spec.timestamps.policyEnforcedTs}` : ''))
    .digest('base64');
}
