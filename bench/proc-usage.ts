// A process's resource use from /proc (Linux): peak and current RSS, CPU seconds.
import { readFileSync } from 'node:fs';

export interface ProcUsage { peakRssMiB: number; rssMiB: number; cpuSeconds: number }

export function procUsage(pid: number): ProcUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { peakRssMiB: Math.round(kb('VmHWM') / 1024), rssMiB: Math.round(kb('VmRSS') / 1024), cpuSeconds: Math.round((ticks / 100) * 100) / 100 };
}

/** The node process itself: the controller runs under `setpriv`, which execs into node, so the pid is the same. */
export function childUsage(pid: number | undefined): ProcUsage | undefined {
  if (pid === undefined) return undefined;
  try { return procUsage(pid); } catch { return undefined; }
}

/** The machine's CPU time from /proc/stat's first line, in ticks: busy (not idle or iowait) and in all. */
export function machineCpu(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** Share of all CPUs busy between two machineCpu() readings, %. */
export function busyPercent(from: { busy: number; total: number }, to: { busy: number; total: number }): number {
  return Math.round(((to.busy - from.busy) / Math.max(1, to.total - from.total)) * 1000) / 10;
}
