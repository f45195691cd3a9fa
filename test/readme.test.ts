// README's first code block, run verbatim in a fresh clone, as a new user would: the install
// (npm ci, from the registry), the build and the type check, lint and a test file are real; only
// the cluster part is skipped (DPREADY_SKIP_CLUSTER=1: no control plane is built or started) and
// the test run is narrowed to one quick file (DPREADY_TESTS), so this does not re-run the suite.
// Before issue 21 the block began with a bare `npm run demo`, which failed with `tsc: not found`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The first ```sh block of README.md, as written. */
export function firstCodeBlock(readme: string): string {
  const m = /```sh\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no ```sh code block');
  return m[1]!;
}

// The clone must not borrow anything from this checkout: no node_modules/.bin on PATH (the
// original failure was a missing tsc), no npm_* or NODE_OPTIONS inherited from `npm test`, and
// no NODE_TEST_CONTEXT (with it, the clone's test runner would think it is nested and run nothing).
function freshEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'NODE_OPTIONS' || k === 'INIT_CWD' || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules')).join(delimiter);
  return { ...env, DPREADY_SKIP_CLUSTER: '1', DPREADY_TESTS: 'test/contract.test.ts' };
}

test('README\'s first code block works verbatim in a fresh clone (cluster part skipped)', {
  skip: process.env.DPREADY_SKIP_CLUSTER === '1' ? 'already inside a README run' : false, timeout: 20 * 60_000,
}, async (t) => {
  const block = firstCodeBlock(await readFile(join(ROOT, 'README.md'), 'utf8'));
  const dir = await mkdtemp(join(tmpdir(), 'dpready-readme-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const clone = join(dir, 'dpready');
  // A clone of the committed tree: what a new user gets, nothing untracked or built.
  await run('git', ['clone', '--quiet', ROOT, clone]);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', block], { cwd: clone, env: freshEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d; });
    child.stderr.on('data', (d: Buffer) => { output += d; });
    child.on('close', (c) => resolve({ code: c, output }));
  });
  assert.equal(code, 0, `README's block failed in a fresh clone:\n${block}\n--- output (last 4000 chars) ---\n${output.slice(-4000)}`);
  assert.match(output, /added \d+ packages/, 'npm ci installed the dependencies');
  assert.match(output, /dpready demo: DPREADY_SKIP_CLUSTER=1/, 'the demo ran from the build');
  assert.match(output, /(#|ℹ) pass [1-9]/, 'the test command ran tests');
  assert.match(output, /(#|ℹ) fail 0/);
});
