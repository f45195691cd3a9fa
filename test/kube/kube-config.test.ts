import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientNodeUser, KubeConfigLite } from '../../src/kube/kube-config.ts';
import { needsClientNode } from '../../src/kube/kube-auth.ts';
import { tempDir } from '../support/temp-dir.ts';

test('kubeconfig files: fields as client-node names them, relative paths from the file, the first file wins a name', () => {
  const dir = tempDir('kc');
  mkdirSync(join(dir, 'sub'));
  const a = join(dir, 'sub', 'a.yaml');
  writeFileSync(a, `apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c1
  cluster: {server: "https://one:6443/", certificate-authority: ca.pem, tls-server-name: api.local}
users:
- name: u1
  user: {client-certificate: cert.pem, client-key: /abs/key.pem}
contexts:
- name: one
  context: {cluster: c1, user: u1, namespace: perf}
`);
  const b = join(dir, 'b.yaml');
  writeFileSync(b, `current-context: two
clusters:
- name: c1
  cluster: {server: "https://ignored:6443"}
- name: c2
  cluster: {server: "https://two:6443", insecure-skip-tls-verify: true, certificate-authority-data: Q0E=}
users:
- name: u2
  user: {token: t2}
- name: u3
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token}
contexts:
- name: two
  context: {cluster: c2, user: u2}
`);
  const kc = KubeConfigLite.fromFiles([a, b]);
  assert.equal(kc.currentContext, 'one', 'the first current-context set wins');
  assert.deepEqual(kc.getCurrentCluster(), { name: 'c1', server: 'https://one:6443', caFile: join(dir, 'sub', 'ca.pem'), skipTLSVerify: false, tlsServerName: 'api.local' });
  assert.deepEqual(kc.getCurrentUser(), { name: 'u1', certFile: join(dir, 'sub', 'cert.pem'), keyFile: '/abs/key.pem' });
  assert.equal(kc.clusters.length, 2, 'c1 of the second file is dropped');
  assert.equal(kc.clusters[1]!.skipTLSVerify, true);
  assert.equal(kc.clusters[1]!.caData, 'Q0E=');
  assert.deepEqual(kc.users.find((u) => u.name === 'u3')!.exec, { apiVersion: 'client.authentication.k8s.io/v1', command: 'get-token' });
  assert.throws(() => KubeConfigLite.fromFiles([join(dir, 'none.yaml')]), /ENOENT/);
  writeFileSync(join(dir, 'bad.yaml'), 'clusters: [{name: c, cluster: {}}]\n');
  assert.throws(() => KubeConfigLite.fromFiles([join(dir, 'bad.yaml')]), /clusters\[0\]\.cluster\.server is missing/);
});

test('in-cluster: the service host and port (IPv6 bracketed), the account\'s CA, token file and namespace', () => {
  const sa = tempDir('sa');
  writeFileSync(join(sa, 'namespace'), 'dpready-system\n');
  const kc = KubeConfigLite.inCluster(sa, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' });
  assert.deepEqual(kc.getCurrentCluster(), { name: 'inCluster', server: 'https://[fd00::1]:443', caFile: join(sa, 'ca.crt') });
  assert.deepEqual(kc.getCurrentUser(), { name: 'inClusterUser', tokenFile: join(sa, 'token') });
  assert.equal(kc.getCurrentContextObject()?.namespace, 'dpready-system');
  assert.throws(() => KubeConfigLite.inCluster(sa, {}), /KUBERNETES_SERVICE_HOST/);
  // client-node re-reads a token file only as its tokenFile auth provider.
  assert.deepEqual(clientNodeUser(kc.getCurrentUser()!).authProvider, { name: 'tokenFile', config: { tokenFile: join(sa, 'token') } });
});

test('only exec plugins, auth providers and proxies need client-node', () => {
  assert.equal(needsClientNode({ name: 'u', token: 't' }, { name: 'c', server: 'https://x' }), false);
  assert.equal(needsClientNode({ name: 'u', certFile: 'c', keyFile: 'k' }, { name: 'c', server: 'https://x' }), false);
  assert.equal(needsClientNode({ name: 'u', authProvider: { name: 'tokenFile', config: { tokenFile: '/t' } } }, null), false);
  assert.equal(needsClientNode({ name: 'u', exec: { command: 'x' } }, null), true);
  assert.equal(needsClientNode({ name: 'u', authProvider: { name: 'oidc', config: {} } }, null), true);
  assert.equal(needsClientNode({ name: 'u', token: 't' }, { name: 'c', server: 'https://x', proxyUrl: 'http://proxy:3128' }), true);
});

// Importing client-node takes a process from about 41 to 120 MiB (docs/performance.md). The
// controller loads it only for an exec plugin, an auth provider or the webhook.
test('the controller\'s modules do not load @kubernetes/client-node', () => {
  const script = `
    const m = require('node:module'); const seen = new Set();
    m.registerHooks({ resolve(s, c, next) { const r = next(s, c); const k = /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(r.url); if (k) seen.add(k[1]); return r; } });
    import('./src/controller/main.ts').then(() => console.log(JSON.stringify([...seen])));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' });
  const packages = JSON.parse(out.trim().split('\n').pop()!) as string[];
  assert.ok(packages.includes('fastify'), `the hook saw the imports: ${packages.join(' ')}`);
  assert.ok(!packages.includes('@kubernetes/client-node'), packages.join(' '));
});

// The webhook's typed calls (--webhook) get a client-node KubeConfig made from ours: in a pod, its
// token must come from the account's token file, re-read as client-node's own in-cluster loading does.
test('the webhook\'s client-node config authenticates with the in-cluster token file', async () => {
  const { toClientNodeConfig } = await import('../../src/controller/main.ts');
  const k8s = await import('@kubernetes/client-node');
  const sa = tempDir('sa');
  writeFileSync(join(sa, 'token'), 'token-one');
  writeFileSync(join(sa, 'ca.crt'), '');
  const kc = await toClientNodeConfig(KubeConfigLite.inCluster(sa, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }));
  assert.equal(kc.getCurrentCluster()?.server, 'https://10.0.0.1:443');
  const ctx = new k8s.RequestContext('https://10.0.0.1:443/api', k8s.HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx).catch(() => {}); // the empty CA may not build an agent; the header comes first
  assert.equal(ctx.getHeaders().Authorization, 'Bearer token-one');
});
