// Who had the node's cores in the moments after the heal: tracefs's sched_switch events turned
// into on-CPU time per group of threads (the reporters, the target, this benchmark, the control
// plane and node daemons, the rest) over windows counted from the heal. A reporter whose tick
// after the heal fired late waited for one of these; the split says which, from the kernel's
// own record rather than a profile taken by hand.
import { traceInstance } from '../src/devcluster/tracefs.ts';

/** Thread groups, in the order reports list them; `idle` is the CPU's idle task. */
export const GROUPS = ['reporters', 'target', 'bench', 'controlPlaneAndNode', 'kernel', 'other', 'idle'] as const;
export type Group = (typeof GROUPS)[number];

/** One window after the heal: how busy the cores were and which groups had them, ms of CPU. */
export interface CoresWindow {
  fromMs: number; toMs: number; busyPercent: number; ms: Record<Group, number>;
  /**
   * How much of the window's CPU time the trace covers, %: less than 100 when the window began
   * before a CPU's first recorded switch (the ring buffer dropped the oldest, or the trace started
   * later), and busyPercent and ms then speak for the covered part only.
   */
  tracedPercent: number;
  /** The busiest command names in the window (idle left out), ms of CPU, most first: which daemon, which process. */
  top: Array<{ comm: string; ms: number }>;
}

/** How many command names a window's `top` lists. */
export const TOP_COMMANDS = 6;

// The daemons of this node and its control plane, by their thread's command name (15 characters
// at most, as the kernel keeps it).
const CONTROL_PLANE = /^(etcd|kube-apiserver|kube-controller|kube-scheduler|kubelet|kube-proxy|containerd|containerd-shim|runc|coredns)/;
const KERNEL = /^(ksoftirqd|kworker|rcu_|migration|kthreadd|irq\/|jbd2|kcompactd|kdamond|kswapd)/;

/**
 * A thread's group: by its id when it is a known reporter's or this process's thread (read from
 * /proc before the heal, since a reporter hands over and its threads are gone when this runs),
 * else by its command name. agnhost is the target's server (the pods' own app containers run
 * agnhost's pause, which sleeps throughout).
 */
export function groupOf(tid: number, comm: string, known: { reporters: Set<number>; bench: Set<number> }): Group {
  if (tid === 0) return 'idle';
  if (known.reporters.has(tid)) return 'reporters';
  if (known.bench.has(tid)) return 'bench';
  if (comm === 'agnhost') return 'target';
  if (CONTROL_PLANE.test(comm)) return 'controlPlaneAndNode';
  if (KERNEL.test(comm)) return 'kernel';
  return 'other';
}

// "<comm>-<tid> [cpu] <flags> <seconds>: sched_switch: prev_comm=… ==> next_comm=<comm> next_pid=<tid> next_prio=…"
const SWITCH = /\[(\d+)\]\s+\S+\s+(\d+\.\d+): sched_switch: .* ==> next_comm=(.*) next_pid=(\d+) next_prio=/;

/**
 * On-CPU time per group in each window [from, to) (ms after `zero`), from a sched_switch trace.
 * Pure (exported for its test). A CPU's time before its first switch in the trace is unknown
 * and counted nowhere, so a window that starts before the trace has less than its full width.
 */
export function coresAfter(trace: string, wallMs: (seconds: string) => number, zero: number, windows: Array<[number, number]>,
  group: (tid: number, comm: string) => Group): CoresWindow[] {
  const out = windows.map(([fromMs, toMs]) => ({ fromMs, toMs, busyPercent: 0, ms: Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>, tracedPercent: 0, top: [] as CoresWindow['top'] }));
  const byComm = windows.map(() => new Map<string, number>());
  const running = new Map<number, { since: number; group: Group; comm: string }>();
  const credit = (r: { since: number; group: Group; comm: string }, b: number) => {
    out.forEach((w, i) => {
      const lo = Math.max(r.since, w.fromMs);
      const hi = Math.min(b, w.toMs);
      if (hi <= lo) return;
      w.ms[r.group] += hi - lo;
      if (r.group !== 'idle') byComm[i]!.set(r.comm, (byComm[i]!.get(r.comm) ?? 0) + hi - lo);
    });
  };
  let last = -Infinity;
  for (const line of trace.split('\n')) {
    const m = SWITCH.exec(line);
    if (!m) continue;
    const cpu = Number(m[1]);
    const at = wallMs(m[2]!) - zero;
    last = Math.max(last, at);
    const before = running.get(cpu);
    if (before) credit(before, at);
    running.set(cpu, { since: at, group: group(Number(m[4]), m[3]!), comm: m[3]! });
  }
  for (const r of running.values()) credit(r, last);
  out.forEach((w, i) => {
    w.top = [...byComm[i]!].sort((a, b) => b[1] - a[1]).slice(0, TOP_COMMANDS).map(([comm, ms]) => ({ comm, ms: Math.round(ms * 10) / 10 }));
  });
  // The CPUs are the trace's header's (#P:N), else those seen switching.
  const cpus = Number(/#P:(\d+)/.exec(trace)?.[1] ?? 0) || running.size;
  for (const w of out) {
    const all = GROUPS.reduce((s, g) => s + w.ms[g], 0);
    w.tracedPercent = cpus > 0 && w.toMs > w.fromMs ? Math.round((all / (cpus * (w.toMs - w.fromMs))) * 1000) / 10 : 0;
    w.busyPercent = all > 0 ? Math.round(((all - w.ms.idle) / all) * 1000) / 10 : 0;
    for (const g of GROUPS) w.ms[g] = Math.round(w.ms[g] * 10) / 10;
  }
  return out;
}

export interface SchedTrace {
  /** Stops recording, keeping what is recorded for finish(). */
  pause(): Promise<void>;
  /** The windows' split, once the trace is no longer needed (it is stopped and removed; not read when no window is asked for). */
  finish(zero: number, windows: Array<[number, number]>, group: (tid: number, comm: string) => Group): Promise<CoresWindow[]>;
}

/**
 * Starts recording every context switch on the node, in a trace instance of its own named for
 * `what`, with `bufferKb` of ring buffer per CPU (when full, the oldest switches go); or says why
 * it cannot.
 */
export async function traceSwitches(what: string, bufferKb: number): Promise<SchedTrace | { unavailable: string }> {
  const trace = await traceInstance(`dpready-bench-sched-${what}-${process.pid}`, { bufferKb });
  if ('unavailable' in trace) return trace;
  try {
    await trace.enable('sched/sched_switch', '0');
  } catch (err) {
    await trace.stop();
    return { unavailable: `tracefs would not trace sched_switch: ${(err as Error).message}` };
  }
  return {
    pause: () => trace.pause(),
    async finish(zero, windows, group) {
      try {
        if (windows.length === 0) return [];
        await trace.pause();
        return coresAfter(await trace.read(), trace.wallMs, zero, windows, group);
      } finally {
        await trace.stop();
      }
    },
  };
}
