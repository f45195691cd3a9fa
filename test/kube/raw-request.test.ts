import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { rawRequester } from '../../src/kube/raw-request.ts';
import { describeKubeError, httpStatus } from '../../src/kube/request-options.ts';

test('raw requests: query, JSON body and content type go out; answers come back as JSON; failures read like client-node\'s', async () => {
  const seen: Array<{ method?: string; url?: string; type?: string; auth?: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], auth: req.headers.authorization, body });
      if (req.url?.includes('/missing')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 404, message: 'pods "missing" not found' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [{ metadata: { name: 'p', creationTimestamp: '2026-11-30T10:00:00Z' } }], metadata: { continue: 'c2' } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u', token: 'tok' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  const raw = rawRequester(kc);
  try {
    const list = await raw<{ items: Array<{ metadata: { creationTimestamp: unknown } }>; metadata: { continue: string } }>('GET', '/api/v1/namespaces/ns/pods',
      { query: { labelSelector: 'app=web', limit: 500, continue: undefined }, timeoutMs: 5_000 });
    // Plain JSON: timestamps stay strings (client-node's models would make Dates of them).
    assert.equal(list.items[0]!.metadata.creationTimestamp, '2026-11-30T10:00:00Z');
    assert.equal(list.metadata.continue, 'c2');
    assert.equal(seen[0]!.url, '/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb&limit=500');
    assert.equal(seen[0]!.auth, 'Bearer tok');

    const patch = { metadata: { uid: 'u1' }, status: { conditions: [{ type: 't', status: 'True' }] } };
    assert.equal(await raw('PATCH', '/api/v1/namespaces/ns/pods/p/status', { body: patch, contentType: 'application/strategic-merge-patch+json', timeoutMs: 5_000, discardBody: true }), undefined);
    assert.equal(seen[1]!.type, 'application/strategic-merge-patch+json');
    assert.deepEqual(JSON.parse(seen[1]!.body), patch);

    await assert.rejects(raw('GET', '/api/v1/namespaces/ns/pods/missing', { timeoutMs: 5_000 }), (err: unknown) => {
      assert.equal(httpStatus(err), 404);
      assert.equal(describeKubeError(err), 'HTTP 404: pods "missing" not found');
      return true;
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
