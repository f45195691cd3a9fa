// Summaries of samples. Percentiles use nearest rank, sorted[ceil(n·p) − 1] (ClusterLoader2's
// method): every figure quoted is a sample that was actually observed.
export interface Summary {
  n: number; median: number; p99: number; max: number;
  /** The p99 before rounding, where a mark is judged on it (summarizeAbsJudged). */
  p99Unrounded?: number;
}

export function nearestRank(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))]!;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: r1(nearestRank(s, 0.5)), p99: r1(nearestRank(s, 0.99)), max: r1(s.at(-1) ?? NaN) };
}

/** Absolute errors: the figure of merit of a measurement is how far it is from the truth. */
export function summarizeAbs(xs: number[]): Summary {
  return summarize(xs.map(Math.abs));
}

/**
 * summarizeAbs, keeping the p99 unrounded as well: a mark is judged on it, since an error of
 * 20.04 ms is over a 20 ms mark though it prints as 20.
 */
export function summarizeAbsJudged(xs: number[]): Summary {
  const abs = xs.map(Math.abs).sort((a, b) => a - b);
  return { ...summarize(abs), p99Unrounded: nearestRank(abs, 0.99) };
}

export function p50p99(xs: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: r1(nearestRank(s, 0.5)), p99: r1(nearestRank(s, 0.99)), max: r1(s.at(-1) ?? NaN) };
}
