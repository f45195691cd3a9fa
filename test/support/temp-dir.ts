// A temporary directory removed when the test process exits. Each test file runs in its own
// process, so a suite run leaves nothing in /tmp (before, every run left about 30 directories:
// kubeconfigs, ServiceAccount tokens, compiled helpers).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new directory under the system's temporary directory, named dpready-<purpose>-XXXXXX. */
export function tempDir(purpose: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dpready-${purpose}-`));
  made.push(dir);
  return dir;
}
