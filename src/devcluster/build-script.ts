// Runs one of test/controlplane/'s build scripts (binaries, images): each caches its output by
// its inputs, takes a lock, logs progress on stderr and prints the output directory last.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DpreadyError } from '../errors.ts';

export function runBuildScript(script: string, args: string[], what: string, log: (line: string) => void): Promise<string> {
  if (!existsSync(script)) {
    return Promise.reject(new DpreadyError('DPR_CONTROL_PLANE',
      `cannot build ${what}: ${script} is missing (run from a clone of the dpready repository)`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) log(line.trim());
    });
    child.on('error', (e) => reject(new DpreadyError('DPR_CONTROL_PLANE', `cannot run ${script}: ${e.message}`, { cause: e })));
    child.on('exit', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new DpreadyError('DPR_CONTROL_PLANE', `building ${what} failed (exit ${code}):\n${err.slice(-4000)}`));
    });
  });
}
