import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { callOptions, describeKubeError, errorLabel, httpStatus, isTimeout } from '../../src/kube/request-options.ts';

test('a client-node error becomes one line with the status and the API server\'s message', () => {
  const body = JSON.stringify({ kind: 'Status', message: 'pods "p" is forbidden: no', code: 403 });
  const err = new ApiException(403, 'HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: …\nHeaders: {…}', body, {});
  assert.equal(httpStatus(err), 403);
  assert.equal(describeKubeError(err), 'HTTP 403: pods "p" is forbidden: no');
});

test('a 404 page (not JSON) and a network error are described without header dumps', () => {
  assert.equal(describeKubeError(new ApiException(404, 'x', '404 page not found\n', {})), 'HTTP 404: 404 page not found');
  assert.equal(describeKubeError(new TypeError('fetch failed\n    at somewhere')), 'fetch failed');
  assert.equal(httpStatus(new TypeError('fetch failed')), undefined);
});

// Issue 11, defect 8: an AbortSignal.timeout() rejection is a DOMException whose legacy `code`
// is 23 (TIMEOUT_ERR); it must not read as an HTTP status in metrics or logs.
test('an API call that timed out has no HTTP status: labelled "timeout", not 23', () => {
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  assert.equal(httpStatus(timeout), undefined);
  assert.equal(errorLabel(timeout), 'timeout');
  assert.doesNotMatch(describeKubeError(timeout), /HTTP 23/);
  assert.equal(errorLabel(new ApiException(429, 'x', '', {})), '429');
  assert.equal(errorLabel(new TypeError('fetch failed')), '0');
});

// callOptions' middleware returns its own Observable stub (client-node is not loaded with the
// error helpers); client-node's typed APIs must still run it: the patch type and the deadline.
test('a typed client-node call runs callOptions: the patch content type is sent, the deadline cuts a hung call', async () => {
  const { createServer } = await import('node:http');
  const k8s = await import('@kubernetes/client-node');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
    if (req.url?.includes('hang')) return; // never answers
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromClusterAndUser({ name: 'c', server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, skipTLSVerify: true }, { name: 'u' });
    const api = kc.makeApiClient(k8s.CoreV1Api);
    await api.patchNamespacedPod({ name: 'p', namespace: 'ns', body: { metadata: { labels: { a: 'b' } } } }, callOptions({ timeoutMs: 5_000, patch: k8s.PatchStrategy.MergePatch }));
    assert.deepEqual(seen, ['PATCH /api/v1/namespaces/ns/pods/p application/merge-patch+json']);
    await assert.rejects(api.readNamespacedPod({ name: 'hang', namespace: 'ns' }, callOptions({ timeoutMs: 200 })), (err: unknown) => isTimeout(err));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
