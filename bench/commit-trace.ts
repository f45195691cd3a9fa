// The kernel's own instant of a ruleset commit, as the truth for "the path healed": the
// nftables batch that `iptables-restore` sends is applied inside its sendmsg(2), so the commit
// lies between that syscall's entry and exit (tracefs syscall events, filtered to the one
// process; 88 µs apart by hand). `nft monitor`'s report of the same commit is read by the
// benchmark's own event loop, which on the loaded node stamped it up to 79 ms after
// reporters' SYNs had already got through (2026-12-05-888f9e1.json).
import { traceInstance } from './tracefs.ts';

/** The syscall that carried the batch: the commit is within [enter, exit], wall-clock ms. */
export interface Commit { enter: number; exit: number }

export interface CommitTrace {
  /** The last sendmsg of the process (its batch; the sends before it are the cache's queries). */
  commit(): Promise<Commit | undefined>;
  stop(): Promise<void>;
}

/** Starts recording the sendmsg calls of process `pid`; or says why it cannot. */
export async function traceCommit(pid: number): Promise<CommitTrace | { unavailable: string }> {
  const trace = await traceInstance(`dpready-bench-commit-${process.pid}`);
  if ('unavailable' in trace) return trace;
  try {
    await trace.enable('syscalls/sys_enter_sendmsg', `common_pid == ${pid}`);
    await trace.enable('syscalls/sys_exit_sendmsg', `common_pid == ${pid}`);
  } catch (err) {
    await trace.stop();
    return { unavailable: `tracefs would not trace sendmsg: ${(err as Error).message}` };
  }
  return {
    async commit() {
      // "<comm>-<pid> [cpu] <flags> <seconds>: sys_sendmsg(fd: 3, …)" and "…: sys_sendmsg -> 0x180"
      let enter: number | undefined;
      let last: Commit | undefined;
      for (const m of (await trace.read()).matchAll(/\s(\d+\.\d+): sys_sendmsg(\(| -> )/g)) {
        if (m[2] === '(') enter = trace.wallMs(m[1]!);
        else if (enter !== undefined) last = { enter, exit: trace.wallMs(m[1]!) };
      }
      return last;
    },
    stop: () => trace.stop(),
  };
}
