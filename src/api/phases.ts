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
  { name: 'policy-enforced', from: CREATED, to: 'the reporter\'s policy-enforced-ts (pods with deny targets)', clock: 'controller → node (reporter)', value: (r) => r.latPolicyMs },
  {
    // The window in which the new pod could reach what its policy denies: both instants from the
    // reporter's clock, so no skew between them.
    name: 'policy-after-datapath', from: 'the reporter\'s first successful probe (azure-dp-ready-ts)', to: 'the reporter\'s policy-enforced-ts (pods with deny targets)',
    clock: 'node (reporter)', value: (r) => r.latPolicyMs - r.latDpReadyMs,
  },
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
  const values = new Float64Array(picked.length);
  const phases = PHASES.map((def): PhaseStats => {
    // Percentiles from a typed array's numeric sort; the worst N kept apart in a small sorted
    // list, so 100,000 results cost no object sort (about 10x faster than sorting rows).
    let n = 0;
    const worst: Array<{ r: IndexedResult; v: number }> = [];
    for (const r of picked) {
      const v = def.value(r);
      if (Number.isNaN(v)) continue;
      values[n++] = v;
      if (topN > 0) keepWorst(worst, { r, v }, topN);
    }
    const sorted = values.subarray(0, n).sort();
    const summary = wireSummary(summarize(sorted));
    const worstPods = worst.map(({ r, v }): PhaseWorstPod => ({ namespace: r.namespace, name: r.name, uid: r.uid, nodeName: r.nodeName, createdAt: r.createdAt, value: wholeMs(v) }));
    return { phase: def.name, from: def.from, to: def.to, clock: def.clock, ...summary, worstPods };
  });
  return { unit: 'ms', percentileMethod: PERCENTILE_METHOD, results: picked.length, phases };
}

/** Worst first: highest value, equal values by namespace, name, uid (as the time routes order them). */
function worseFirst(a: { r: IndexedResult; v: number }, b: { r: IndexedResult; v: number }): number {
  return b.v - a.v || byName(a.r, b.r);
}

/** Inserts x into `list` (worst first, at most `max` long) if it belongs there. */
function keepWorst(list: Array<{ r: IndexedResult; v: number }>, x: { r: IndexedResult; v: number }, max: number): void {
  if (list.length === max && worseFirst(x, list[max - 1]!) >= 0) return;
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (worseFirst(list[mid]!, x) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, x);
  if (list.length > max) list.pop();
}

function byName(a: IndexedResult, b: IndexedResult): number {
  return cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
