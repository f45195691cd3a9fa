// The kernel's own instant of a ruleset commit: the nftables batch that `iptables-restore` (or
// `iptables`) sends is applied inside its sendmsg(2), so the commit lies between that syscall's
// entry and exit (tracefs syscall events; 88 µs apart by hand). `nft monitor`'s report of the
// same commit is read by a user-space event loop, which on the loaded node stamped it up to
// 79 ms after reporters' SYNs had already got through (2026-12-05-888f9e1.json), and cut a
// 300-rule transaction in two when nft paused between its lines.
import { traceInstance } from './tracefs.ts';

/** The syscall that carried the batch: the commit is within [enter, exit], wall-clock ms. */
export interface Commit { enter: number; exit: number }

/** One traced sendmsg, wall-clock ms. */
export interface SendmsgCall { pid: number; enter: number; exit: number }

// "<comm>-<pid> [cpu] <flags> <seconds>: sys_sendmsg(fd: 3, …)" and "…: sys_sendmsg -> 0x180"
const LINE = /-(\d+)\s+\[\d+\]\s+\S+\s+(\d+\.\d+): sys_sendmsg(\(| -> )/g;

/** The sendmsg calls in a trace, entry paired with exit per process. Pure (exported for its test). */
export function sendmsgCalls(trace: string, wallMs: (seconds: string) => number): SendmsgCall[] {
  const entered = new Map<number, number>();
  const calls: SendmsgCall[] = [];
  for (const m of trace.matchAll(LINE)) {
    const pid = Number(m[1]);
    if (m[3] === '(') { entered.set(pid, wallMs(m[2]!)); continue; }
    const enter = entered.get(pid);
    if (enter === undefined) continue;
    entered.delete(pid);
    calls.push({ pid, enter, exit: wallMs(m[2]!) });
  }
  return calls;
}

/**
 * The batch of process `pid`: its last sendmsg (the sends before it are the cache's queries),
 * among those that ended by `by` (ms), when given: a later process may reuse the pid.
 */
export function batchOf(calls: SendmsgCall[], pid: number, by = Infinity): Commit | undefined {
  let last: SendmsgCall | undefined;
  for (const c of calls) if (c.pid === pid && c.exit <= by) last = c;
  return last && { enter: last.enter, exit: last.exit };
}

export interface SendmsgTrace {
  calls(): Promise<SendmsgCall[]>;
  stop(): Promise<void>;
}

/**
 * Starts recording the sendmsg calls that match a tracefs filter (`common_pid == 42`, or
 * `comm ~ "iptables*"` for every iptables process to come); or says why it cannot.
 */
export async function traceSendmsg(filter: string): Promise<SendmsgTrace | { unavailable: string }> {
  const trace = await traceInstance(`dpready-sendmsg-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  if ('unavailable' in trace) return trace;
  try {
    await trace.enable('syscalls/sys_enter_sendmsg', filter);
    await trace.enable('syscalls/sys_exit_sendmsg', filter);
  } catch (err) {
    await trace.stop();
    return { unavailable: `tracefs would not trace sendmsg: ${(err as Error).message}` };
  }
  return { calls: async () => sendmsgCalls(await trace.read(), trace.wallMs), stop: () => trace.stop() };
}

export interface CommitTrace {
  /** The last sendmsg of the process (its batch). */
  commit(): Promise<Commit | undefined>;
  stop(): Promise<void>;
}

/** Starts recording the sendmsg calls of process `pid`; or says why it cannot. */
export async function traceCommit(pid: number): Promise<CommitTrace | { unavailable: string }> {
  const trace = await traceSendmsg(`common_pid == ${pid}`);
  if ('unavailable' in trace) return trace;
  return { commit: async () => batchOf(await trace.calls(), pid), stop: () => trace.stop() };
}
