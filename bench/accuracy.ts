// Measurement accuracy against ground truth the benchmark owns: the instant it called the API
// server to create each pod, the instant the reporter process was spawned, and the instant
// the probe target opened. Errors are (measured − true) in ms; figures are of their absolute
// values. Three methods side by side:
//   dpready           the DatapathResult (controller's creation instant, reporter's default probing)
//   existing formula  the same pods and reporter, but creationTimestamp (1 s resolution) as origin
//   existing system   creationTimestamp origin and a reporter probing every 2 s (the Go reporter's loop)
import type { LifecycleRun } from './lifecycle.ts';
import { summarizeAbs, type Summary } from './stats.ts';

export interface MethodAccuracy { method: string; pods: number; startError: Summary; dpReadyError: Summary }
export interface AccuracyFigures {
  /** dpready's error split into its sources: creation instant, reporter start, reported ready. */
  components: { createdAt: Summary; start: Summary; ready: Summary };
  methods: MethodAccuracy[]; createCallMs: Summary; createdAtSources: Record<string, number>; markMs: number; pass: boolean }

function truth(run: LifecycleRun) {
  return run.pods.map((p) => ({
    p,
    start: p.reporterSpawnAt! - p.createCallAt,
    dp: run.targetOpenedAt! - p.createCallAt,
  }));
}

function fromAnnotations(run: LifecycleRun, method: string): MethodAccuracy {
  const rows = truth(run).filter((t) => t.p.startAnnotation && t.p.readyAnnotation && t.p.reporterSpawnAt);
  return {
    method, pods: rows.length,
    startError: summarizeAbs(rows.map((t) => Date.parse(t.p.startAnnotation!) - t.p.creationTimestampMs - t.start)),
    dpReadyError: summarizeAbs(rows.map((t) => Date.parse(t.p.readyAnnotation!) - t.p.creationTimestampMs - t.dp)),
  };
}

export function accuracyFigures(dpready: LifecycleRun, legacy: LifecycleRun, markMs = 20): AccuracyFigures {
  const rows = truth(dpready).filter((t) => t.p.result?.metrics.latStartMs !== undefined && t.p.result.metrics.latDpReadyMs !== undefined && t.p.reporterSpawnAt);
  const ours: MethodAccuracy = {
    method: 'dpready (DatapathResult)', pods: rows.length,
    startError: summarizeAbs(rows.map((t) => t.p.result!.metrics.latStartMs! - t.start)),
    dpReadyError: summarizeAbs(rows.map((t) => t.p.result!.metrics.latDpReadyMs! - t.dp)),
  };
  const sources: Record<string, number> = {};
  for (const t of rows) sources[t.p.result!.timestamps.createdAtSource] = (sources[t.p.result!.timestamps.createdAtSource] ?? 0) + 1;
  const methods = [
    ours,
    fromAnnotations(dpready, 'existing formula on dpready reporter (creationTimestamp)'),
    fromAnnotations(legacy, 'existing system (creationTimestamp, 2 s probe interval)'),
  ];
  const components = {
    createdAt: summarizeAbs(rows.map((t) => Date.parse(t.p.result!.timestamps.createdAt) - t.p.createCallAt)),
    start: summarizeAbs(rows.map((t) => Date.parse(t.p.result!.timestamps.startTs!) - t.p.reporterSpawnAt!)),
    ready: summarizeAbs(rows.map((t) => Date.parse(t.p.result!.timestamps.dpReadyTs!) - dpready.targetOpenedAt!)),
  };
  return {
    components,
    methods,
    createCallMs: summarizeAbs(dpready.pods.map((p) => p.createReturnedAt - p.createCallAt)),
    createdAtSources: sources, markMs,
    pass: ours.pods === dpready.pods.length && ours.startError.p99 <= markMs && ours.dpReadyError.p99 <= markMs,
  };
}
