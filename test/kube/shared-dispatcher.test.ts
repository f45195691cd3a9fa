import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { shareConnections } from '../../src/kube/shared-dispatcher.ts';

/** A fake API server that answers every request with an empty pod list and counts connections. */
async function fakeApi(): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  });
  server.on('connection', () => { connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

function kubeConfig(url: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  // skipTLSVerify gives the request TLS options, so client-node builds an Agent per request.
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return kc;
}

async function listTimes(kc: k8s.KubeConfig, n: number): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (let i = 0; i < n; i++) await core.listNamespacedPod({ namespace: 'default' });
}

test('one KubeConfig reuses one connection across API calls once shared', async () => {
  const api = await fakeApi();
  try {
    await listTimes(kubeConfig(api.url), 10);
    const unshared = api.connections();
    // client-node's own behaviour, which is why this exists: a connection per call.
    assert.equal(unshared, 10);
    const kc = shareConnections(kubeConfig(api.url));
    assert.equal(shareConnections(kc), kc);
    await listTimes(kc, 10);
    // Kept alive: one connection, or two when a call starts before the last one's socket is released.
    assert.ok(api.connections() - unshared <= 2, `${api.connections() - unshared} connections for 10 calls`);
  } finally {
    api.server.closeAllConnections();
    api.server.close();
  }
});
