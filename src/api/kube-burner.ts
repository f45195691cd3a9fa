// `dpready stats --output kube-burner`: the per-phase percentiles as kube-burner's
// podLatencyQuantilesMeasurement documents (its local indexer's JSON: quantileName, P50, P95,
// P99, min, max, avg in ms, timestamp, uuid, jobName), so the dashboards, comparisons and
// tooling built on kube-burner's output read dpready's figures unchanged. kube-burner names its
// four phases after the pod conditions (PodScheduled, Initialized, ContainersReady, Ready);
// dpready's extra phases follow the same style. Pure.
import type { PhasesAnswer } from './phases.ts';

/** dpready phase → kube-burner quantileName. */
export const KUBE_BURNER_NAMES: Record<string, string> = {
  scheduled: 'PodScheduled',
  initialized: 'Initialized',
  'containers-ready': 'ContainersReady',
  'datapath-ready': 'DatapathReady',
  ready: 'Ready',
  'reporter-start': 'ReporterStart',
  'reporter-ready': 'ReporterReady',
  'policy-enforced': 'PolicyEnforced',
  'policy-after-datapath': 'PolicyAfterDatapath',
  'ready-without-datapath': 'ReadyWithoutDatapath',
};

export interface KubeBurnerQuantiles {
  quantileName: string;
  uuid: string;
  P99: number; P95: number; P50: number;
  min: number; max: number; avg: number;
  timestamp: string;
  metricName: 'podLatencyQuantilesMeasurement';
  jobName: string;
  metadata: Record<string, string>;
}

export function kubeBurnerQuantiles(phases: PhasesAnswer, o: { uuid: string; jobName: string; at: Date; metadata?: Record<string, string> }): KubeBurnerQuantiles[] {
  return phases.phases.map((p) => ({
    quantileName: KUBE_BURNER_NAMES[p.phase] ?? p.phase,
    uuid: o.uuid,
    // kube-burner's are whole milliseconds; the API's are too (rounded), the mean keeps decimals.
    P99: Math.round(p.p99), P95: Math.round(p.p95), P50: Math.round(p.p50),
    min: Math.round(p.min), max: Math.round(p.max), avg: p.mean,
    timestamp: o.at.toISOString(),
    metricName: 'podLatencyQuantilesMeasurement',
    jobName: o.jobName,
    metadata: o.metadata ?? {},
  }));
}
