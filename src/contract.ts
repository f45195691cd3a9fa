// The contract between reporter, controller, API and users. This is the only file that
// spells out annotation keys, the condition type and the DatapathResult identity; every
// other file imports them from here so the names cannot drift.
import { z } from 'zod';

export const GROUP = 'perf.github.com';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'DatapathResult';
export const LIST_KIND = 'DatapathResultList';
export const PLURAL = 'datapathresults';
export const SINGULAR = 'datapathresult';
export const SHORT_NAME = 'dpr';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/**
 * Label on every DatapathResult naming its pod's namespace. Results live in the controller's
 * results namespace (so they outlive the pods' namespaces); with this label and the pod's own
 * labels copied beside it, `kubectl get dpr -n dpready-system -l perf.github.com/pod-namespace=ns,app=x`
 * selects them as the pods were selected.
 */
export const RESULT_LABEL_POD_NAMESPACE = `${GROUP}/pod-namespace`;

/** Object name of the result for one pod. Keyed by UID so a recreated pod gets its own. */
export function resultName(podUid: string): string {
  return `dpresult-${podUid}`;
}

/** Every annotation dpready writes lives under this prefix (the admission policy relies on it). */
export const ANNOTATION_PREFIX = `${GROUP}/`;
/** Reporter start, RFC3339 UTC with sub-second precision. Name kept from the existing system. */
export const ANNOTATION_START = `${GROUP}/azure-start-ts`;
/** First successful probe, RFC3339 UTC with sub-second precision. Name kept from the existing system. */
export const ANNOTATION_DP_READY = `${GROUP}/azure-dp-ready-ts`;
/** JSON ProbeDetails: targets, attempts, last error, round trip, monotonic start-to-ready. */
export const ANNOTATION_PROBE = `${GROUP}/datapath-probe`;
/** JSON ReporterFailure, written when the reporter gives up, so "failed" differs from "running". */
export const ANNOTATION_FAILURE = `${GROUP}/datapath-failure`;
/**
 * Receive check (opt-in): the first inbound probe that reached the pod, RFC3339 UTC with
 * milliseconds, taken by the reporter's listener on the node's clock (like the two above).
 */
export const ANNOTATION_RECEIVE_TS = `${GROUP}/datapath-receive-ts`;
/**
 * A container port with this name turns the receive check on: the controller knocks on the pod
 * IP at that port (path RECEIVE_PATH), and the reporter, given the same port in
 * PROBE_RECEIVE_PORT, answers and records the first knock.
 */
export const RECEIVE_PORT_NAME = 'dpready-receive';
export const RECEIVE_PATH = '/dpready/receive';

/** The pod condition the controller owns; pods list it in spec.readinessGates. */
export const CONDITION_TYPE = `${GROUP}/datapath-ready`;

/** Reasons on our condition: a small fixed set, so `kubectl describe pod` says why. */
export const ConditionReason = {
  /** True: the reporter's first successful probe is recorded. */
  DatapathReady: 'DatapathReady',
  /** False: the gate is listed but no reporter has written anything yet. */
  AwaitingReporter: 'AwaitingReporter',
  /** False: the reporter started and is still probing. */
  Probing: 'Probing',
  /** False: the pod reaches its targets, but no inbound probe has reached the pod yet (receive check on). */
  AwaitingReceive: 'AwaitingReceive',
  /** False: the reporter gave up (its deadline passed) and said why. */
  ReporterFailed: 'ReporterFailed',
  /** False: an annotation could not be parsed; the message quotes it. */
  InvalidAnnotation: 'InvalidAnnotation',
  /** False (fail-closed) : no datapath success within --datapath-timeout. */
  DatapathTimeout: 'DatapathTimeout',
  /** True (fail-open): no datapath success within --datapath-timeout, let the rollout go on. */
  DatapathTimeoutFailOpen: 'DatapathTimeoutFailOpen',
} as const;
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

/**
 * RFC3339 timestamps as the reporter writes them (UTC, sub-second). Offsets and whole
 * seconds are accepted too, so results from the existing Go reporter (time.RFC3339) still parse.
 */
export const Rfc3339 = z.iso.datetime({ offset: true, local: false });

/** Probe details written by the reporter, for people and for the result. */
export const ProbeDetails = z.object({
  targets: z.array(z.string()).min(1),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  /** Round trip of the successful attempt of the slowest target, ms. */
  rttMs: z.number().nonnegative().optional(),
  /** Start to first success on the reporter's monotonic clock: free of clock skew. */
  startToReadyMs: z.number().nonnegative().optional(),
  /**
   * True when the start annotation was kept from an earlier reporter run (a restart):
   * startToReadyMs then counts from this run's process start, not from the recorded start.
   */
  startKept: z.boolean().optional(),
  /** One entry per target, same order as `targets`. */
  perTarget: z.array(z.object({
    target: z.string(),
    attempts: z.number().int().nonnegative(),
    lastError: z.string().optional(),
    rttMs: z.number().nonnegative().optional(),
    /** Process start to this target's success, monotonic clock. */
    readyAfterMs: z.number().nonnegative().optional(),
  })).optional(),
});
export type ProbeDetails = z.infer<typeof ProbeDetails>;

