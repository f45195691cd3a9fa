// The reporter's bundle loads only what it runs: nothing from node_modules (no fastify, zod,
// pino, yaml, client-node or undici), only src/ and Node's own modules.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';

import { ENTRY_BUNDLE, ESM_BUNDLE, REPORTER_BUNDLE } from '../../scripts/bundle-reporter.ts';

test('dist/reporter.cjs is built from src/ alone, small, with Node built-ins left as requires', async () => {
  const result = await build({ ...REPORTER_BUNDLE, write: false, metafile: true });
  const inputs = Object.keys(result.metafile.inputs);
  assert.deepEqual(inputs.filter((f) => f.includes('node_modules')), []);
  assert.ok(inputs.every((f) => f.startsWith('src/')), inputs.join(', '));
  // The modules the reporter needs and nothing of the controller's.
  for (const f of ['src/reporter/main.ts', 'src/reporter/kube-pod-api.ts', 'src/reporter/controller-api.ts', 'src/kube/https-call.ts', 'src/contract-names.ts']) {
    assert.ok(inputs.includes(f), `${f} in the bundle`);
  }
  for (const f of ['src/contract.ts', 'src/kube/raw-request.ts', 'src/controller/main.ts']) assert.ok(!inputs.includes(f), `${f} not in the bundle`);
  const imports = Object.values(result.metafile.outputs)[0]!.imports.map((i) => i.path);
  assert.ok(imports.every((p) => p.startsWith('node:')), imports.join(', '));
  // node:http and node:https come through process.getBuiltinModule: an import of either reads
  // every export, which loads Node's bundled undici (65-75 ms of every pod's start-up).
  const esImported = Object.values(result.metafile.outputs)[0]!.imports.filter((i) => ['node:http', 'node:https', 'node:tls'].includes(i.path));
  assert.deepEqual(esImported.map((i) => `${i.kind} ${i.path}`), []);
  const bytes = result.outputFiles![0]!.contents.byteLength;
  assert.ok(bytes < 100 * 1024, `${bytes} bytes`);
});

/** The image's dist/: the reporter's bundle, the entrypoint and the CLI (its other modules left out). */
async function builtDist(dir: string): Promise<void> {
  // Two copies of errors.ts, as in the image: the CLI's and the bundle's own.
  await build({ ...REPORTER_BUNDLE, outfile: join(dir, 'reporter.cjs') });
  await build({ ...ENTRY_BUNDLE, outfile: join(dir, 'entry.cjs') });
  await build({ ...ESM_BUNDLE, entryPoints: ['src/cli.ts'], outfile: join(dir, 'cli.js'), external: ['./reporter/main.ts', './controller/main.ts', './devcluster/*', './api/*', './build-info.ts'] });
}

function runNode(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { env }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

test('the entrypoint and the CLI route `reporter` to the bundle, and a bad configuration still exits 2 with its message', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dpready-bundle-'));
  try {
    await builtDist(dir);
    for (const entry of ['entry.cjs', 'cli.js']) {
      const out = await runNode([join(dir, entry), 'reporter'], { MY_POD_NAME: 'p' });
      assert.equal(out.code, 2, `${entry}: ${out.stderr}`);
      assert.match(out.stderr, /^dpready: DPR_BAD_CONFIG: MY_POD_NAMESPACE is not set/, entry);
    }
    // Every other command reaches the CLI.
    const usage = await runNode([join(dir, 'entry.cjs'), '--help'], {});
    assert.equal(usage.code, 0, usage.stderr);
    assert.match(usage.stdout, /^usage: dpready <command>/);
    const none = await runNode([join(dir, 'entry.cjs')], {});
    assert.equal(none.code, 64, none.stderr);
    assert.match(none.stderr, /DPR_USAGE: no command given/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('through the entrypoint the reporter reaches its first attempt without the ES module loader', async () => {
  // The ES module loader costs each pod's start-up CPU: its own internals are compiled at every
  // start (src/entry.ts). NODE_DEBUG=esm prints a line for each module it loads.
  const dir = await mkdtemp(join(tmpdir(), 'dpready-bundle-'));
  try {
    await builtDist(dir);
    const env = { NODE_DEBUG: 'esm', MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'n', PROBE_TARGET: 'tcp://127.0.0.1:1', PROBE_TIMEOUT: '50ms', PROBE_MODE: 'init', DPREADY_SERVICEACCOUNT_DIR: join(dir, 'none') };
    const out = await runNode([join(dir, 'entry.cjs'), 'reporter'], env);
    assert.match(out.stdout + out.stderr, /first probe attempt/);
    assert.doesNotMatch(out.stderr, /^ESM /m);
    // The check can fail: through the CLI, an ES module, the loader's lines are there.
    const viaCli = await runNode([join(dir, 'cli.js'), 'reporter'], env);
    assert.match(viaCli.stdout + viaCli.stderr, /first probe attempt/);
    assert.match(viaCli.stderr, /^ESM /m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
