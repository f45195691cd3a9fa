// The contract between reporter, controller, API and users: the shapes, as zod schemas. The
// names (annotation keys, condition type, DatapathResult identity) are spelled out in
// contract-names.ts and re-exported here, so importing from either file gives the same values.
import { z } from 'zod';

import { API_VERSION, KIND } from './contract-names.ts';

export * from './contract-names.ts';

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
   * startToReadyMs then counts from this run's start, not from the recorded start.
   */
  startKept: z.boolean().optional(),
  /**
   * Where this run's start came from: `exec`, the instant the container's command ran, stamped
   * by the image's entrypoint (dpready-start) before Node's own start-up; `node`, Node's start
   * (a reporter run without dpready-start, such as another image's entrypoint).
   */
  startFrom: z.enum(['exec', 'node']).optional(),
  /** One entry per target, same order as `targets`. */
  perTarget: z.array(z.object({
    target: z.string(),
    attempts: z.number().int().nonnegative(),
    lastError: z.string().optional(),
    rttMs: z.number().nonnegative().optional(),
    /** Start to this target's success, monotonic clock. */
    readyAfterMs: z.number().nonnegative().optional(),
    /**
     * Which instant that success is: `sent`, when the successful attempt's packet went out (for
     * tcp and http(s), just after its connect(2)), as it completed before that packet could be
     * resent (so it got through); `done`, its completion (it took 1 s or more).
     */
    readyFrom: z.enum(['sent', 'done']).optional(),
    /**
     * How late the successful attempt started against the schedule, ms: the reporter's tick
     * waited this long for a core. A busy node's share of the error; the interval's is the rest.
     */
    lateMs: z.number().nonnegative().optional(),
    /**
     * With `readyFrom: sent`, from the successful attempt's start to its packet, ms: a lookup of
     * the target's name, and on a busy node a wait for a core before its connect(2). Part of the
     * error beside `lateMs` and the interval.
     */
    sendDelayMs: z.number().nonnegative().optional(),
    /**
     * Start to the latest attempt sent before the success that failed, ms (monotonic clock): the
     * path did not work when that attempt's packet went out, so the instant it began to work
     * lies after this and at or before `readyAfterMs`. The datapath-ready annotation is the
     * upper end; the gap between the two is the measurement's own uncertainty. Absent when the
     * first attempt succeeded.
     */
    failedAfterMs: z.number().nonnegative().optional(),
  })).optional(),
});
export type ProbeDetails = z.infer<typeof ProbeDetails>;

/** What the reporter reports about its deny targets (PROBE_DENY_TARGET), the policy-probe annotation. */
export const PolicyProbe = z.object({
  targets: z.array(z.string()).min(1),
  /** Attempts against all deny targets together. */
  attempts: z.number().int().nonnegative(),
  /** Consecutive unanswered rounds needed (PROBE_DENY_CONFIRM). */
  confirm: z.number().int().min(1),
  /** The deny target that answered most recently, while the policy is not confirmed. */
  answering: z.string().optional(),
  /**
   * Start of the attempt that answered most recently (RFC3339, node clock); once the policy is
   * enforced, the last answer before it, so enforced − this bounds the schedule's share of the error.
   */
  lastAnswerTs: Rfc3339.optional(),
  /** Process start to the enforced instant, reporter's monotonic clock. */
  startToEnforcedMs: z.number().nonnegative().optional(),
});
export type PolicyProbe = z.infer<typeof PolicyProbe>;

export const ReporterFailureReason = z.enum(['ProbeDeadline', 'ReceiveDeadline', 'PolicyDeadline']);
export const ReporterFailure = z.object({
  reason: ReporterFailureReason,
  message: z.string(),
  ts: Rfc3339,
  /** What was tried before giving up (the same shape as the success details). */
  probe: ProbeDetails.optional(),
  /** PolicyDeadline: the deny targets' state at the deadline. */
  policy: PolicyProbe.optional(),
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
    /** The policy seen in force (deny targets configured): the policy-enforced-ts annotation. */
    policyEnforcedTs: Rfc3339.optional(),
    /** When the controller decided the outcome: the time filter of the stats API uses createdAt. */
    recordedAt: Rfc3339,
  }),
  metrics: z.object({
    latStartMs: z.number().optional(),
    latDpReadyMs: z.number().optional(),
    /** createdAt to receiveTs, ms (receive check on). */
    latReceiveMs: z.number().optional(),
    /** createdAt to policyEnforcedTs, ms (deny targets configured). */
    latPolicyMs: z.number().optional(),
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
  /** The policy check was on for this pod: its deny targets (PROBE_DENY_TARGET). */
  denyTargets: z.array(z.string()).optional(),
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
