// .ci/run sets CI=true itself: under it, tests that would skip on a machine that cannot run
// them (real node, chromium, IPv6) fail instead, whatever the CI runner's environment says.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './support/temp-dir.ts';

test('.ci/run exports CI=true to npm ci and npm test, even from an environment without it', () => {
  const bin = tempDir('ci');
  const seen = join(bin, 'seen');
  // A stand-in npm that records what it was asked to run and the CI it saw.
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\necho "$* CI=$CI" >> "${seen}"\n`);
  chmodSync(join(bin, 'npm'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  delete env.CI;
  execFileSync('bash', [fileURLToPath(new URL('../.ci/run', import.meta.url))], { env, stdio: 'ignore' });
  assert.deepEqual(readFileSync(seen, 'utf8').trim().split('\n'), ['ci CI=true', 'test CI=true']);
});
