// Results -> the numbers a time route returns. Pure: it reads a MetricView (the index's
// precomputed order) and a filter, and allocates only the filtered values and the objects it
// returns, so a query over 100,000 results does no sort and builds no intermediate objects.
import { mean as ssMean, quantileSorted } from 'simple-statistics';
import type { Outcome } from '../contract.ts';
import { METRIC_FIELDS, type IndexedResult, type Metric, type MetricView } from './result-index.ts';

/**
 * simple-statistics' quantileSorted (7.x): linear interpolation between closest ranks, R's
 * type 7 and numpy's default. With the sample sorted ascending x[0..n-1] and h = (n-1)·p, the
 * p-quantile is x[⌊h⌋] + (h-⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]). Not the existing system's x[⌊(n-1)p⌋]
 * and not ClusterLoader2's nearest rank x[⌈np⌉-1]; the response names the method.
 */
export const PERCENTILE_METHOD = 'linear-interpolation-r7' as const;

/** failedPods is capped so a run with every pod failed cannot produce a multi-megabyte answer. */
export const FAILED_PODS_LIMIT = 1000;

export interface Summary {
  count: number;
  p50: number; p90: number; p95: number; p99: number;
  min: number; max: number; mean: number;
}

/**
 * Statistics of an ascending sample, rounded to the microsecond (3 decimals, in ms) so float
 * noise such as 10.300000000000001 does not reach pipelines. An empty sample gives count 0 and
 * zeros, as the existing system did: the types never change, and count says there was no data.
 */
export function summarize(sortedAsc: ArrayLike<number>): Summary {
  const n = sortedAsc.length;
  if (n === 0) return { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, min: 0, max: 0, mean: 0 };
  // simple-statistics only indexes and reads .length, so a Float64Array view serves as the array.
  const x = sortedAsc as unknown as number[];
  const q = (p: number): number => round3(quantileSorted(x, p));
  return {
    count: n,
    p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99),
    min: round3(x[0]!), max: round3(x[n - 1]!), mean: round3(ssMean(x)),
  };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Whole milliseconds, never -0. */
export function wholeMs(v: number): number {
  return Math.round(v) || 0;
}

/**
 * What the time routes send: the existing system's clients decode p50/p90/p99 (and worst-pod
 * values) into Go int64 fields, which reject 450.5. Every order statistic is therefore sent in
 * whole milliseconds (the timestamps have millisecond resolution anyway); only the mean, which
 * the existing system did not have, keeps its fraction.
 */
export function wireSummary(s: Summary): Summary {
  return {
    count: s.count, p50: wholeMs(s.p50), p90: wholeMs(s.p90), p95: wholeMs(s.p95), p99: wholeMs(s.p99),
    min: wholeMs(s.min), max: wholeMs(s.max), mean: s.mean,
  };
}

export interface WorstPod {
  namespace: string; name: string; uid: string; nodeName: string;
  createdAt: string; measuredTs: string; value: number;
}

export interface FailedPod {
  namespace: string; name: string; uid: string; nodeName: string;
  reason: string; outcome: Outcome; message: string;
}

export interface MetricStats extends Omit<Summary, 'count'> {
  metric: Metric;
  unit: 'ms';
  count: number;
  totalSuccessful: number;
  totalFailed: number;
  pending: number;
  timedOut: number;
  percentileMethod: typeof PERCENTILE_METHOD;
  worstPods: WorstPod[];
  failedPods: FailedPod[];
  failedPodsTruncated: boolean;
}

export interface StatsOptions {
  metric: Metric;
  topN: number;
  /** Tracked pods matching the filters that have no result yet; counted apart, never as failed. */
  pending: number;
  failedLimit?: number;
}

/** `match` undefined means every result counts. */
export function metricStats(
  view: MetricView,
  match: ((r: IndexedResult) => boolean) | undefined,
  opts: StatsOptions,
): MetricStats {
  const { measured, unmeasured } = view;
  const fields = METRIC_FIELDS[opts.metric];
  const failedLimit = opts.failedLimit ?? FAILED_PODS_LIMIT;
  let timedOut = 0;

  let values: ArrayLike<number> = view.values;
  if (match) {
    const picked = new Float64Array(measured.length);
    let n = 0;
    for (let i = 0; i < measured.length; i++) {
      const r = measured[i]!;
      if (!match(r)) continue;
      picked[n++] = view.values[i]!;
      if (r.outcome === 'TimedOut') timedOut++;
    }
    values = picked.subarray(0, n);
  } else {
    timedOut = view.measuredTimedOut;
  }

  const worstPods: WorstPod[] = [];
  for (let i = measured.length - 1; i >= 0 && worstPods.length < opts.topN; i--) {
    const r = measured[i]!;
    if (match && !match(r)) continue;
    worstPods.push({
      namespace: r.namespace, name: r.name, uid: r.uid, nodeName: r.nodeName,
      createdAt: r.createdAt, measuredTs: r[fields.measuredTs], value: wholeMs(r[fields.value]),
    });
  }

  const failedPods: FailedPod[] = [];
  let totalFailed = 0;
  for (const r of unmeasured) {
    if (match && !match(r)) continue;
    totalFailed++;
    if (r.outcome === 'TimedOut') timedOut++;
    if (failedPods.length < failedLimit) {
      failedPods.push({
        namespace: r.namespace, name: r.name, uid: r.uid, nodeName: r.nodeName,
        reason: r.reason, outcome: r.outcome, message: r.message,
      });
    }
  }

  const summary = wireSummary(summarize(values));
  return {
    metric: opts.metric,
    unit: 'ms',
    ...summary,
    totalSuccessful: summary.count,
    totalFailed,
    pending: opts.pending,
    timedOut,
    percentileMethod: PERCENTILE_METHOD,
    worstPods,
    failedPods,
    failedPodsTruncated: totalFailed > failedPods.length,
  };
}
