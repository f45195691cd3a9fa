// Sidecar mode after the work is done: the reporter's memory goes back to the node, but the
// container must stay up, because the kubelet restarts a native sidecar (restartPolicy Always)
// that exits. So the process replaces itself (execve: same PID, same container, nothing of Node
// left) with a shell that waits on a `sleep` and exits 0 on SIGTERM, as the reporter did. As
// PID 1 of its container the shell only gets signals it traps, so the trap is what lets the pod
// terminate at once instead of after its grace period. Its log line on SIGTERM keeps the
// reporter's JSON form.
import { accessSync, constants } from 'node:fs';

export interface Waiter { file: string; args: string[] }

const SHELLS = ['/bin/sh'];
const SLEEPS = ['/bin/sleep', '/usr/bin/sleep'];

/** The waiter's command line for a shell and a sleep binary (pure; tested as such). */
export function waiterCommand(sh: string, sleep: string): Waiter {
  const line = JSON.stringify({ level: 'info', component: 'reporter', msg: 'signal received; stopping' }).replace(/'/g, '');
  // `sleep & wait`: a shell runs traps only between commands, and `wait` is one it interrupts.
  // The sleep goes with the shell: killed explicitly, as the shell may not be its PID namespace's init.
  const script = `trap 'kill $p 2>/dev/null; echo '"'"'${line}'"'"' >&2; exit 0' TERM INT; ${sleep} 2147483647 & p=$!; wait $p`;
  return { file: sh, args: [sh, '-c', script] };
}

function firstExecutable(paths: string[]): string | undefined {
  return paths.find((p) => {
    try { accessSync(p, constants.X_OK); return true; } catch { return false; }
  });
}

/**
 * The waiter this image can run, or why not. Checked before execve because a failed
 * process.execve aborts Node rather than throwing.
 */
export function findWaiter(): Waiter | { missing: string } {
  const sh = firstExecutable(SHELLS);
  const sleep = firstExecutable(SLEEPS);
  if (!sh || !sleep) return { missing: `${sh ? '' : SHELLS.join(' or ')}${!sh && !sleep ? ' and ' : ''}${sleep ? '' : SLEEPS.join(' or ')}` };
  return waiterCommand(sh, sleep);
}

/** Replaces this process with the waiter: never returns (a failed execve aborts Node, hence findWaiter). */
export function handOver(waiter: Waiter, env: NodeJS.ProcessEnv = process.env): void {
  process.execve!(waiter.file, waiter.args, env as Record<string, string>);
}
