// Reads what the reporter wrote on a pod. Pure: annotations in, a typed report out, with
// every malformed value kept as a problem that quotes it, so a bad annotation becomes a
// visible, fixable failure instead of a crash or a silently ignored pod.
import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, ANNOTATION_PROBE,
  ANNOTATION_RECEIVE_TS, ANNOTATION_START, PolicyProbe, ProbeDetails, ReporterFailure, Rfc3339,
} from '../contract.ts';

export interface Instant {
  /** Milliseconds since the epoch. */
  ms: number;
  /** The annotation's text, kept so results and messages show what the reporter wrote. */
  raw: string;
}

export interface AnnotationProblem {
  annotation: string;
  value: string;
  why: string;
}

export interface ReporterReport {
  start?: Instant;
  ready?: Instant;
  /** The first inbound probe that reached the pod (receive check). */
  received?: Instant;
  probe?: ProbeDetails;
  /** The policy seen in force (deny targets configured). */
  policyEnforced?: Instant;
  /** The policy check's state; its presence means the pod's reporter has deny targets. */
  policy?: PolicyProbe;
  failure?: ReporterFailure;
  problems: AnnotationProblem[];
  /** True when any of the reporter's annotations is present, valid or not. */
  present: boolean;
}

const QUOTE_LIMIT = 120;

function quote(value: string): string {
  return JSON.stringify(value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value);
}

function readInstant(annotation: string, value: string | undefined, problems: AnnotationProblem[]): Instant | undefined {
  if (value === undefined) return undefined;
  const ok = Rfc3339.safeParse(value.trim());
  const ms = ok.success ? Date.parse(ok.data) : NaN;
  if (!Number.isFinite(ms)) {
    problems.push({ annotation, value, why: 'is not an RFC3339 time such as 2026-01-02T15:04:05.123Z' });
    return undefined;
  }
  return { ms, raw: value.trim() };
}

function readJson<T>(annotation: string, value: string | undefined, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } },
  problems: AnnotationProblem[]): T | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    problems.push({ annotation, value, why: 'is not JSON' });
    return undefined;
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
    problems.push({ annotation, value, why: `does not match the expected shape${where}: ${issue?.message ?? 'invalid'}` });
    return undefined;
  }
  return result.data;
}

export function readReporterReport(annotations: Record<string, string> | undefined): ReporterReport {
  const a = annotations ?? {};
  const problems: AnnotationProblem[] = [];
  const report: ReporterReport = {
    start: readInstant(ANNOTATION_START, a[ANNOTATION_START], problems),
    ready: readInstant(ANNOTATION_DP_READY, a[ANNOTATION_DP_READY], problems),
    received: readInstant(ANNOTATION_RECEIVE_TS, a[ANNOTATION_RECEIVE_TS], problems),
    probe: readJson(ANNOTATION_PROBE, a[ANNOTATION_PROBE], ProbeDetails, problems),
    policyEnforced: readInstant(ANNOTATION_POLICY_ENFORCED, a[ANNOTATION_POLICY_ENFORCED], problems),
    policy: readJson(ANNOTATION_POLICY_PROBE, a[ANNOTATION_POLICY_PROBE], PolicyProbe, problems),
    failure: readJson(ANNOTATION_FAILURE, a[ANNOTATION_FAILURE], ReporterFailure, problems),
    problems,
    present: [ANNOTATION_START, ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_FAILURE, ANNOTATION_RECEIVE_TS,
      ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE].some((k) => k in a),
  };
  if (report.start && report.ready && report.ready.ms < report.start.ms) {
    problems.push({ annotation: ANNOTATION_DP_READY, value: report.ready.raw, why: `is before the start time ${report.start.raw}` });
    report.ready = undefined;
  }
  return report;
}

/** One line naming each bad annotation and quoting its value, for condition messages and results. */
export function describeProblems(problems: AnnotationProblem[]): string {
  return problems.map((p) => `annotation ${p.annotation}=${quote(p.value)} ${p.why}`).join('; ');
}
