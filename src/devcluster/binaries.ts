// Finds the control-plane binaries, building them on first use. The Go build and its cache
// (keyed by go.mod + go.sum, outside the repo) live in test/controlplane/build.sh, which
// takes a lock so parallel test files wait for one build instead of starting two.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DpreadyError } from '../errors.ts';

const BUILD_SCRIPT = fileURLToPath(new URL('../../test/controlplane/build.sh', import.meta.url));

let cached: Promise<string> | undefined;

export function ensureBinaries(log: (line: string) => void = () => {}): Promise<string> {
  cached ??= build(log);
  return cached;
}

function build(log: (line: string) => void): Promise<string> {
  if (!existsSync(BUILD_SCRIPT)) {
    return Promise.reject(new DpreadyError('DPR_CONTROL_PLANE',
      `cannot build the local control plane: ${BUILD_SCRIPT} is missing (run from a clone of the dpready repository)`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) log(line.trim());
    });
    child.on('error', (e) => reject(new DpreadyError('DPR_CONTROL_PLANE', `cannot run ${BUILD_SCRIPT}: ${e.message}`, { cause: e })));
    child.on('exit', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new DpreadyError('DPR_CONTROL_PLANE', `building the control plane failed (exit ${code}):\n${err.slice(-4000)}`));
    });
  });
}
