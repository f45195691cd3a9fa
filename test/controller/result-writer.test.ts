import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException, type CustomObjectsApi } from '@kubernetes/client-node';
import type { DatapathResultSpec } from '../../src/contract.ts';
import { isDpreadyError } from '../../src/errors.ts';
import { createMetrics } from '../../src/controller/metrics.ts';
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

test('a 404 for the namespace drops the result: the namespace and its pods are gone', async () => {
  const { w } = writer(new ApiException(404, 'x', JSON.stringify(NAMESPACE_GONE), {}));
  assert.equal(await w.write(spec), 'namespace-gone');
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
  assert.match(await metrics.registry.getSingleMetricAsString('dpready_api_write_errors_total'), /code="404"\} 1/);
});
