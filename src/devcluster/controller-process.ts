// Runs `dpready controller` as its own process against a local control plane, the way a user
// runs it: by default from the compiled CLI (dist/cli.js), with a kubeconfig of its own.
import { join } from 'node:path';
import { fetch } from 'undici';
import { DpreadyError } from '../errors.ts';
import { cliCommand } from './cli-command.ts';
import type { ControlPlane } from './control-plane.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

export interface ControllerProcess {
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startControllerProcess(cp: ControlPlane, opts: {
  kubeconfig: string; port: number; args?: string[]; built?: boolean; name?: string;
  /** Added to this process' environment (e.g. NODE_OPTIONS as the Deployment sets it). */
  env?: Record<string, string>;
}): Promise<ControllerProcess> {
  const [cmd, ...pre] = cliCommand({ built: opts.built });
  const url = `http://127.0.0.1:${opts.port}`;
  const proc = startProcess(opts.name ?? 'dpready-controller', cmd!, [...pre, 'controller',
    `--kubeconfig=${opts.kubeconfig}`, `--listen=127.0.0.1:${opts.port}`, ...(opts.args ?? [])],
    join(cp.dir, `${opts.name ?? 'dpready-controller'}.log`), { ...process.env, ...opts.env });
  const deadline = Date.now() + 60_000;
  let exited = false;
  void proc.exited.then(() => { exited = true; });
  for (;;) {
    if (exited) throw new DpreadyError('DPR_CONTROL_PLANE', `dpready controller exited during start-up:\n${proc.tail()}`);
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new DpreadyError('DPR_CONTROL_PLANE', `dpready controller not ready after 60 s:\n${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, process: proc, stop: () => proc.stop() };
}
