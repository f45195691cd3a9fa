// The kernel's own instant of each execve of a program, from tracefs (the sched_process_exec
// event), as a truth for "the container started its command" that does not depend on any
// user-space process being scheduled: containerd writes a container's StartedAt after the
// task's start RPC returns, and on a loaded node that record lands up to hundreds of ms away
// from the moment the kernel ran the command (2026-12-05-d38fa52.json: −360..+236 ms).
import { traceInstance } from '../src/devcluster/tracefs.ts';

/** One exec: its pid (in the node's PID namespace), the file it ran and its wall-clock instant, ms. */
export interface Exec { pid: number; file: string; at: number }

export interface ExecTrace {
  /** Every exec of the programs so far, in order. */
  execs(): Promise<Exec[]>;
  stop(): Promise<void>;
}

/** Starts recording execs of files whose path ends in `/<one of programs>`; or says why it cannot. */
export async function traceExecs(programs: string[]): Promise<ExecTrace | { unavailable: string }> {
  const trace = await traceInstance(`dpready-bench-exec-${process.pid}`);
  if ('unavailable' in trace) return trace;
  try {
    await trace.enable('sched/sched_process_exec', programs.map((p) => `filename ~ "*/${p}"`).join(' || '));
  } catch (err) {
    await trace.stop();
    return { unavailable: `tracefs would not trace sched_process_exec: ${(err as Error).message}` };
  }
  return {
    async execs() {
      // "<comm>-<pid> [cpu] <flags> <seconds>: sched_process_exec: filename=… pid=N old_pid=N"
      return [...(await trace.read()).matchAll(/\s(\d+\.\d+): sched_process_exec: filename=(\S+) pid=(\d+) /g)].map((m) => ({
        pid: Number(m[3]), file: m[2]!, at: trace.wallMs(m[1]!),
      }));
    },
    stop: () => trace.stop(),
  };
}
