// CertKeeper against fake API objects: first start creates the Secret and patches caBundle;
// a replica that loses the create race loads the winner's bundle; renewal updates the Secret
// with the read resourceVersion and hands the new certificate to the server.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import type { AdmissionregistrationV1Api, CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { createMetrics } from '../../src/controller/metrics.ts';
import { bundleFromSecret, CertKeeper } from '../../src/webhook/cert-keeper.ts';
import { CA_LIFETIME_MS, SERVING_LIFETIME_MS, type TlsBundle } from '../../src/webhook/certs.ts';
import { FakeClock } from '../support/fake-clock.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const NOW = Date.parse('2026-11-30T12:00:00.000Z');
function clockAt(ms: number): FakeClock { const c = new FakeClock(); c.stepWall(ms - c.now()); return c; }

function fakes(opts: { raceCreate?: V1Secret } = {}) {
  let stored: V1Secret | undefined;
  let rv = 0;
  const calls: string[] = [];
  const patches: unknown[] = [];
  const err = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
  const core = {
    async readNamespacedSecret() { calls.push('read'); if (!stored) throw err(404); return structuredClone(stored); },
    async createNamespacedSecret({ body }: { body: V1Secret }) {
      calls.push('create');
      if (opts.raceCreate && !stored) { stored = { ...opts.raceCreate, metadata: { ...opts.raceCreate.metadata, resourceVersion: String(++rv) } }; throw err(409); }
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return stored;
    },
    async replaceNamespacedSecret({ body }: { body: V1Secret }) {
      calls.push('replace');
      if (body.metadata?.resourceVersion !== stored?.metadata?.resourceVersion) throw err(409);
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return stored;
    },
  } as unknown as CoreV1Api;
  const webhooks = [{ name: 'namespace.inject', clientConfig: {} as { caBundle?: string } }, { name: 'pod.inject', clientConfig: {} as { caBundle?: string } }];
  const admission = {
    async readMutatingWebhookConfiguration() { return { webhooks: structuredClone(webhooks) }; },
    async patchMutatingWebhookConfiguration({ body }: { body: Array<{ op: string; path: string; value: string }> }) {
      patches.push(body);
      for (const op of body) if (op.op === 'add') webhooks[Number(op.path.split('/')[2])]!.clientConfig.caBundle = op.value;
      return {};
    },
  } as unknown as AdmissionregistrationV1Api;
  return { core, admission, calls, patches, webhooks, stored: () => stored };
}

function keeper(f: ReturnType<typeof fakes>, clock: FakeClock, loaded: TlsBundle[]) {
  return new CertKeeper({ core: f.core, admission: f.admission, namespace: 'dpready-system', secretName: 'tls', webhookConfigName: 'dpready',
    names: ['dpready-webhook.dpready-system.svc'], clock, log: silent, metrics: createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false }),
    apiTimeoutMs: 1_000, onBundle: (b) => loaded.push(b) });
}

test('first start: creates the Secret, loads it, patches caBundle into every webhook; a second sync changes nothing', async () => {
  const clock = clockAt(NOW);
  const f = fakes();
  const loaded: TlsBundle[] = [];
  const k = keeper(f, clock, loaded);
  const b = await k.sync();
  assert.deepEqual(f.calls, ['read', 'create']);
  assert.equal(loaded.length, 1);
  assert.deepEqual(bundleFromSecret(f.stored()), b);
  for (const w of f.webhooks) assert.equal(w.clientConfig.caBundle, Buffer.from(b.caBundle).toString('base64'));
  await k.sync();
  assert.deepEqual(f.calls, ['read', 'create', 'read']);
  assert.equal(f.patches.length, 1);
  assert.equal(loaded.length, 1);
});

test('a replica that loses the create race serves the winner\'s bundle', async () => {
  const clock = clockAt(NOW);
  const winner = fakes();
  await keeper(winner, clock, []).sync();
  const f = fakes({ raceCreate: winner.stored() });
  const loaded: TlsBundle[] = [];
  await keeper(f, clock, loaded).sync();
  assert.deepEqual(f.calls, ['read', 'create', 'read']);
  assert.equal(loaded[0]!.tlsCert, bundleFromSecret(winner.stored())!.tlsCert);
});

test('renewal: the serving certificate is replaced (resourceVersion checked) and handed to the server', async () => {
  const clock = clockAt(NOW);
  const f = fakes();
  const loaded: TlsBundle[] = [];
  const k = keeper(f, clock, loaded);
  const first = await k.sync();
  await clock.advance(SERVING_LIFETIME_MS * 0.7);
  const second = await k.sync();
  assert.deepEqual(f.calls.slice(-2), ['read', 'replace']);
  assert.notEqual(second.tlsCert, first.tlsCert);
  assert.equal(second.caCert, first.caCert);
  assert.equal(loaded.length, 2);
  assert.ok(Date.parse(new X509Certificate(second.tlsCert).validTo) > clock.now() + SERVING_LIFETIME_MS * 0.9);
});

test('CA renewal: the new CA is published in caBundle before the Secret (and so any server) switches to a leaf it signs', async () => {
  const clock = clockAt(NOW);
  const f = fakes();
  const loaded: TlsBundle[] = [];
  const k = keeper(f, clock, loaded);
  const first = await k.sync();
  const order: string[] = [];
  const origPatch = f.admission.patchMutatingWebhookConfiguration.bind(f.admission);
  const origReplace = f.core.replaceNamespacedSecret.bind(f.core);
  f.admission.patchMutatingWebhookConfiguration = (async (a: never) => { order.push('caBundle'); return origPatch(a); }) as never;
  f.core.replaceNamespacedSecret = (async (a: never) => { order.push('secret'); return origReplace(a); }) as never;
  const onBundle = loaded.length;
  await clock.advance(CA_LIFETIME_MS * 0.7);
  const second = await k.sync();
  assert.notEqual(second.caCert, first.caCert);
  assert.deepEqual(order, ['caBundle', 'secret']);
  assert.equal(loaded.length, onBundle + 1);
  // What was published first already trusts the new CA.
  assert.equal(Buffer.from(f.webhooks[0]!.clientConfig.caBundle!, 'base64').toString(), second.caBundle);
});
