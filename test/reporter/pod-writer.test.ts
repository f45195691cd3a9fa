import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';

import { ANNOTATION_START } from '../../src/contract.ts';
import { isDpreadyError } from '../../src/errors.ts';
import { startPodApiThread } from '../../src/reporter/pod-api-thread.ts';
import { backoffDelay, isRetryable, kubePodApi, withRetry } from '../../src/reporter/pod-writer.ts';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.ts';
import { FakeClock } from './fake-clock.ts';

test('backoff: exponential, capped, jittered within [d/2, d)', () => {
  const o = { baseMs: 200, capMs: 5_000 };
  assert.equal(backoffDelay(1, { ...o, random: () => 0 }), 100);
  assert.equal(backoffDelay(1, { ...o, random: () => 0.999 }), 199.9);
  assert.equal(backoffDelay(3, { ...o, random: () => 0 }), 400);
  assert.equal(backoffDelay(10, { ...o, random: () => 0 }), 2_500);
  assert.equal(backoffDelay(10, { ...o, random: () => 1 }), 5_000);
});

test('retryable: no answer, throttling, conflicts, server errors; not: definite refusals', () => {
  for (const code of [408, 409, 429, 500, 503]) assert.equal(isRetryable({ code }), true, String(code));
  for (const code of [400, 401, 403, 404, 415, 422]) assert.equal(isRetryable({ code }), false, String(code));
  assert.equal(isRetryable(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })), true);
  assert.equal(isRetryable(new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false')), false);
});

test('withRetry: a hung call is cut at its timeout and retried; gives up at the deadline', async () => {
  const clock = new FakeClock();
  const calls: number[] = [];
  const retries: number[] = [];
  const p = withRetry('get pod', (signal) => {
    calls.push(clock.now());
    return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  }, { clock, until: 3_000, callTimeoutMs: 1_000, random: () => 0, onRetry: (i) => retries.push(i.delayMs) });
  const outcome = assert.rejects(p, (err: unknown) => {
    assert.ok(isDpreadyError(err, 'DPR_API_FAILURE'));
    assert.equal(err.exitCode, 4);
    assert.match(err.message, /get pod: no answer within \d+ ms \(gave up after 3 attempts at the deadline\)/);
    return true;
  });
  await clock.advance(5_000);
  await outcome;
  // 0: timeout at 1000, backoff 100; 1100: timeout 2100, backoff 200; 2300: timeout cut to the deadline.
  assert.deepEqual(calls, [0, 1_100, 2_300]);
  assert.deepEqual(retries, [100, 200]);
});

let api: FakeApiServer;
before(async () => { api = await startFakeApiServer({ 'ns1/pod1': { other: 'x' } }); });
after(() => api.close());

const kubeConfig = () => {
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  return kc;
};

test('client-node: GET, then a JSON merge patch (not JSON Patch) that touches only our keys', async () => {
  api.requests.length = 0;
  const pods = await kubePodApi(kubeConfig(), 'pod1', 'ns1');
  assert.deepEqual(await pods.getAnnotations(AbortSignal.timeout(5_000)), { other: 'x' });
  await pods.patch({ metadata: { annotations: { [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' } } }, AbortSignal.timeout(5_000));
  assert.equal(api.requests[1]!.method, 'PATCH');
  assert.equal(api.requests[1]!.contentType, 'application/merge-patch+json');
  assert.deepEqual(api.requests[1]!.body, { metadata: { annotations: { [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' } } });
  assert.deepEqual(api.pods.get('ns1/pod1'), { other: 'x', [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' });
});

test('client-node: the per-call signal really aborts a call the server never answers', async () => {
  const pods = await kubePodApi(kubeConfig(), 'pod1', 'ns1');
  api.hang = true;
  const t0 = performance.now();
  try {
    await assert.rejects(pods.getAnnotations(AbortSignal.timeout(200)));
  } finally {
    api.hang = false;
  }
  assert.ok(performance.now() - t0 < 2_000);
});

test('pod API thread: same calls through the worker; errors keep status and retryability', async () => {
  const prev = process.env.KUBECONFIG;
  process.env.KUBECONFIG = api.kubeconfigPath;
  const thread = startPodApiThread({ podName: 'pod1', namespace: 'ns1' });
  try {
    assert.equal((await thread.getAnnotations(AbortSignal.timeout(20_000))).other, 'x');
    api.failNext(1, 503);
    await assert.rejects(thread.patch({ metadata: { annotations: {} } }, AbortSignal.timeout(5_000)),
      (err: unknown) => { assert.equal(isRetryable(err), true); assert.match(String(err), /HTTP 503: injected 503/); return true; });
    const missing = startPodApiThread({ podName: 'nope', namespace: 'ns1' });
    await assert.rejects(missing.getAnnotations(AbortSignal.timeout(20_000)),
      (err: unknown) => { assert.equal(isRetryable(err), false); assert.match(String(err), /HTTP 404: pods "nope" not found/); return true; });
    await missing.close();
  } finally {
    await thread.close();
    if (prev === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = prev;
  }
});
