import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONTROLLER_USAGE } from '../../src/controller/config.ts';
import { KUBECONFIG_LOOKUP, loadKubeConfig } from '../../src/controller/main.ts';
import { isDpreadyError } from '../../src/errors.ts';

const KC = (server: string) => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

// Issue 11, defect 8: with nothing to load, client-node falls back to http://localhost:8080 and
// the controller retried it forever. It must stop with an error that says where it looked.
test('no kubeconfig anywhere is an error naming every place looked, not localhost:8080', () => {
  const home = mkdtempSync(join(tmpdir(), 'dpready-home-'));
  assert.throws(() => loadKubeConfig(undefined, { env: { HOME: home }, serviceAccountDir: join(home, 'no-sa') }), (err: unknown) => {
    assert.ok(isDpreadyError(err, 'DPR_BAD_CONFIG'), String(err));
    assert.match(err.message, /no kubeconfig found/);
    assert.match(err.message, /\$KUBECONFIG/);
    assert.match(err.message, /\.kube\/config/);
    return true;
  });
});

test('lookup order: --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then in-cluster', () => {
  const home = mkdtempSync(join(tmpdir(), 'dpready-home-'));
  mkdirSync(join(home, '.kube'));
  writeFileSync(join(home, '.kube', 'config'), KC('https://home:6443'));
  const envFile = join(home, 'env.kubeconfig');
  writeFileSync(envFile, KC('https://env:6443'));
  const flagFile = join(home, 'flag.kubeconfig');
  writeFileSync(flagFile, KC('https://flag:6443'));
  const server = (kc: ReturnType<typeof loadKubeConfig>) => kc.getCurrentCluster()?.server;
  assert.equal(server(loadKubeConfig(flagFile, { env: { HOME: home, KUBECONFIG: envFile } })), 'https://flag:6443');
  assert.equal(server(loadKubeConfig(undefined, { env: { HOME: home, KUBECONFIG: envFile } })), 'https://env:6443');
  assert.equal(server(loadKubeConfig(undefined, { env: { HOME: home } })), 'https://home:6443');
});

test('the help states the lookup order the code follows', () => {
  assert.ok(CONTROLLER_USAGE.includes(KUBECONFIG_LOOKUP), CONTROLLER_USAGE);
  assert.match(KUBECONFIG_LOOKUP, /\$KUBECONFIG.*~\/\.kube\/config.*in-cluster/);
});
