// The report endpoint's answers when the API server refuses a write, with fakes for the API
// (the real ones are in test/integration/webhook.test.ts): the reporter retries 503s, so only
// what may change by retrying is answered 503.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthenticationV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_START, CONDITION_TYPE, REPORT_AUDIENCE } from '../../src/contract.ts';
import { createMetrics } from '../../src/controller/metrics.ts';
import { buildWebhookApp, webhookMetrics } from '../../src/webhook/server.ts';
import { TokenReviewer } from '../../src/webhook/token-reviews.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const TOKEN = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`;
const POD: V1Pod = { metadata: { name: 'web-1', namespace: 'apps', uid: 'u1' }, spec: { readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [] } };

async function app(patchError: unknown) {
  const metrics = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
  const core = {
    async readNamespacedPod() { return POD; },
    async patchNamespacedPod() { throw patchError; },
  } as unknown as CoreV1Api;
  const reviewer = new TokenReviewer({ audience: REPORT_AUDIENCE, now: Date.now, review: async () => ({ authenticated: true, audiences: [REPORT_AUDIENCE],
    user: { username: 'system:serviceaccount:apps:web', extra: { 'authentication.kubernetes.io/pod-name': ['web-1'], 'authentication.kubernetes.io/pod-uid': ['u1'] } } }) });
  return buildWebhookApp({ core, authn: {} as AuthenticationV1Api, reviewer, metrics, webhookMetrics: webhookMetrics(metrics.registry), log: silent, apiTimeoutMs: 1_000,
    gatedInCache: () => true, inject: () => { throw new Error('unused'); } });
}

const report = async (patchError: unknown) => (await app(patchError)).inject({ method: 'PATCH', url: '/report/v1/annotations',
  headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: { metadata: { annotations: { [ANNOTATION_START]: '2026-12-04T12:00:00.000Z' } } } });

test('a 422 that is not a UID mismatch is a definite no (400), not a transient failure the reporter would retry until its deadline', async () => {
  const res = await report({ code: 422, body: { message: 'metadata.annotations: Invalid value: too long: must have at most 262144 bytes' } });
  assert.equal(res.statusCode, 400, res.body);
  assert.match(res.json().message, /at most 262144 bytes/);
});

test('a UID mismatch is "pod gone" (404); a 403 from admission is passed on; a 500 is transient (503)', async () => {
  assert.equal((await report({ code: 422, body: { message: 'Precondition failed: UID in precondition: u1, UID in object meta: u2' } })).statusCode, 404);
  assert.equal((await report({ code: 403, body: { message: 'denied by policy' } })).statusCode, 403);
  assert.equal((await report({ code: 500, body: { message: 'etcd' } })).statusCode, 503);
});
