// A forced CA rotation while injected reporters are in flight, on the local control plane (real
// kube-apiserver admission, the real reporter process): each reporter's trust was fixed at its
// pod's admission (DPREADY_REPORT_CA, the bundle of the CA about to be replaced), it reports its
// start before the rotation and its datapath success after it, and every report lands. The
// API server keeps injecting through the webhook across the rotation.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE, INJECT_LABEL, INJECT_MODE_ANNOTATION, INJECT_TARGET_ANNOTATION, REPORT_AUDIENCE, REPORTER_CONTAINER,
} from '../../src/contract.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { startAdoption, type Adoption } from '../../src/webhook/adoption.ts';
import { CA_LIFETIME_MS, renew } from '../../src/webhook/certs.ts';
import { core, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { startController, testLog } from '../support/controller.ts';
import { runReporter } from '../support/reporter.ts';
import { tempDir } from '../support/temp-dir.ts';

const cluster = useControlPlane({ nodes: 1 });
const SYSTEM_NS = 'dpready-system';
const CONFIG = 'dpready-rotation-test';
const SECRET = 'dpready-rotation-tls';
const PODS = 4;
/** The CA crosses its renewal point this long after the test writes it. */
const CA_MARGIN_MS = 25_000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

describe('webhook CA rotation with reporters in flight', { concurrency: false }, () => {
  let controller: Controller;
  let adoption: Adoption;
  let target: Server | undefined;
  const tokenDir = tempDir('rotation');

  before(async () => {
    const cp = cluster();
    await installCrd(cp);
    await cp.ensureNamespace(SYSTEM_NS);
    // A CA whose remaining life is CA_MARGIN_MS above the renewal point (a third of its life),
    // and a fresh serving certificate it signs: the keeper loads it as is, then rotates the CA.
    const now = Date.now();
    const life = CA_LIFETIME_MS + 5 * 60_000; // notBefore is backdated 5 minutes
    const caMadeAt = now + CA_MARGIN_MS + life / 3 - CA_LIFETIME_MS;
    const b = renew(renew(undefined, 'ca', ['127.0.0.1'], caMadeAt), 'serving', ['127.0.0.1'], now);
    const data = Object.fromEntries(Object.entries({ 'ca-bundle.crt': b.caBundle, 'ca.crt': b.caCert, 'ca.key': b.caKey, 'tls.crt': b.tlsCert, 'tls.key': b.tlsKey })
      .map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    await core(cp).createNamespacedSecret({ namespace: SYSTEM_NS, body: { metadata: { name: SECRET }, type: 'kubernetes.io/tls', data } });
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    await cp.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: {
      metadata: { name: CONFIG },
      webhooks: [{ name: 'namespace.inject.dpready.perf.github.com', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5,
        clientConfig: { url: `${url}/mutate` }, rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: { [INJECT_LABEL]: 'enabled' } } }],
    } });
    controller = await startController(cp, { pendingGraceMs: 200 });
    adoption = startAdoption(cp.kubeConfig, {
      listen: `127.0.0.1:${port}`, namespace: SYSTEM_NS, configName: CONFIG, secretName: SECRET, certNames: ['127.0.0.1'],
      reporterImage: 'dpready:test', reportUrl: url, excludedNamespaces: ['kube-system', SYSTEM_NS], probeTimeout: '90s',
    }, controller, testLog, { apiTimeoutMs: 10_000, certSyncMs: 1_000 });
    await adoption.ready;
    assert.equal(adoption.bundle!.caCert, b.caCert, 'the written CA is loaded, not replaced at once');
  }, { timeout: 120_000 });

  after(async () => {
    await adoption?.close();
    await controller?.stop();
    target?.close();
  });

  test('every report lands: starts before the rotation, datapath successes after it, with the trust of before', { timeout: 240_000 }, async () => {
    const cp = cluster();
    const ns = uniqueName('rotation');
    await cp.ensureNamespace(ns);
    await cp.kubectl(['label', 'namespace', ns, `${INJECT_LABEL}=enabled`]);
    const targetPort = await freePort();
    const oldCa = adoption.bundle!.caCert;
    const pods = [];
    for (let i = 0; i < PODS; i++) {
      pods.push(await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
        metadata: { name: `app-${i}`, annotations: { [INJECT_TARGET_ANNOTATION]: `tcp://127.0.0.1:${targetPort}`, [INJECT_MODE_ANNOTATION]: 'init' } },
        spec: { schedulerName: 'none', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } })));
    }
    const runs = pods.map(async (p) => {
      const r = p.spec!.initContainers?.find((c) => c.name === REPORTER_CONTAINER);
      assert.ok(r, `${p.metadata!.name} injected`);
      const tr = await core(cp).createNamespacedServiceAccountToken({ name: 'default', namespace: ns, body: {
        spec: { audiences: [REPORT_AUDIENCE], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: p.metadata!.name!, uid: p.metadata!.uid! } } } });
      const tokenFile = join(tokenDir, `${p.metadata!.name}.token`);
      writeFileSync(tokenFile, tr.status!.token!);
      const env: Record<string, string> = { MY_POD_NAME: p.metadata!.name!, MY_POD_NAMESPACE: ns, DPREADY_REPORT_TOKEN_FILE: tokenFile };
      for (const e of r.env!) if (e.value !== undefined && !(e.name in env)) env[e.name] = e.value;
      assert.ok(env.DPREADY_REPORT_CA!.includes(oldCa.trim()), 'trust fixed at admission: the CA about to be replaced');
      return runReporter(env, { timeoutMs: 150_000 });
    });
    // In flight: each reporter has reported its start and is probing a target that is not up yet.
    await eventually('every start reported', async () => {
      const l = await core(cp).listNamespacedPod({ namespace: ns });
      return l.items.filter((p) => p.metadata!.annotations?.[ANNOTATION_START]).length === PODS;
    }, 60_000);
    await eventually('CA rotated', async () => adoption.bundle!.caCert !== oldCa, CA_MARGIN_MS + 60_000, 250);
    target = createServer((s) => s.end()).listen(targetPort, '127.0.0.1');
    for (const run of await Promise.all(runs)) assert.equal(run.code, 0, run.stderr);
    const l = await core(cp).listNamespacedPod({ namespace: ns });
    for (const p of l.items) assert.ok(p.metadata!.annotations?.[ANNOTATION_DP_READY], `${p.metadata!.name}: datapath success reported after the rotation`);
    await eventually('every gate True', async () => {
      const l = await core(cp).listNamespacedPod({ namespace: ns });
      return l.items.every((p) => p.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True'));
    });
    // And the API server still reaches the webhook: a pod created now is injected.
    const late = await eventually('pod created after the rotation', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'late', annotations: { [INJECT_TARGET_ANNOTATION]: `tcp://127.0.0.1:${targetPort}` } },
      spec: { schedulerName: 'none', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }));
    assert.ok(late.spec!.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE), 'injected after the rotation');
  });
});
