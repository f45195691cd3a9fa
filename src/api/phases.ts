// Per-phase latencies, as kube-burner's podLatency and ClusterLoader2's PodStartupLatency report
// them, but from instants the controller saw on its watch (millisecond resolution, one clock)
// rather than lastTransitionTime (whole seconds). Pure: results in, statistics out.
import type { IndexedResult } from './result-index.ts';
import { PERCENTILE_METHOD, summarize, wholeMs, wireSummary, type Summary } from './stats.ts';

export interface PhaseDef {
  /** Name in the API, in thresholds (phase.<name>.p99) and in the table. */
  name: string;
  from: string;
  to: string;
  /** Which clock(s) the two instants come from. */
  clock: string;
  /** The phase's duration in ms for one result, NaN when either instant is unknown. */
  value: (r: IndexedResult) => number;
}

const sinceCreated = (field: keyof IndexedResult) => (r: IndexedResult): number => (r[field] as number) - r.createdAtMs;
const CREATED = 'created (controller\'s first sight of the pod; creationTimestamp for pods that existed before it started)';
const WATCH = 'controller (watch)';

export const PHASES: readonly PhaseDef[] = [
  { name: 'scheduled', from: CREATED, to: 'PodScheduled True seen on the watch', clock: WATCH, value: sinceCreated('scheduledMs') },
  { name: 'initialized', from: CREATED, to: 'Initialized True seen on the watch', clock: WATCH, value: sinceCreated('initializedMs') },
  { name: 'containers-ready', from: CREATED, to: 'ContainersReady True seen on the watch', clock: WATCH, value: sinceCreated('containersReadyMs') },
  { name: 'datapath-ready', from: CREATED, to: 'the reporter\'s datapath-ready annotation seen on the watch', clock: WATCH, value: sinceCreated('dpReadySeenMs') },
  { name: 'ready', from: CREATED, to: 'Ready True seen on the watch (after our gate)', clock: WATCH, value: sinceCreated('readyMs') },
  { name: 'reporter-start', from: CREATED, to: 'the reporter\'s start instant (azure-start-ts)', clock: 'controller → node (reporter)', value: (r) => r.latStartMs },
  { name: 'reporter-ready', from: CREATED, to: 'the reporter\'s first successful probe (azure-dp-ready-ts)', clock: 'controller → node (reporter)', value: (r) => r.latDpReadyMs },
  {
    name: 'ready-without-datapath', from: 'ContainersReady True seen on the watch', to: 'the reporter\'s datapath-ready annotation seen on the watch',
    clock: WATCH, value: (r) => r.dpReadySeenMs - r.containersReadyMs,
  },
];
export const PHASE_NAMES: readonly string[] = PHASES.map((p) => p.name);

export interface PhaseWorstPod { namespace: string; name: string; uid: string; nodeName: string; createdAt: string; value: number }

export interface PhaseStats extends Summary {
  phase: string;
  from: string;
  to: string;
  clock: string;
  worstPods: PhaseWorstPod[];
}

export interface PhasesAnswer {
  unit: 'ms';
  percentileMethod: typeof PERCENTILE_METHOD;
  /** Results matching the filters; each phase's count says how many of them have that phase. */
  results: number;
  phases: PhaseStats[];
}

/** Every phase over the results `match` keeps, worst `topN` each. */
export function phaseStats(results: Iterable<IndexedResult>, match: ((r: IndexedResult) => boolean) | undefined, topN: number): PhasesAnswer {
  const picked: IndexedResult[] = [];
  for (const r of results) if (!match || match(r)) picked.push(r);
  const phases = PHASES.map((def): PhaseStats => {
    const rows: Array<{ r: IndexedResult; v: number }> = [];
    for (const r of picked) {
      const v = def.value(r);
      if (!Number.isNaN(v)) rows.push({ r, v });
    }
    // Ascending by value; equal values by namespace, name, uid descending, so reading from the
    // end gives the worst first with ties in name order (as the time routes do).
    rows.sort((a, b) => a.v - b.v || byName(b.r, a.r));
    const summary = wireSummary(summarize(Float64Array.from(rows, (x) => x.v)));
    const worstPods: PhaseWorstPod[] = [];
    for (let i = rows.length - 1; i >= 0 && worstPods.length < topN; i--) {
      const { r, v } = rows[i]!;
      worstPods.push({ namespace: r.namespace, name: r.name, uid: r.uid, nodeName: r.nodeName, createdAt: r.createdAt, value: wholeMs(v) });
    }
    return { phase: def.name, from: def.from, to: def.to, clock: def.clock, ...summary, worstPods };
  });
  return { unit: 'ms', percentileMethod: PERCENTILE_METHOD, results: picked.length, phases };
}

function byName(a: IndexedResult, b: IndexedResult): number {
  return cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
