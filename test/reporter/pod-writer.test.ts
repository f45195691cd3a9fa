import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';

import { ANNOTATION_START } from '../../src/contract.ts';
import { isDpreadyError } from '../../src/errors.ts';
import type { AnnotationPatch } from '../../src/reporter/annotations.ts';
import { backoffDelay } from '../../src/backoff.ts';
import { kubePodApi } from '../../src/reporter/kube-pod-api.ts';
import { isRetryable, PodApiError, withRetry } from '../../src/reporter/pod-writer.ts';
import { core, uniqueName, useControlPlane } from '../support/cluster.ts';
import { applyReporterManifest, createPodWithToken, serviceAccountEnv, type TestPod } from '../support/reporter.ts';
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
  /** Classic mode's client as the reporter in pod `name` builds it from its mounted credential. */
  const apiAs = (kubeconfig: string, name: string) => {
    const env = serviceAccountEnv(kubeconfig);
    return kubePodApi({ podName: name, namespace: ns, env, serviceAccountDir: env.DPREADY_SERVICEACCOUNT_DIR! });
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

  test('plain HTTPS with the ServiceAccount token: GET, then a JSON merge patch that touches only our keys', async () => {
    const pods = await apiAs(pod.kubeconfig, 'pod1');
    assert.deepEqual(await pods.getAnnotations(AbortSignal.timeout(20_000)), { other: 'x' });
    await pods.patch({ metadata: { annotations: { [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' } } }, AbortSignal.timeout(20_000));
    // The server took the body as a patch of metadata.annotations (a JSON Patch would be
    // refused: the body is not a list of operations), added our key and kept the other one.
    assert.deepEqual((await podNow('pod1')).annotations, { other: 'x', [ANNOTATION_START]: '2025-01-01T00:00:00.000Z' });
    // Removing our key (null) leaves the other one alone too.
    await pods.patch({ metadata: { annotations: { [ANNOTATION_START]: null } } }, AbortSignal.timeout(20_000));
    assert.deepEqual((await podNow('pod1')).annotations, { other: 'x' });
  });

  test('the patch is a JSON merge patch, not a strategic merge patch', async () => {
    // The two differ on lists: a merge patch replaces metadata.finalizers, a strategic merge
    // patch merges it. Needs an identity that may change finalizers (the admission policy
    // forbids the reporter's own identity anything but annotations): a ServiceAccount of its own.
    const cp = cluster();
    await core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'pod3', finalizers: ['example.com/first'] },
      spec: { schedulerName: 'dpready-test-no-such-scheduler', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    } });
    const rbac = cp.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core(cp).createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'pod-editor' } } });
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'pod-editor' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: {
      metadata: { name: 'pod-editor' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-editor' },
      subjects: [{ kind: 'ServiceAccount', name: 'pod-editor', namespace: ns }],
    } });
    const pods = await apiAs(await cp.serviceAccountKubeconfig(ns, 'pod-editor'), 'pod3');
    await pods.patch({ metadata: { finalizers: ['example.com/second'] } } as unknown as AnnotationPatch, AbortSignal.timeout(20_000));
    assert.deepEqual((await podNow('pod3')).finalizers, ['example.com/second']);
  });

  test('the per-call signal really aborts a call the server never answers', async () => {
    const pods = await apiAs(pod.kubeconfig, 'pod1');
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

  test('errors keep status and retryability', async () => {
    const failsWith = (status: number, retryable: boolean, message: RegExp) => (err: unknown) => {
      assert.ok(err instanceof PodApiError, String(err));
      assert.equal(err.code, status, String(err));
      assert.equal(isRetryable(err), retryable, String(err));
      assert.match(err.message, message);
      return true;
    };
    const own = await apiAs(pod.kubeconfig, 'pod1');
    // Retryable: a conflict (a merge patch that names an outdated resourceVersion).
    await assert.rejects(own.patch({ metadata: { resourceVersion: '1', annotations: {} } } as unknown as AnnotationPatch, AbortSignal.timeout(20_000)),
      failsWith(409, true, /^HTTP 409: Operation cannot be fulfilled on pods "pod1"/));
    // Not retryable: the pod does not exist.
    const missing = await apiAs(pod.kubeconfig, 'nope');
    await assert.rejects(missing.getAnnotations(AbortSignal.timeout(60_000)), failsWith(404, false, /^HTTP 404: pods "nope" not found$/));
    // Not retryable: a token without RBAC for pods.
    const denied = await apiAs(unprivileged.kubeconfig, 'pod2');
    await assert.rejects(denied.getAnnotations(AbortSignal.timeout(60_000)),
      failsWith(403, false, /^HTTP 403: pods "pod2" is forbidden: User "system:serviceaccount:[^:]+:default" cannot get resource "pods"/));
    for (const a of [own, missing, denied]) a.close();
  });

  test('not in a pod: a clear, not-retried failure naming what is missing', async () => {
    const api = await kubePodApi({ podName: 'pod1', namespace: ns, env: {} });
    await assert.rejects(api.getAnnotations(AbortSignal.timeout(1_000)), (err: unknown) => {
      assert.ok(err instanceof PodApiError && !isRetryable(err), String(err));
      assert.match(err.message, /KUBERNETES_SERVICE_HOST is not set/);
      return true;
    });
  });
});
