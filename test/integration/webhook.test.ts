// Adoption on the local control plane (KWOK nodes, real kube-apiserver admission): the
// controller's webhook injects the gate and the reporter into a Deployment of a labelled
// namespace, first pod included, with the workload's own ServiceAccount; the injected reporter
// (run here as the real process, with a token minted the way the kubelet projects it) reports
// to the controller, which writes the annotations, so the pod is gated and measured with no
// edit to its manifest. With the webhook down, pods are still created (and reported); a pod
// that opts out is untouched. The report endpoint takes only pod-bound tokens for its audience.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import {
  ANNOTATION_DP_READY, ANNOTATION_POLICY_ENFORCED, ANNOTATION_START, CONDITION_TYPE, ConditionReason, INJECT_DENY_TARGET_ANNOTATION, INJECT_LABEL,
  INJECT_TARGET_ANNOTATION, INJECTED_ANNOTATION, REPORT_AUDIENCE, REPORTER_CONTAINER, resultName,
} from '../../src/contract.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { startAdoption, type Adoption } from '../../src/webhook/adoption.ts';
import type { WebhookSettings } from '../../src/webhook/config.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { metricValue, startController, testLog } from '../support/controller.ts';
import { runReporter } from '../support/reporter.ts';
import { tempDir } from '../support/temp-dir.ts';

const cluster = useControlPlane({ nodes: 1 });
const SYSTEM_NS = 'dpready-system';
const CONFIG = 'dpready-test-webhook';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

/** The MutatingWebhookConfiguration the chart installs, pointed at a URL instead of a Service. */
function webhookConfig(url: string): k8s.V1MutatingWebhookConfiguration {
  const common = {
    admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5, reinvocationPolicy: 'Never',
    clientConfig: { url: `${url}/mutate` },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
  };
  const notExcluded = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', SYSTEM_NS] };
  return {
    metadata: { name: CONFIG },
    webhooks: [
      { ...common, name: 'namespace.inject.dpready.perf.github.com',
        namespaceSelector: { matchExpressions: [notExcluded, { key: INJECT_LABEL, operator: 'In', values: ['enabled'] }] },
        objectSelector: { matchExpressions: [{ key: INJECT_LABEL, operator: 'NotIn', values: ['disabled'] }] } },
      { ...common, name: 'pod.inject.dpready.perf.github.com',
        namespaceSelector: { matchExpressions: [notExcluded, { key: INJECT_LABEL, operator: 'NotIn', values: ['enabled'] }] },
        objectSelector: { matchLabels: { [INJECT_LABEL]: 'enabled' } } },
    ],
  };
}

