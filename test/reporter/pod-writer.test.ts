import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';

import { ANNOTATION_START } from '../../src/contract.ts';
import { isDpreadyError } from '../../src/errors.ts';
import type { AnnotationPatch } from '../../src/reporter/annotations.ts';
import { PodApiError, startPodApiThread, type PodApiThread } from '../../src/reporter/pod-api-thread.ts';
import { backoffDelay } from '../../src/backoff.ts';
import { isRetryable, kubePodApi, withRetry } from '../../src/reporter/pod-writer.ts';
import { core, uniqueName, useControlPlane } from '../support/cluster.ts';
import { applyReporterManifest, createPodWithToken, type TestPod } from '../support/reporter.ts';
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

describe('on the real control plane', { concurrency: false }, () => {
  const cluster = useControlPlane({ nodes: 0 });
  let ns: string;
  let pod: TestPod;
  /** A token the API server accepts but no RBAC grants anything to. */
  let unprivileged: TestPod;
  const asPod = (p: TestPod) => {
    const kc = new KubeConfig();
    kc.loadFromFile(p.kubeconfig);
    return kc;
  };
  const podNow = async (name: string) => (await core(cluster()).readNamespacedPod({ name, namespace: ns })).metadata!;

  before(async () => {
    const cp = cluster();
    ns = uniqueName('podw');
    await cp.ensureNamespace(ns);
    await applyReporterManifest(cp, ns);
    pod = await createPodWithToken(cp, ns, 'pod1', { annotations: { other: 'x' } });
    unprivileged = await createPodWithToken(cp, ns, 'pod2', { serviceAccount: 'default' });
  }, { timeout: 30 * 60_000 });

  test('client-node: GET, then a JSON merge patch (not JSON Patch) that touches only our keys', async () => {
    const pods = await kubePodApi(asPod(pod), 'pod1', ns);
    assert.deepEqual(await pods.getAnnotations(AbortSignal.timeout(20_000)), { other: 'x' });
    await pods.patch({ metadata: { annotations: { [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' } } }, AbortSignal.timeout(20_000));
    // The server took the body as a patch of metadata.annotations (a JSON Patch would be
    // refused: the body is not a list of operations), added our key and kept the other one.
    assert.deepEqual((await podNow('pod1')).annotations, { other: 'x', [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' });
    // Removing our key (null) leaves the other one alone too.
    await pods.patch({ metadata: { annotations: { [ANNOTATION_START]: null } } }, AbortSignal.timeout(20_000));
    assert.deepEqual((await podNow('pod1')).annotations, { other: 'x' });
  });

  test('client-node: the patch is a JSON merge patch, not a strategic merge patch', async () => {
    // The two differ on lists: a merge patch replaces metadata.finalizers, a strategic merge
    // patch merges it. Needs a pod whose finalizers the admin may change (the admission policy
    // forbids the reporter's own identity anything but annotations).
    const cp = cluster();
    await core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'pod3', finalizers: ['example.com/first'] },
      spec: { schedulerName: 'dpready-test-no-such-scheduler', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    } });
    const pods = await kubePodApi(cp.kubeConfig, 'pod3', ns);
    await pods.patch({ metadata: { finalizers: ['example.com/second'] } } as unknown as AnnotationPatch, AbortSignal.timeout(20_000));
    assert.deepEqual((await podNow('pod3')).finalizers, ['example.com/second']);
  });

  test('client-node: the per-call signal really aborts a call the server never answers', async () => {
    const pods = await kubePodApi(asPod(pod), 'pod1', ns);
    assert.equal((await pods.getAnnotations(AbortSignal.timeout(20_000))).other, 'x');
    const resume = await cluster().freezeApiServer();
    try {
      await assert.rejects(pods.getAnnotations(AbortSignal.timeout(200)), (err: unknown) => {
        assert.equal((err as Error).name, 'TimeoutError', String(err));
        return true;
      });
    } finally {
      resume();
    }
    // And the server answers again once resumed.
    assert.equal((await pods.getAnnotations(AbortSignal.timeout(60_000))).other, 'x');
  });

  test('pod API thread: same calls through the worker; errors keep status and retryability', async () => {
    const prev = process.env.KUBECONFIG;
    const threads: PodApiThread[] = [];
    const thread = (kubeconfig: string, podName: string) => {
      // The worker reads KUBECONFIG from the environment it is started with.
      process.env.KUBECONFIG = kubeconfig;
      const t = startPodApiThread({ podName, namespace: ns });
      threads.push(t);
      return t;
    };
    const failsWith = (status: number, retryable: boolean, message: RegExp) => (err: unknown) => {
      assert.ok(err instanceof PodApiError, String(err));
      assert.equal(err.code, status, String(err));
      assert.equal(isRetryable(err), retryable, String(err));
      assert.match(err.message, message);
      return true;
    };
    try {
      const own = thread(pod.kubeconfig, 'pod1');
      assert.equal((await own.getAnnotations(AbortSignal.timeout(60_000))).other, 'x');
      await own.patch({ metadata: { annotations: { [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' } } }, AbortSignal.timeout(20_000));
      assert.equal((await podNow('pod1')).annotations![ANNOTATION_START], '2025-01-01T00:00:00.000Z');
      // Retryable: a conflict (a merge patch that names an outdated resourceVersion).
      await assert.rejects(own.patch({ metadata: { resourceVersion: '1', annotations: {} } } as unknown as AnnotationPatch, AbortSignal.timeout(20_000)),
        failsWith(409, true, /^HTTP 409: Operation cannot be fulfilled on pods "pod1"/));
      // Not retryable: the pod does not exist.
      const missing = thread(pod.kubeconfig, 'nope');
      await assert.rejects(missing.getAnnotations(AbortSignal.timeout(60_000)), failsWith(404, false, /^HTTP 404: pods "nope" not found$/));
      // Not retryable: a token without RBAC for pods.
      const denied = thread(unprivileged.kubeconfig, 'pod2');
      await assert.rejects(denied.getAnnotations(AbortSignal.timeout(60_000)),
        failsWith(403, false, /^HTTP 403: pods "pod2" is forbidden: User "system:serviceaccount:[^:]+:default" cannot get resource "pods"/));
    } finally {
      await Promise.all(threads.map((t) => t.close()));
      if (prev === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = prev;
    }
  });
});