export const ReporterFailureReason = z.enum(['ProbeDeadline', 'ReceiveDeadline']);
export const ReporterFailure = z.object({
  reason: ReporterFailureReason,
  message: z.string(),
  ts: Rfc3339,
  /** What was tried before giving up (the same shape as the success details). */
  probe: ProbeDetails.optional(),
});
export type ReporterFailure = z.infer<typeof ReporterFailure>;

export const Outcome = z.enum(['Succeeded', 'Failed', 'TimedOut']);
export type Outcome = z.infer<typeof Outcome>;

/** Which instant stands for pod creation: creationTimestamp is truncated to the second. */
export const CreatedAtSource = z.enum(['creationTimestamp', 'controllerFirstSeen']);
export type CreatedAtSource = z.infer<typeof CreatedAtSource>;

export const DatapathResultSpec = z.object({
  podRef: z.object({
    namespace: z.string().min(1),
    name: z.string().min(1),
    uid: z.string().min(1),
    nodeName: z.string().optional(),
  }),
  timestamps: z.object({
    createdAt: Rfc3339,
    createdAtSource: CreatedAtSource,
    startTs: Rfc3339.optional(),
    dpReadyTs: Rfc3339.optional(),
    /** The first inbound probe that reached the pod (receive check on). */
    receiveTs: Rfc3339.optional(),
    /** When the controller decided the outcome: the time filter of the stats API uses createdAt. */
    recordedAt: Rfc3339,
  }),
  metrics: z.object({
    latStartMs: z.number().optional(),
    latDpReadyMs: z.number().optional(),
    /** createdAt to receiveTs, ms (receive check on). */
    latReceiveMs: z.number().optional(),
    /** Reporter start to first success on the reporter's monotonic clock. */
    reporterStartToReadyMs: z.number().nonnegative().optional(),
  }),
  /**
   * When the controller first saw each phase on its pod watch (controller clock, ms resolution):
   * PodScheduled, Initialized, ContainersReady and Ready turning True, and the reporter's ready
   * annotation arriving. Absent when unknown (already reached when the controller started).
   */
  watchTimestamps: z.object({
    scheduled: Rfc3339.optional(),
    initialized: Rfc3339.optional(),
    containersReady: Rfc3339.optional(),
    datapathReady: Rfc3339.optional(),
    ready: Rfc3339.optional(),
  }).optional(),
  labels: z.record(z.string(), z.string()),
  /** The receive check was on for this pod (its container port named dpready-receive). */
  receivePort: z.number().int().min(1).max(65535).optional(),
  outcome: Outcome,
  reason: z.string().optional(),
  message: z.string().optional(),
  /** The probe summary; per-target details stay on the pod's annotation. */
  probe: ProbeDetails.pick({ targets: true, attempts: true, lastError: true, rttMs: true, startToReadyMs: true }).optional(),
});
export type DatapathResultSpec = z.infer<typeof DatapathResultSpec>;

export const DatapathResult = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: DatapathResultSpec,
});
export type DatapathResult = z.infer<typeof DatapathResult>;

// Adoption (issue 13): injection by the controller's admission webhook, and reports from the
// reporter to the controller. These names live apart from ANNOTATION_PREFIX on purpose: they
// are the user's settings, not measurements, and the admission policies never let the
// reporter or the controller change them.
/** Label on a namespace or a pod: "enabled" asks for injection, "disabled" (pod) opts out. */
export const INJECT_LABEL = 'dpready.perf.github.com/inject';
/** Pod annotations that configure the injected reporter (PROBE_TARGET, PROBE_TIMEOUT, PROBE_MODE). */
export const INJECT_TARGET_ANNOTATION = 'dpready.perf.github.com/probe-target';
export const INJECT_TIMEOUT_ANNOTATION = 'dpready.perf.github.com/probe-timeout';
export const INJECT_MODE_ANNOTATION = 'dpready.perf.github.com/probe-mode';
/** Turns the receive check on for an injected pod: the port its reporter listens on (docs/receive.md). */
export const INJECT_RECEIVE_PORT_ANNOTATION = 'dpready.perf.github.com/receive-port';
/** Stamped by the webhook on the pods it changed: the instant of admission, RFC3339 (ms). */
export const INJECTED_ANNOTATION = 'dpready.perf.github.com/injected-at';
/** Name of the injected reporter container. */
export const REPORTER_CONTAINER = 'dpready-reporter';
/** Audience of the projected token the reporter shows the controller; the API server rejects it. */
export const REPORT_AUDIENCE = 'dpready.perf.github.com';
