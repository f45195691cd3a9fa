import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException, type CustomObjectsApi } from '@kubernetes/client-node';
import type { DatapathResultSpec } from '../../src/contract.ts';
import { isDpreadyError } from '../../src/errors.ts';
import { createMetrics } from '../../src/controller/metrics.ts';
import { ResultBook } from '../../src/controller/result-book.ts';
import { ResultWriter } from '../../src/controller/result-writer.ts';

const spec: DatapathResultSpec = {
  podRef: { namespace: 'perf', name: 'p1', uid: 'u1' },
  timestamps: { createdAt: '2026-11-30T10:00:00.000Z', createdAtSource: 'creationTimestamp', recordedAt: '2026-11-30T10:00:02.000Z' },
  metrics: {}, labels: {}, outcome: 'Succeeded', reason: 'DatapathReady', message: 'ok',
} as DatapathResultSpec;

// The bodies kube-apiserver 1.36 sends (checked in test/integration/controller.test.ts).
const NAMESPACE_GONE = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'namespaces "perf" not found', reason: 'NotFound', details: { name: 'perf', kind: 'namespaces' }, code: 404 };
const NOT_SERVED = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 };

function writer(createError: unknown) {
  const metrics = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
  const api = { createNamespacedCustomObject: async () => { throw createError; } } as unknown as CustomObjectsApi;
  return { w: new ResultWriter(api, metrics), metrics };
}

test('results go to the results namespace, whatever the pod\'s, labelled with the pod\'s labels and namespace', async () => {
  const metrics = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
  const calls: Array<{ namespace: string; body: { metadata: { namespace: string; labels: Record<string, string> } } }> = [];
  const api = { createNamespacedCustomObject: async (req: (typeof calls)[number]) => { calls.push(req); } } as unknown as CustomObjectsApi;
  const w = new ResultWriter(api, metrics, 1_000, 'perf-results');
  assert.equal(await w.write({ ...spec, labels: { app: 'web' } }), 'created');
  assert.equal(calls[0]!.namespace, 'perf-results');
  assert.deepEqual(calls[0]!.body.metadata, { name: 'dpresult-u1', namespace: 'perf-results', labels: { app: 'web', 'perf.github.com/pod-namespace': 'perf' } });
});

// Results outlive the pods' namespaces: a 404 for the namespace can only be the results
// namespace missing, which loses nothing if retried once it exists.
test('a 404 for the results namespace is an error naming it and the flag, never a dropped result', async () => {
  const { w } = writer(new ApiException(404, 'x', JSON.stringify({ ...NAMESPACE_GONE, message: 'namespaces "dpready-system" not found', details: { name: 'dpready-system', kind: 'namespaces' } }), {}));
  await assert.rejects(w.write(spec), (err: unknown) => isDpreadyError(err, 'DPR_BAD_CONFIG')
    && /pod perf\/p1: the results namespace dpready-system does not exist: create it, or pass --results-namespace/.test(err.message));
});

// Issue 11, defect 6: any 404 was booked as "namespace gone", so with the CRD missing every
// result was silently lost.
test('a 404 because the CRD is not served is an error naming the fix, and is counted', async () => {
  const { w, metrics } = writer(new ApiException(404, 'x', NOT_SERVED, {}));
  await assert.rejects(w.write(spec), (err: unknown) => {
    assert.ok(isDpreadyError(err, 'DPR_CRD_MISSING'), String(err));
    assert.match(err.message, /perf\/p1/);
    assert.match(err.message, /kubectl apply -f manifests\/crd\.yaml/);
    return true;
  });
  assert.match(await metrics.registry.getSingleMetricAsString('dpready_kube_api_write_errors_total'), /code="404"\} 1/);
});

test('--result-ttl deletes a result where it lives (the results namespace), and the book keeps the pod\'s namespace', async () => {
  const metrics = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
  const deleted: Array<{ namespace: string; name: string }> = [];
  const api = { deleteNamespacedCustomObject: async (req: { namespace: string; name: string }) => { deleted.push({ namespace: req.namespace, name: req.name }); } } as unknown as CustomObjectsApi;
  const w = new ResultWriter(api, metrics, 1_000, 'perf-results');
  const book = new ResultBook();
  book.observe(spec, 'perf-results');
  const entry = book.get('u1')!;
  assert.equal(entry.namespace, 'perf', 'the pod\'s namespace, for the collector\'s "does the pod still exist" check');
  await w.delete(entry.namespace, 'dpresult-u1');
  assert.deepEqual(deleted, [{ namespace: 'perf-results', name: 'dpresult-u1' }]);
});
