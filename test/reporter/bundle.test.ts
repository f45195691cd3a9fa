// The reporter's bundle loads only what it runs: nothing from node_modules (no fastify, zod,
// pino, yaml, client-node or undici), only src/ and Node's own modules.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';

import { REPORTER_BUNDLE } from '../../scripts/bundle-reporter.ts';

test('dist/reporter.js is built from src/ alone, small, with Node built-ins left as imports', async () => {
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
  // node:http and node:https come through process.getBuiltinModule: an ES import of either
  // reads every export, which loads Node's bundled undici (65-75 ms of every pod's start-up).
  const esImported = Object.values(result.metafile.outputs)[0]!.imports.filter((i) => ['node:http', 'node:https', 'node:tls'].includes(i.path));
  assert.deepEqual(esImported.map((i) => `${i.kind} ${i.path}`), []);
  const bytes = result.outputFiles![0]!.contents.byteLength;
  assert.ok(bytes < 100 * 1024, `${bytes} bytes`);
});

test('the CLI routes `reporter` to the bundle, and a bad configuration still exits 2 with its message', async () => {
  // Two copies of errors.ts, as in the image: the CLI's and the bundle's own.
  const dir = await mkdtemp(join(tmpdir(), 'dpready-bundle-'));
  try {
    await build({ ...REPORTER_BUNDLE, outfile: join(dir, 'reporter.js') });
    await build({ ...REPORTER_BUNDLE, entryPoints: ['src/cli.ts'], outfile: join(dir, 'cli.js'), external: ['./reporter/main.ts'] });
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [join(dir, 'cli.js'), 'reporter'], { env: { MY_POD_NAME: 'p' } }, (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
    });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /^dpready: DPR_BAD_CONFIG: MY_POD_NAMESPACE is not set/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
