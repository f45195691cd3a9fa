// The contract between reporter, controller, API and users: the names. This is the only file
// that spells out annotation keys, the condition type and the DatapathResult identity; every
// other file imports them from here (or from contract.ts, which re-exports them) so the names
// cannot drift. No imports: the reporter's bundle reads its names from here without zod, and
// the zod schemas of the same contract live in contract.ts.
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
 * Policy in force (opt-in, PROBE_DENY_TARGET): the first attempt of the first run of
 * PROBE_DENY_CONFIRM consecutive attempts in which every deny target went unanswered (refused or
 * silent), counted only from the first datapath success on. RFC3339 UTC with milliseconds, node clock.
 */
export const ANNOTATION_POLICY_ENFORCED = `${GROUP}/policy-enforced-ts`;
/**
 * JSON PolicyProbe: the deny targets, attempts against them, and which one still answers.
 * Written with the datapath-ready annotation, so its presence tells the controller that this
 * pod's gate also waits for the policy.
 */
export const ANNOTATION_POLICY_PROBE = `${GROUP}/policy-probe`;
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
  /** False: the datapath works, but a deny target (PROBE_DENY_TARGET) still answers, or the denial is not yet confirmed. */
  AwaitingPolicy: 'AwaitingPolicy',
  /** False (fail-closed): the policy was not seen in force before the reporter's or the controller's deadline. */
  PolicyNotEnforced: 'PolicyNotEnforced',
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
/** Turns the policy check on for an injected pod: its deny targets, comma-separated (PROBE_DENY_TARGET; docs/policy.md). */
export const INJECT_DENY_TARGET_ANNOTATION = 'dpready.perf.github.com/deny-target';
/** Stamped by the webhook on the pods it changed: the instant of admission, RFC3339 (ms). */
export const INJECTED_ANNOTATION = 'dpready.perf.github.com/injected-at';
/** Name of the injected reporter container. */
export const REPORTER_CONTAINER = 'dpready-reporter';
/** Audience of the projected token the reporter shows the controller; the API server rejects it. */
export const REPORT_AUDIENCE = 'dpready.perf.github.com';

// zod's z.iso.datetime({ offset: true, local: false }) as one regular expression (a real
// calendar date; seconds required; optional fraction; Z or an offset), for the reporter,
// which reads RFC3339 values without zod. test/contract.test.ts checks both agree.
const DATE = '(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))';
const RFC3339 = new RegExp(`^${DATE}T(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$`);

/** An RFC3339 timestamp as the contract accepts it (the Rfc3339 schema in contract.ts, without zod). */
export function isRfc3339(value: string): boolean {
  return RFC3339.test(value);
}
