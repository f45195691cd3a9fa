// The kernel's own instant of each execve of a program, from tracefs (the sched_process_exec
// event), as a truth for "the container started its command" that does not depend on any
// user-space process being scheduled: containerd writes a container's StartedAt after the
// task's start RPC returns, and on a loaded node that record lands up to hundreds of ms away
// from the moment the kernel ran the command (2026-12-05-d38fa52.json: −360..+236 ms).
//
// A tracing instance of its own (instances/NAME), so the machine's global trace settings are
// left alone, with the `mono` clock: CLOCK_MONOTONIC, the clock of process.hrtime, so one
// offset measured here turns the kernel's stamps into wall-clock ms.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const TRACEFS = '/sys/kernel/tracing';

/** One exec: its pid (in the node's PID namespace) and its wall-clock instant, ms. */
export interface Exec { pid: number; at: number }

export interface ExecTrace {
  /** Every exec of the program so far. */
  execs(): Promise<Exec[]>;
  stop(): Promise<void>;
}

/** Wall-clock ms − CLOCK_MONOTONIC ms, from the closest of a few paired readings. */
function monotonicToWall(): number {
  let best = { spread: Infinity, offset: 0 };
  for (let i = 0; i < 20; i++) {
    const a = process.hrtime.bigint();
    const wall = Date.now();
    const b = process.hrtime.bigint();
    const spread = Number(b - a);
    if (spread < best.spread) best = { spread, offset: wall - Number((a + b) / 2n) / 1e6 };
  }
  return best.offset;
}

/** Starts recording execs of files whose path ends in `/program`; or says why it cannot. */
export async function traceExecs(program: string): Promise<ExecTrace | { unavailable: string }> {
  const dir = join(TRACEFS, 'instances', `dpready-bench-${process.pid}`);
  try {
    await mkdir(dir);
  } catch (err) {
    return { unavailable: `no tracefs instance at ${dir}: ${(err as Error).message}` };
  }
  const event = join(dir, 'events', 'sched', 'sched_process_exec');
  try {
    await writeFile(join(dir, 'trace_clock'), 'mono');
    await writeFile(join(event, 'filter'), `filename ~ "*/${program}"`);
    await writeFile(join(event, 'enable'), '1');
  } catch (err) {
    await rmdir(dir).catch(() => {});
    return { unavailable: `tracefs would not trace sched_process_exec: ${(err as Error).message}` };
  }
  const offset = monotonicToWall();
  return {
    async execs() {
      const text = await readFile(join(dir, 'trace'), 'utf8');
      // "<comm>-<pid> [cpu] <flags> <seconds>: sched_process_exec: filename=… pid=N old_pid=N"
      return [...text.matchAll(/\s(\d+\.\d+): sched_process_exec: filename=\S+ pid=(\d+) /g)].map((m) => ({
        pid: Number(m[2]), at: Number(m[1]) * 1000 + offset,
      }));
    },
    async stop() {
      await writeFile(join(event, 'enable'), '0').catch(() => {});
      await rmdir(dir).catch(() => {});
    },
  };
}
