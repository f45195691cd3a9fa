// The reporter's bundle loads only what it runs: nothing from node_modules (no fastify, zod,
// pino, yaml, client-node or undici), only src/ and Node's own modules.
import assert from 'node:assert/strict';
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
  const bytes = result.outputFiles![0]!.contents.byteLength;
  assert.ok(bytes < 100 * 1024, `${bytes} bytes`);
});
