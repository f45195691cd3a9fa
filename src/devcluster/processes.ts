// Child processes of the local control plane. Each runs in its own process group with its
// output in a log file. None outlives this process: an exit hook kills them, and each is
// started under `setpriv --pdeathsig SIGKILL`, so the kernel kills it even when this process
// is itself killed (a test runner's timeout), which no exit hook survives.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, signal); } catch { /* already gone */ }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => { for (const c of live) killGroup(c, 'SIGKILL'); });
}

export interface ManagedProcess {
  name: string;
  logFile: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  tail(lines?: number): string;
  exited: Promise<number | null>;
}

export function startProcess(name: string, command: string, args: string[], logFile: string,
  env: NodeJS.ProcessEnv = process.env): ManagedProcess {
  installExitHooks();
  const fd = openSync(logFile, 'a');
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args], { stdio: ['ignore', fd, fd], detached: true, env });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => { live.delete(child); resolve(code); });
    child.once('error', () => { live.delete(child); resolve(null); });
  });
  const tail = (lines = 30) => {
    try { return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return ''; }
  };
  return {
    name, logFile, child, exited, tail,
    async stop(graceMs = 5_000) {
      if (!live.has(child)) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
