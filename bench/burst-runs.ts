// The burst's dpready side runs several times (--burst-runs; a fresh controller and fresh pods
// each time, in a namespace of its own), so its marks are judged on the median of the runs, not
// on one run on a shared machine. Pure: the runs' figures in, their medians out.
import type { BurstFigures } from './burst.ts';

export interface BurstRun { resultP99Ms: number; conditionP99Ms: number; cpuMsPerPod: number; rssSettledMiB: number; rssIdleMiB: number; writesPerPod: number }

export interface BurstMedian extends BurstRun { runs: number }

/** The workload namespaces a run of `runs` uses (installDpready must create them). */
export function burstNamespaces(namespace: string, runs: number): string[] {
  return Array.from({ length: runs }, (_, i) => (i === 0 ? namespace : `${namespace}-${i + 1}`));
}

export function runOf(f: BurstFigures): BurstRun {
  return {
    resultP99Ms: f.annotationToResultMs.p99, conditionP99Ms: f.annotationToConditionMs.p99, cpuMsPerPod: f.controllerCpuMsPerPod,
    rssSettledMiB: f.controller.settled?.rssMiB ?? NaN, rssIdleMiB: f.controller.idle?.rssMiB ?? NaN, writesPerPod: f.controllerWritesPerPod,
  };
}

/** Each figure's median over the runs, separately (nearest rank, the lower middle for an even count). */
export function medianOf(runs: BurstRun[]): BurstMedian {
  const med = (k: keyof BurstRun) => {
    const v = runs.map((r) => r[k]).sort((a, b) => a - b);
    return v[Math.ceil(v.length / 2) - 1] ?? NaN;
  };
  return {
    runs: runs.length, resultP99Ms: med('resultP99Ms'), conditionP99Ms: med('conditionP99Ms'), cpuMsPerPod: med('cpuMsPerPod'),
    rssSettledMiB: med('rssSettledMiB'), rssIdleMiB: med('rssIdleMiB'), writesPerPod: med('writesPerPod'),
  };
}
