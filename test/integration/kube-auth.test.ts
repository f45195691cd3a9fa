// The controller's own kubeconfig loading and authentication (src/kube/kube-config.ts,
// kube-auth.ts) against the real kube-apiserver: an exec credential plugin (run through
// client-node, loaded for that user only), the in-cluster service account (its token file), and
// a token the API server refuses. Each runs the whole controller: a pod's annotations must become
// its True condition and its DatapathResult.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE, GROUP, PLURAL, VERSION, resultName } from '../../src/contract.ts';
import { Controller } from '../../src/controller/controller.ts';
import { loadKubeConfig } from '../../src/controller/kubeconfig.ts';
import type { KubeConfigLike } from '../../src/kube/kube-config.ts';
import { rawRequester } from '../../src/kube/raw-request.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { settings, testLog } from '../support/controller.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import { PatchStrategy } from '@kubernetes/client-node';
import { tempDir } from '../support/temp-dir.ts';

const cluster = useControlPlane({ nodes: 0 });

/** A ServiceAccount allowed everything, and a token of it with the API server's CA (from its kubeconfig). */
async function serviceAccountToken(ns: string): Promise<{ token: string; caFile: string; server: string }> {
  const cp = cluster();
  const sa = 'dpready-auth';
  await cp.kubectl(['create', 'serviceaccount', sa, '-n', ns]);
  await cp.kubectl(['create', 'clusterrolebinding', `${ns}-admin`, '--clusterrole=cluster-admin', `--serviceaccount=${ns}:${sa}`]);
  const kc = parse(readFileSync(await cp.serviceAccountKubeconfig(ns, sa), 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority': string } }>; users: Array<{ user: { token: string } }>;
  };
  return { token: kc.users[0]!.user.token, caFile: kc.clusters[0]!.cluster['certificate-authority'], server: kc.clusters[0]!.cluster.server };
}

/** Runs the controller on `kc` over one namespace: one annotated gated pod must end True with a result. */
async function controllerWorks(kc: KubeConfigLike, ns: string): Promise<void> {
  const cp = cluster();
  const c = new Controller(kc, settings({ namespace: ns, pendingGraceMs: 60_000 }), testLog);
  await c.start();
  try {
    const api = core(cp);
    const pod = await api.createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'p1' },
      spec: { schedulerName: 'none', readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    } });
    const now = Date.now();
    await api.patchNamespacedPod({ name: 'p1', namespace: ns, body: { metadata: { annotations: {
      [ANNOTATION_START]: new Date(now - 100).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() } } } },
    callOptions({ timeoutMs: 10_000, patch: PatchStrategy.MergePatch }));
    await eventually('the condition True', async () => {
      const p = await api.readNamespacedPod({ name: 'p1', namespace: ns });
      return p.status?.conditions?.some((x) => x.type === CONDITION_TYPE && x.status === 'True');
    });
    await eventually('the result', () => custom(cp).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: resultName(pod.metadata!.uid!) }));
  } finally {
    await c.stop();
  }
}

describe('kubeconfig and authentication without client-node\'s generated APIs', { concurrency: false }, () => {
  before(async () => { await installCrd(cluster()); });

  test('an exec credential plugin: the controller runs it for its token, and works', async () => {
    const cp = cluster();
    const ns = uniqueName('exec');
    await cp.ensureNamespace(ns);
    const { token, caFile, server } = await serviceAccountToken(ns);
    const dir = tempDir('exec');
    const calls = join(dir, 'calls');
    const plugin = join(dir, 'credential.sh');
    // What an exec plugin prints (client.authentication.k8s.io/v1 ExecCredential); each run is counted.
    writeFileSync(plugin, `#!/bin/sh\necho run >> '${calls}'\ncat <<'EOF'\n${JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token, expirationTimestamp: new Date(Date.now() + 3_600_000).toISOString() },
    })}\nEOF\n`);
    chmodSync(plugin, 0o755);
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
      clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': readFileSync(caFile).toString('base64') } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    }));
    await controllerWorks(loadKubeConfig(file), ns);
    const runs = readFileSync(calls, 'utf8').trim().split('\n').length;
    assert.ok(runs >= 1, 'the plugin ran');
    assert.ok(runs <= 3, `the credential is cached until it expires, not fetched per call (${runs} runs)`);
  });

  test('the in-cluster service account: its token file and CA, found after $KUBECONFIG and ~/.kube/config', async () => {
    const cp = cluster();
    const ns = uniqueName('incluster');
    await cp.ensureNamespace(ns);
    const { token, caFile, server } = await serviceAccountToken(ns);
    const saDir = tempDir('sa');
    writeFileSync(join(saDir, 'token'), token);
    writeFileSync(join(saDir, 'ca.crt'), readFileSync(caFile));
    writeFileSync(join(saDir, 'namespace'), ns);
    const home = tempDir('home');
    const url = new URL(server);
    const kc = loadKubeConfig(undefined, { env: { HOME: home, KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, serviceAccountDir: saDir });
    assert.equal(kc.getCurrentCluster()?.server, server);
    await controllerWorks(kc, ns);
  });

  test('a token the API server refuses fails with HTTP 401, not a hang or a silent anonymous call', async () => {
    const cp = cluster();
    const dir = tempDir('bad');
    mkdirSync(join(dir, 'sa'));
    writeFileSync(join(dir, 'sa', 'token'), 'not-a-token');
    writeFileSync(join(dir, 'sa', 'ca.crt'), readFileSync(parse(readFileSync(cp.kubeconfigPath, 'utf8')).clusters[0].cluster['certificate-authority']));
    const url = new URL(cp.server);
    const kc = loadKubeConfig(undefined, { env: { HOME: dir, KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, serviceAccountDir: join(dir, 'sa') });
    await assert.rejects(rawRequester(kc)('GET', '/api/v1/namespaces/default/pods', { timeoutMs: 5_000 }), (err: unknown) => {
      assert.equal((err as { statusCode?: number }).statusCode, 401);
      return true;
    });
  });
});
