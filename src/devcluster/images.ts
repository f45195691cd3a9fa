// Finds the real node's images (pause, the agnhost stand-in, dpready from the Dockerfile),
// building them on first use with test/controlplane/images.sh, which caches them by their
// inputs and takes a lock, as binaries.ts does for the control-plane binaries.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DpreadyError } from '../errors.ts';

const IMAGES_SCRIPT = fileURLToPath(new URL('../../test/controlplane/images.sh', import.meta.url));

export function ensureImages(binDir: string, log: (line: string) => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [IMAGES_SCRIPT, binDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) log(line.trim());
    });
    child.on('error', (e) => reject(new DpreadyError('DPR_CONTROL_PLANE', `cannot run ${IMAGES_SCRIPT}: ${e.message}`, { cause: e })));
    child.on('exit', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new DpreadyError('DPR_CONTROL_PLANE', `building the real node's images failed (exit ${code}):\n${err.slice(-4000)}`));
    });
  });
}