describe('admission webhook and report endpoint', { concurrency: false }, () => {
  let cp: ControlPlane;
  let controller: Controller;
  let adoption: Adoption;
  let settings: WebhookSettings;
  let url: string;
  let target: Server;
  let targetPort: number;
  const tokenDir = tempDir('webhook-test');

  before(async () => {
    cp = cluster();
    await installCrd(cp);
    await cp.ensureNamespace(SYSTEM_NS);
    target = createServer((s) => s.end()).listen(0, '127.0.0.1');
    await new Promise((r) => target.once('listening', r));
    targetPort = (target.address() as { port: number }).port;
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    await cp.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: webhookConfig(url) });
    controller = await startController(cp, { pendingGraceMs: 200 });
    settings = {
      listen: `127.0.0.1:${port}`, namespace: SYSTEM_NS, configName: CONFIG, secretName: 'dpready-webhook-tls', certNames: ['127.0.0.1'],
      reporterImage: 'dpready:test', reportUrl: url, excludedNamespaces: ['kube-system', SYSTEM_NS], probeTimeout: '5m',
    };
    adoption = startAdoption(cp.kubeConfig, settings, controller, testLog, { apiTimeoutMs: 10_000, namespacePollMs: 500 });
    await adoption.ready;
  }, { timeout: 120_000 });

  after(async () => {
    await adoption?.close();
    await controller?.stop();
    target?.close();
  });

  const admission = () => cp.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);

  test('the controller created its CA and patched caBundle into every webhook of the configuration', async () => {
    const cfg = await eventually('caBundle patched', async () => {
      const c = await admission().readMutatingWebhookConfiguration({ name: CONFIG });
      return c.webhooks!.every((w) => w.clientConfig.caBundle) && c;
    });
    const want = Buffer.from(adoption.bundle!.caBundle).toString('base64');
    for (const w of cfg.webhooks!) assert.equal(w.clientConfig.caBundle, want);
    const secret = await core(cp).readNamespacedSecret({ name: 'dpready-webhook-tls', namespace: SYSTEM_NS });
    assert.equal(secret.type, 'kubernetes.io/tls');
  });

  test('a Deployment with its own ServiceAccount in a labelled namespace is gated and measured, first pod included, with no edit', async () => {
    const ns = uniqueName('inject');
    await cp.ensureNamespace(ns);
    await cp.kubectl(['label', 'namespace', ns, `${INJECT_LABEL}=enabled`]);
    await core(cp).createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'web-identity' } } });
    // The workload as its team wrote it: its own ServiceAccount, no gate, no reporter, no RBAC for dpready.
    const deployment: k8s.V1Deployment = {
      metadata: { name: 'web' },
      spec: {
        replicas: 2, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' }, annotations: { [INJECT_TARGET_ANNOTATION]: `tcp://127.0.0.1:${targetPort}` } },
          spec: { serviceAccountName: 'web-identity', containers: [{ name: 'app', image: 'registry.invalid/web:1' }] },
        },
      },
    };
    await cp.kubeConfig.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: deployment });
    const pods = await eventually('both pods created', async () => {
      const l = await core(cp).listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      return l.items.length === 2 && l.items;
    }, 60_000);
    for (const p of pods) {
      assert.ok(p.spec!.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE), `${p.metadata!.name} gated`);
      const r = p.spec!.initContainers?.find((c) => c.name === REPORTER_CONTAINER);
      assert.ok(r, `${p.metadata!.name} has the reporter`);
      assert.equal(r.restartPolicy, 'Always');
      // The controller's --datapath-timeout: the reporter probes as long as the gate waits.
      assert.equal(r.env!.find((e) => e.name === 'PROBE_TIMEOUT')?.value, '5m');
      assert.equal(p.spec!.serviceAccountName, 'web-identity');
      assert.ok(p.metadata!.annotations![INJECTED_ANNOTATION]);
    }
    // Until its reporter speaks, the gate holds the pod back.
    const first = pods[0]!;
    const ns0 = first.metadata!.namespace!, name0 = first.metadata!.name!;
    await eventually('condition False (awaiting reporter)', async () => {
      const p = await core(cp).readNamespacedPodStatus({ namespace: ns0, name: name0 });
      return p.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'False');
    });

    // The kubelet would project this token into the reporter's volume: audience dpready, bound to the pod.
    const tr = await core(cp).createNamespacedServiceAccountToken({ name: 'web-identity', namespace: ns, body: {
      spec: { audiences: [REPORT_AUDIENCE], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: name0, uid: first.metadata!.uid! } },
    } });
    const tokenFile = join(tokenDir, `${name0}.token`);
    writeFileSync(tokenFile, tr.status!.token!);
    const r = first.spec!.initContainers!.find((c) => c.name === REPORTER_CONTAINER)!;
    const env: Record<string, string> = { MY_POD_NAME: name0, MY_POD_NAMESPACE: ns0, DPREADY_REPORT_TOKEN_FILE: tokenFile, PROBE_MODE: 'init' };
    for (const e of r.env!) if (e.value !== undefined && !(e.name in env)) env[e.name] = e.value;
    const run = await runReporter(env, { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);

    const p = await eventually('gate True', async () => {
      const p = await core(cp).readNamespacedPodStatus({ namespace: ns0, name: name0 });
      return p.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True') && p;
    });
    assert.ok(p.metadata!.annotations![ANNOTATION_START]);
    assert.ok(p.metadata!.annotations![ANNOTATION_DP_READY]);
    const result = await eventually('DatapathResult recorded', () => custom(cp).getNamespacedCustomObject({
      // The results namespace of the test controller (test/support/controller.ts): results outlive the pods' namespaces.
      group: 'perf.github.com', version: 'v1', plural: 'datapathresults', namespace: 'default', name: resultName(first.metadata!.uid!),
    }).catch(() => undefined)) as { spec: { outcome: string; metrics: { latDpReadyMs?: number } } };
    assert.equal(result.spec.outcome, 'Succeeded');
    assert.equal(typeof result.spec.metrics.latDpReadyMs, 'number');
    // The pod's Ready waited for the gate (KWOK's stages compute Ready as the kubelet does).
    await eventually('pod Ready', async () => {
      const q = await core(cp).readNamespacedPodStatus({ namespace: ns0, name: name0 });
      return q.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
  });

  test('policy check, injected: the deny-target annotation becomes PROBE_DENY_TARGET; the reporter reports through the controller; AwaitingPolicy until the deny target stops answering, then True', async () => {
    const ns = uniqueName('inject-pol');
    await cp.ensureNamespace(ns);
    const deny = createServer((s) => s.end()).listen(0, '127.0.0.1');
    await new Promise((r) => deny.once('listening', r));
    const denyTarget = `tcp://127.0.0.1:${(deny.address() as { port: number }).port}`;
    try {
      const created = await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
        metadata: { name: 'pol', labels: { [INJECT_LABEL]: 'enabled' },
          annotations: { [INJECT_TARGET_ANNOTATION]: `tcp://127.0.0.1:${targetPort}`, [INJECT_DENY_TARGET_ANNOTATION]: denyTarget } },
        spec: { schedulerName: 'none', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }));
      const r = created.spec!.initContainers!.find((c) => c.name === REPORTER_CONTAINER)!;
      assert.equal(r.env!.find((e) => e.name === 'PROBE_DENY_TARGET')?.value, denyTarget);
      const tr = await core(cp).createNamespacedServiceAccountToken({ name: 'default', namespace: ns, body: {
        spec: { audiences: [REPORT_AUDIENCE], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'pol', uid: created.metadata!.uid! } },
      } });
      const tokenFile = join(tokenDir, `${ns}-pol.token`);
      writeFileSync(tokenFile, tr.status!.token!);
      const env: Record<string, string> = { MY_POD_NAME: 'pol', MY_POD_NAMESPACE: ns, DPREADY_REPORT_TOKEN_FILE: tokenFile, PROBE_MODE: 'init', PROBE_TIMEOUT: '30s' };
      for (const e of r.env!) if (e.value !== undefined && !(e.name in env)) env[e.name] = e.value;
      let closedAt = 0;
      const awaiting = eventually('AwaitingPolicy, naming the deny target', async () => {
        const p = await core(cp).readNamespacedPodStatus({ namespace: ns, name: 'pol' });
        const c = p.status?.conditions?.find((x) => x.type === CONDITION_TYPE);
        return c?.reason === ConditionReason.AwaitingPolicy && c.message?.includes(`${denyTarget} still answered`) && c;
      }, 30_000, 50).then((c) => { closedAt = Date.now(); deny.close(); return c; });
      const run = await runReporter(env, { timeoutMs: 60_000 });
      assert.equal(run.code, 0, run.stderr);
      await awaiting;
      const p = await eventually('gate True', async () => {
        const q = await core(cp).readNamespacedPodStatus({ namespace: ns, name: 'pol' });
        return q.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True') && q;
      });
      const enforced = Date.parse(p.metadata!.annotations![ANNOTATION_POLICY_ENFORCED]!);
      assert.ok(enforced >= closedAt - 2 && enforced - closedAt < 300, `enforced ${enforced - closedAt} ms after the listener closed`);
    } finally {
      deny.close();
    }
  });

  test('the report token is good for its own pod and the controller only: the API server rejects it, others are refused', async () => {
    const ns = uniqueName('report');
    await cp.ensureNamespace(ns);
    const pod = await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'app' }, spec: { schedulerName: 'none', readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }));
    const mint = async (audiences: string[], bound: boolean) => (await core(cp).createNamespacedServiceAccountToken({ name: 'default', namespace: ns, body: {
      spec: { audiences, expirationSeconds: 600, ...(bound ? { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'app', uid: pod.metadata!.uid! } } : {}) },
    } })).status!.token!;
    const agent = new Agent({ connect: { ca: adoption.bundle!.caBundle } });
    const call = (token: string, method = 'PATCH', body: object = { metadata: { annotations: { [ANNOTATION_START]: '2026-11-30T12:00:00.000Z' } } }) =>
      fetch(`${url}/report/v1/annotations`, { method, dispatcher: agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(method === 'PATCH' ? { body: JSON.stringify(body) } : {}) });

    const good = await mint([REPORT_AUDIENCE], true);
    const ok = await call(good);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.deepEqual((await ok.json() as { name: string }).name, 'app');
    const got = await call(good, 'GET');
    assert.deepEqual((await got.json() as { annotations: object }).annotations, { [ANNOTATION_START]: '2026-11-30T12:00:00.000Z' });
    // Nothing outside perf.github.com/ can be written through it, nor a key the contract does not define, nor a huge value.
    assert.equal((await call(good, 'PATCH', { metadata: { annotations: { 'team/owner': 'x' } } })).status, 400);
    assert.equal((await call(good, 'PATCH', { metadata: { annotations: { 'perf.github.com/anything': 'x' } } })).status, 400);
    assert.equal((await call(good, 'PATCH', { metadata: { annotations: { [ANNOTATION_START]: 'x'.repeat(5_000) } } })).status, 400);
    // A body past the route's 16 KiB limit is refused unread.
    assert.equal((await call(good, 'PATCH', { metadata: { annotations: { [ANNOTATION_START]: 'x'.repeat(20_000) } } })).status, 413);
    assert.equal((await call(good, 'PATCH', { metadata: { annotations: { [ANNOTATION_START]: 'x' }, labels: { a: 'b' } } })).status, 400);
    // The API server's own audience is not ours, an unbound token names no pod, garbage is garbage.
    assert.equal((await call(await mint([], true))).status, 401);
    assert.equal((await call(await mint([REPORT_AUDIENCE], false))).status, 403);
    assert.equal((await call('not-a-token')).status, 401);
    // And the app cannot use the reporter's token against the API server.
    const res = await fetch(`${cp.server}/api/v1/namespaces/${ns}/pods/app`, { dispatcher: new Agent({ connect: { ca: readFileSync(cp.pki.caCert) } }),
      headers: { authorization: `Bearer ${good}` } });
    assert.equal(res.status, 401);
    await agent.close();
  });

  test('a pod without the gate, in another namespace, cannot report: no annotation written, no result created', async () => {
    const ns = uniqueName('ungated');
    await cp.ensureNamespace(ns);
    const pod = await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'rogue' }, spec: { schedulerName: 'none', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }));
    const token = (await core(cp).createNamespacedServiceAccountToken({ name: 'default', namespace: ns, body: {
      spec: { audiences: [REPORT_AUDIENCE], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'rogue', uid: pod.metadata!.uid! } } } })).status!.token!;
    const agent = new Agent({ connect: { ca: adoption.bundle!.caBundle } });
    const now = new Date().toISOString();
    const res = await fetch(`${url}/report/v1/annotations`, { method: 'PATCH', dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { annotations: { [ANNOTATION_START]: now, [ANNOTATION_DP_READY]: now } } }) });
    assert.equal(res.status, 403, await res.clone().text());
    assert.match((await res.json() as { message: string }).message, /neither the readiness gate/);
    assert.equal((await fetch(`${url}/report/v1/annotations`, { dispatcher: agent, headers: { authorization: `Bearer ${token}` } })).status, 403);
    await agent.close();
    const p = await core(cp).readNamespacedPod({ namespace: ns, name: 'rogue' });
    assert.equal(p.metadata!.annotations?.[ANNOTATION_START], undefined);
    // Had the annotations been written, the controller would track the pod and record a result within moments.
    await new Promise((r) => setTimeout(r, 2_000));
    await assert.rejects(custom(cp).getNamespacedCustomObject({ group: 'perf.github.com', version: 'v1', plural: 'datapathresults', namespace: 'default',
      name: resultName(pod.metadata!.uid!) }), (e: { code?: number }) => e.code === 404);
  });

  test('a report without a bearer token is refused before its body is read', async () => {
    // Headers announce 1 MiB and no body byte is ever sent: the answer cannot have waited for it.
    const u = new URL(url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: u.hostname, port: Number(u.port), method: 'PATCH', path: '/report/v1/annotations', ca: adoption.bundle!.caBundle,
        headers: { 'content-type': 'application/json', 'content-length': String(1 << 20) } }, (res) => { resolve(res.statusCode!); res.resume(); req.destroy(); });
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => { req.destroy(); reject(new Error('no answer within 5 s: the server waited for the body')); }, 5_000).unref();
    });
    assert.equal(status, 401);
  });

  test('a pod that opts out is untouched', async () => {
    const ns = uniqueName('optout');
    await cp.ensureNamespace(ns);
    await cp.kubectl(['label', 'namespace', ns, `${INJECT_LABEL}=enabled`]);
    const p = await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'own-way', labels: { [INJECT_LABEL]: 'disabled' }, annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://127.0.0.1:1' } },
      spec: { schedulerName: 'none', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }));
    assert.equal(p.spec!.readinessGates, undefined);
    assert.equal(p.spec!.initContainers, undefined);
    assert.equal(p.metadata!.annotations![INJECTED_ANNOTATION], undefined);
    assert.deepEqual(p.spec!.containers.map((c) => c.name), ['app']);
  });

  test('through the API server: a Windows pod, a pod that already has the token volume and a mirror pod are created as written, not injected; a Linux pod beside them is', async () => {
    const ns = uniqueName('skip');
    await cp.ensureNamespace(ns);
    await cp.kubectl(['label', 'namespace', ns, `${INJECT_LABEL}=enabled`]);
    const skipped = (reason: string) => metricValue(controller, 'dpready_webhook_admissions_total', { result: 'skipped', reason });
    const [unsupported0, hasReporter0] = [await skipped('unsupported'), await skipped('has-reporter')];
    const annotations = { [INJECT_TARGET_ANNOTATION]: `tcp://127.0.0.1:${targetPort}` };
    const create = (name: string, spec: Partial<k8s.V1PodSpec>) => eventually(`pod ${name} created`, () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name, annotations }, spec: { schedulerName: 'none', containers: [{ name: 'app', image: 'registry.invalid/app:1' }], ...spec } } }));
    // The control first: the namespace is watched by the webhook (its namespace poll has seen the label).
    const linux = await eventually('a Linux pod in the namespace is injected', async () => {
      const p = await create(`linux-${Math.random().toString(36).slice(2, 7)}`, { os: { name: 'linux' } });
      return p.spec!.initContainers?.some((c) => c.name === REPORTER_CONTAINER) && p;
    }, 30_000, 250);
    assert.ok(linux.spec!.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE));
    const untouched = (p: k8s.V1Pod) => {
      assert.equal(p.spec!.readinessGates, undefined, `${p.metadata!.name}: no gate`);
      assert.equal(p.spec!.initContainers, undefined, `${p.metadata!.name}: no reporter`);
      assert.deepEqual(p.spec!.containers.map((c) => c.name), ['app']);
      assert.equal(p.metadata!.annotations![INJECTED_ANNOTATION], undefined);
    };
    // Injected, each of these would be refused by the API server's own validation (the reporter's
    // Linux securityContext on a Windows pod; a second volume of the same name): skipping is what
    // lets them be created at all.
    untouched(await create('windows-os', { os: { name: 'windows' } }));
    untouched(await create('windows-selector', { nodeSelector: { 'kubernetes.io/os': 'windows' } }));
    assert.equal(await skipped('unsupported') - unsupported0, 2, 'the webhook saw both Windows pods and skipped them as unsupported');
    const own = await create('own-token-volume', { volumes: [{ name: 'dpready-report-token', emptyDir: {} }] });
    untouched(own);
    const mine = own.spec!.volumes!.filter((v) => v.name === 'dpready-report-token');
    assert.equal(mine.length, 1);
    assert.ok(mine[0]!.emptyDir && !mine[0]!.projected, 'the pod\'s own volume, as written');
    assert.equal(await skipped('has-reporter') - hasReporter0, 1, 'the webhook saw the pod with the token volume and skipped it');
    // A mirror pod, as a kubelet posts one for a static pod (here by the admin: the API server's
    // NodeRestriction would limit a node to its own). The ServiceAccount admission plugin refuses a
    // mirror pod that uses a service-account token projection, so an injected one would not exist.
    const mirror = await eventually('mirror pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'static-web', annotations: { ...annotations, 'kubernetes.io/config.mirror': 'mirror-hash' } },
      spec: { nodeName: cp.nodeNames[0]!, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }));
    untouched(mirror);
    assert.equal(await skipped('unsupported') - unsupported0, 3, 'the webhook saw the mirror pod and skipped it as unsupported');
  });

  test('with every webhook replica stopped, pods are still created, and each un-gated one is reported (metric and Event)', async () => {
    const ns = uniqueName('outage');
    await cp.ensureNamespace(ns);
    await cp.kubectl(['label', 'namespace', ns, `${INJECT_LABEL}=enabled`]);
    // Let the running adoption's namespace poll (every 500 ms) see the label before it closes:
    // a closed adoption that still audited pods would report this one a second time (a CI run
    // counted 2 when its last poll happened to land after the label).
    await new Promise((r) => setTimeout(r, 1_200));
    await adoption.close();
    // The audit needs the controller and its namespace list, not the webhook server: restart
    // adoption with its server on a port nobody calls, so the configured URL stays dead.
    adoption = startAdoption(cp.kubeConfig, { ...settings, listen: `127.0.0.1:${await freePort()}` }, controller, testLog, { apiTimeoutMs: 10_000, namespacePollMs: 200 });
    await adoption.ready;
    const started = Date.now();
    const p = await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'while-down', annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://127.0.0.1:1' } },
      spec: { schedulerName: 'none', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }));
    assert.ok(Date.now() - started < 10_000, 'admitted without waiting for the webhook timeout to pile up');
    assert.equal(p.spec!.readinessGates, undefined);
    const ev = await eventually('Warning Event on the pod', async () => {
      const l = await core(cp).listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=while-down` });
      return l.items.find((e) => e.reason === 'DatapathGateNotInjected');
    });
    assert.equal(ev.type, 'Warning');
    const metrics = await controller.metrics.registry.getSingleMetricAsString('dpready_webhook_pods_not_injected_total');
    assert.match(metrics, new RegExp(`dpready_webhook_pods_not_injected_total\\{namespace="${ns}"\\} 1`));
  });
});
