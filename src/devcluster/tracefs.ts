// A tracefs instance of our own (instances/NAME), so the machine's global trace settings
// are left alone, with the `mono` clock: CLOCK_MONOTONIC, the clock of process.hrtime, so one
// offset measured here turns the kernel's stamps into wall-clock ms. Used for the kernel's own
// instants, which no user-space process has to be scheduled to take (exec-trace.ts,
// commit-trace.ts).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { wallMinusMonotonic } from '../reporter/wall-offset.ts';

const TRACEFS = '/sys/kernel/tracing';

export interface TraceInstance {
  /** Enables `events/<event>` (such as sched/sched_process_exec) with this filter. */
  enable(event: string, filter: string): Promise<void>;
  /** The trace so far, its stamps (`<seconds>:` after the flags) already in CLOCK_MONOTONIC. */
  read(): Promise<string>;
  /**
   * Stops recording, keeping what is recorded. A trace of context switches must be paused before
   * it is read: the reader's own switches extend it as fast as it is read, and the read never ends.
   */
  pause(): Promise<void>;
  /** A stamp of the trace (seconds, CLOCK_MONOTONIC) as wall-clock ms. */
  wallMs(seconds: string): number;
  stop(): Promise<void>;
}

/**
 * Mounts tracefs where systemd would have: a machine without systemd (a CI container) has the
 * empty mount point only, and without it the truths fall back to later, user-space instants.
 */
let mounting: Promise<unknown> | undefined;
function mountTracefs(): Promise<unknown> {
  if (existsSync(join(TRACEFS, 'instances'))) return Promise.resolve();
  mounting ??= promisify(execFile)('mount', ['-t', 'tracefs', 'tracefs', TRACEFS]);
  return mounting;
}

/** Opens instances/`name` with the mono clock (and, given, a ring buffer this large per CPU); or says why it cannot. */
export async function traceInstance(name: string, opts: { bufferKb?: number } = {}): Promise<TraceInstance | { unavailable: string }> {
  const dir = join(TRACEFS, 'instances', name);
  try {
    await mountTracefs();
    await mkdir(dir);
    await writeFile(join(dir, 'trace_clock'), 'mono');
    if (opts.bufferKb !== undefined) await writeFile(join(dir, 'buffer_size_kb'), String(opts.bufferKb));
  } catch (err) {
    await rmdir(dir).catch(() => {});
    return { unavailable: `no tracefs instance at ${dir}: ${(err as Error).message}` };
  }
  const enabled: string[] = [];
  const { offsetMs: offset } = wallMinusMonotonic();
  return {
    async enable(event, filter) {
      await writeFile(join(dir, 'events', event, 'filter'), filter);
      await writeFile(join(dir, 'events', event, 'enable'), '1');
      enabled.push(event);
    },
    read: () => readFile(join(dir, 'trace'), 'utf8'),
    pause: () => writeFile(join(dir, 'tracing_on'), '0'),
    wallMs: (seconds) => Number(seconds) * 1000 + offset,
    async stop() {
      for (const event of enabled) await writeFile(join(dir, 'events', event, 'enable'), '0').catch(() => {});
      await rmdir(dir).catch(() => {});
    },
  };
}
