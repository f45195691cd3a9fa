// The controller's bundle (dist/controller.js, scripts/bundle-controller.ts): its start-up loads
// neither client-node nor node-forge (they are for exec plugins, auth providers and the webhook,
// loaded when used), takes Node's built-ins with require(), and still runs an exec credential
// plugin through client-node when the kubeconfig has one.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { build, type Metafile } from 'esbuild';
import { CONTROLLER_BUNDLE, CONTROLLER_EXTERNAL } from '../scripts/bundle-controller.ts';
import { ESM_BUNDLE } from '../scripts/bundle-reporter.ts';
import { startFakeApiServer } from '../bench/fake-apiserver.ts';
import { freePort } from '../bench/ports.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAZY = ['@kubernetes/client-node', 'node-forge'];

/** The entry's output and every chunk it imports statically: what `dpready controller` loads at start. */
function startupOutputs(meta: Metafile): string[] {
  const outputs = meta.outputs;
  const entry = Object.keys(outputs).find((k) => outputs[k]!.entryPoint === 'src/controller/main.ts')!;
  const seen = new Set([entry]);
  for (const f of seen) {
    for (const i of outputs[f]!.imports) if (!i.external && i.kind === 'import-statement') seen.add(i.path);
  }
  return [...seen];
}

describe('the controller bundle', () => {
  let meta: Metafile;
  before(async () => {
    meta = (await build({ ...CONTROLLER_BUNDLE, write: false, metafile: true, outdir: join(ROOT, 'dist') })).metafile;
  });

  test('client-node and node-forge are left out, and the start-up chunks do not import them', () => {
    assert.deepEqual(CONTROLLER_EXTERNAL.filter((p) => LAZY.includes(p)), LAZY);
    const bundledLazy = Object.keys(meta.inputs).filter((f) => LAZY.some((p) => f.includes(`node_modules/${p}/`)));
    assert.deepEqual(bundledLazy, []);
    const startup = startupOutputs(meta);
    for (const f of startup) {
      const lazy = meta.outputs[f]!.imports.filter((i) => LAZY.includes(i.path) && i.kind !== 'dynamic-import');
      assert.deepEqual(lazy, [], `${f} imports ${lazy.map((i) => i.path).join(', ')} at start-up`);
      const inputs = Object.keys(meta.outputs[f]!.inputs);
      for (const webhookOnly of ['src/webhook/adoption.ts', 'src/webhook/certs.ts']) assert.ok(!inputs.includes(webhookOnly), `${webhookOnly} in ${f}`);
    }
    // The webhook's chunk is where they are imported: loaded with --webhook only.
    const webhook = Object.entries(meta.outputs).find(([, o]) => Object.keys(o.inputs).includes('src/webhook/adoption.ts'));
    assert.ok(webhook && !startup.includes(webhook[0]), 'the webhook in a chunk of its own');
    assert.deepEqual([...new Set(webhook[1].imports.filter((i) => LAZY.includes(i.path)).map((i) => i.path))].sort(), [...LAZY].sort());
  });

  test('Node\'s built-ins are required, never imported as ES modules (an ES import of node:http loads Node\'s bundled undici)', () => {
    for (const [f, o] of Object.entries(meta.outputs)) {
      const esBuiltins = o.imports.filter((i) => i.external && i.kind === 'import-statement' && !CONTROLLER_EXTERNAL.includes(i.path));
      assert.deepEqual(esBuiltins.map((i) => i.path), [], f);
    }
    const fastify = Object.keys(meta.inputs).some((f) => f.includes('node_modules/fastify/'));
    assert.ok(fastify, 'the libraries are bundled');
  });
});

describe('the built CLI runs `controller` from the bundle', () => {
  // Under node_modules, as in the image: the external packages resolve from there.
  const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache-dpready-controller-bundle-'));
  const cli = join(dir, 'cli.js');
  before(async () => {
    await build({ ...CONTROLLER_BUNDLE, outdir: dir, sourcemap: false });
    await build({ ...ESM_BUNDLE, entryPoints: ['src/cli.ts'], outfile: cli, external: ['./controller/main.ts', './reporter/main.ts', './devcluster/*', './api/*'] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--help exits 0 with the controller\'s usage', () => {
    const r = spawnSync(process.execPath, [cli, 'controller', '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--shutdown-delay/);
  });

  test('an exec credential plugin in the kubeconfig: client-node is loaded and runs it, and the controller syncs with its token', async () => {
    const api = await startFakeApiServer();
    const calls = join(dir, 'calls');
    const plugin = join(dir, 'credential.sh');
    writeFileSync(plugin, `#!/bin/sh\necho run >> '${calls}'\ncat <<'EOF'\n${JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-the-plugin', expirationTimestamp: new Date(Date.now() + 3_600_000).toISOString() },
    })}\nEOF\n`);
    chmodSync(plugin, 0o755);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      // client-node refuses plain HTTP unless TLS verification is off (the fake serves HTTP).
      apiVersion: 'v1', kind: 'Config', 'current-context': 'x', clusters: [{ name: 'c', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    }));
    const port = await freePort();
    let output = '';
    const child = spawn(process.execPath, [cli, 'controller', `--kubeconfig=${kubeconfig}`, `--listen=127.0.0.1:${port}`,
      '--namespace=t', '--results-namespace=t', '--shutdown-delay=0s', '--log-level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => { output += d.toString(); });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
        if (ok) break;
        assert.ok(Date.now() < deadline && child.exitCode === null, `not ready: ${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(readFileSync(calls, 'utf8').includes('run'), 'the plugin ran');
      assert.ok(api.authorizations.has('Bearer from-the-plugin'), [...api.authorizations].join(', '));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await api.close();
    }
  });

  test('the webhook\'s chunk loads (client-node and node-forge resolve from beside it)', async () => {
    const chunk = (await import('node:fs')).readdirSync(dir).find((f) => f.startsWith('controller-adoption-'));
    assert.ok(chunk, 'a chunk for the webhook');
    const mod = await import(pathToFileURL(join(dir, chunk)).href) as Record<string, unknown>;
    assert.ok(Object.values(mod).some((v) => typeof v === 'function'), 'it exports the webhook');
  });
});
