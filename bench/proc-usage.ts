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

/** CPU time of all CPUs, in ticks: busy (not idle or iowait, steal included), steal, and in all. */
export interface MachineCpu { busy: number; steal: number; total: number }

/**
 * /proc/stat's first line (`cpu user nice system idle iowait irq softirq steal ...`) as
 * MachineCpu. Steal is the time the hypervisor ran something else while this machine's CPUs
 * had work: on a VM it is a wait no process here can see, and it counts as busy.
 */
export function parseCpuLine(line: string): MachineCpu {
  const [name, ...fields] = line.trim().split(/\s+/);
  const ticks = fields.map(Number);
  if (name !== 'cpu' || ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) throw new Error(`not /proc/stat's cpu line: ${JSON.stringify(line)}`);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3]! - ticks[4]!, steal: ticks[7]!, total };
}

/** The machine's CPU time from /proc/stat's first line. */
export function machineCpu(): MachineCpu {
  return parseCpuLine(readFileSync('/proc/stat', 'utf8').split('\n')[0]!);
}

/** Share of all CPUs busy between two machineCpu() readings, %. */
export function busyPercent(from: Omit<MachineCpu, 'steal'>, to: Omit<MachineCpu, 'steal'>): number {
  return Math.round(((to.busy - from.busy) / Math.max(1, to.total - from.total)) * 1000) / 10;
}

/** Share of all CPUs' time stolen by the hypervisor between two machineCpu() readings, %. */
export function stealPercent(from: MachineCpu, to: MachineCpu): number {
  return Math.round(((to.steal - from.steal) / Math.max(1, to.total - from.total)) * 1000) / 10;
}
