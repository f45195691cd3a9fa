// charts/dpready, rendered and installed by helm (built from its Go module, test/controlplane/helm)
// on the local control plane: it lints, renders every optional part, installs, its RBAC allows
// what the controller does and nothing more (kubectl auth can-i as its ServiceAccount), its
// admission policy confines the controller's pod writes to perf.github.com/ annotations, its pod
// passes the restricted Pod Security level, and the controller, running with the chart's
// ServiceAccount token and flags, keeps the webhook certificate and writes a reporter's report.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { parseAllDocuments } from 'yaml';
import { ANNOTATION_START, CONDITION_TYPE, REPORT_AUDIENCE } from '../../src/contract.ts';
import { conditionPatch } from '../../src/conditions/condition-patch.ts';
import type { DesiredCondition } from '../../src/conditions/decide.ts';
import { Controller } from '../../src/controller/controller.ts';
import { startAdoption, type Adoption } from '../../src/webhook/adoption.ts';
import { core, eventually, uniqueName, useControlPlane } from '../support/cluster.ts';
import { settings, testLog } from '../support/controller.ts';

const run = promisify(execFile);
const CHART = fileURLToPath(new URL('../../charts/dpready', import.meta.url));
const NS = 'dpready-system';
const SA = `system:serviceaccount:${NS}:dpready-controller`;
const cluster = useControlPlane();

interface Obj { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown }

async function helm(args: string[]): Promise<string> {
  const cp = cluster();
  const { stdout } = await run(join(cp.binDir, 'helm'), [...args, '--kubeconfig', cp.kubeconfigPath], {
    env: { ...process.env, HELM_CACHE_HOME: join(cp.dir, 'helm-cache'), HELM_CONFIG_HOME: join(cp.dir, 'helm-config'), HELM_DATA_HOME: join(cp.dir, 'helm-data') },
    maxBuffer: 16 << 20,
  });
  return stdout;
}

async function render(set: string[] = []): Promise<Obj[]> {
  const out = await helm(['template', 'dpready', CHART, '-n', NS, ...set.flatMap((s) => ['--set', s])]);
  return parseAllDocuments(out).map((d) => d.toJS() as Obj).filter(Boolean);
}

async function can(verb: string, resource: string, opts: { ns?: string; sub?: string; name?: string } = {}): Promise<boolean> {
  const args = ['auth', 'can-i', verb, opts.name ? `${resource}/${opts.name}` : resource, `--as=${SA}`];
  if (opts.ns) args.push('-n', opts.ns); else args.push('--all-namespaces');
  if (opts.sub) args.push(`--subresource=${opts.sub}`);
  try {
    return (await cluster().kubectl(args)).stdout.trim() === 'yes';
  } catch (err) {
    if (String((err as { stdout?: string }).stdout ?? '').trim().startsWith('no')) return false;
    throw err;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

describe('charts/dpready', { concurrency: false }, () => {
  let controller: Controller | undefined;
  let adoption: Adoption | undefined;
  after(async () => { await adoption?.close(); await controller?.stop(); });

  test('lints, and renders every optional part', async () => {
    await helm(['lint', '--strict', CHART]);
    const objs = await render(['statsApi.token=s3cret', 'metrics.podMonitor.enabled=true', 'metrics.serviceMonitor.enabled=true',
      'metrics.prometheusRule.enabled=true', 'metrics.dashboard.enabled=true', 'controller.resultsTtl=24h', 'webhook.defaultTarget=tcp://kubernetes.default.svc:443']);
    const kinds = objs.map((o) => o.kind).sort();
    for (const k of ['Deployment', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'PodMonitor', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'Secret']) assert.ok(kinds.includes(k), k);
    const dep = objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: Array<{ args: string[] }> } } } };
    const args = dep.spec.template.spec.containers[0]!.args;
    for (const a of ['--leader-elect', '--webhook-listen=:8443', '--webhook-cert-names=dpready-webhook.dpready-system.svc', '--result-ttl=24h',
      '--api-token-file=/etc/dpready/stats-api/token', '--inject-default-target=tcp://kubernetes.default.svc:443', '--reporter-image=ghcr.io/dpready/dpready:0.1.0']) assert.ok(args.includes(a), a);
    const dash = objs.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    assert.deepEqual(JSON.parse(dash.data['dpready.json']!), JSON.parse(readFileSync(join(CHART, 'files/dashboard.json'), 'utf8')));
    const mwc = objs.find((o) => o.kind === 'MutatingWebhookConfiguration') as unknown as { webhooks: Array<{ failurePolicy: string; timeoutSeconds: number; namespaceSelector: { matchExpressions: Array<{ key: string; values: string[] }> } }> };
    for (const w of mwc.webhooks) {
      assert.equal(w.failurePolicy, 'Ignore');
      assert.ok(w.timeoutSeconds <= 5);
      assert.deepEqual(w.namespaceSelector.matchExpressions[0]!.values, ['kube-system', NS]);
    }
    // Switches: webhook off removes it and its permissions; replicas and image follow values.
    const off = await render(['webhook.enabled=false', 'replicas=3', 'image.tag=9.9.9']);
    // Only the pods/status policy stays: the controller patches its condition with or without the webhook.
    assert.deepEqual(off.filter((o) => /Webhook|AdmissionPolicy/.test(o.kind)).map((o) => o.metadata.name), ['dpready-controller-own-condition', 'dpready-controller-own-condition']);
    const role = off.find((o) => o.kind === 'ClusterRole') as unknown as { rules: Array<{ resources: string[]; verbs: string[] }> };
    assert.ok(!role.rules.some((r) => r.resources.includes('tokenreviews') || (r.resources.includes('pods') && r.verbs.includes('patch'))));
    const dep3 = off.find((o) => o.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } } };
    assert.equal(dep3.spec.replicas, 3);
    assert.equal(dep3.spec.template.spec.containers[0]!.image, 'ghcr.io/dpready/dpready:9.9.9');
    // One pods/status policy, two ways to install it (labels are each installer's own).
    const noLabels = (o: Obj) => ({ ...o, metadata: { name: o.metadata.name } });
    const manifestPolicy = parseAllDocuments(readFileSync(new URL('../../manifests/controller-policy.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as Obj);
    assert.deepEqual(objs.filter((o) => o.metadata.name === 'dpready-controller-own-condition').map(noLabels), manifestPolicy);
    // One CRD, two ways to install it.
    assert.equal(readFileSync(join(CHART, 'crds/datapathresults.yaml'), 'utf8'), readFileSync(new URL('../../manifests/crd.yaml', import.meta.url), 'utf8'));
  });

  test('installs on the control plane', async () => {
    const out = await helm(['install', 'dpready', CHART, '-n', NS, '--create-namespace']);
    assert.match(out, /STATUS: deployed/);
    const cp = cluster();
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/datapathresults.perf.github.com']);
    await cp.kubectl(['get', 'mutatingwebhookconfiguration/dpready', 'validatingadmissionpolicy/dpready-controller-own-annotations',
      'validatingadmissionpolicy/dpready-controller-own-condition', 'validatingadmissionpolicy/dpready-controller-cabundle-only', '-n', NS]);
    await cp.kubectl(['-n', NS, 'get', 'deploy/dpready-controller', 'svc/dpready', 'svc/dpready-webhook', 'sa/dpready-controller']);
  });

  test('the stats API has a token by default: generated into a Secret, kept across upgrades', async () => {
    const token = async () => Buffer.from((await core(cluster()).readNamespacedSecret({ name: 'dpready-stats-token', namespace: NS })).data!.token!, 'base64').toString();
    const first = await token();
    assert.match(first, /^[A-Za-z0-9]{40}$/);
    const dep = (await render()).find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } };
    assert.ok(dep.spec.template.spec.containers[0]!.args.includes('--api-token-file=/etc/dpready/stats-api/token'));
    await helm(['upgrade', 'dpready', CHART, '-n', NS]);
    assert.equal(await token(), first);
    const open = (await render(['statsApi.generateToken=false'])).find((o) => o.kind === 'Deployment') as unknown as typeof dep;
    assert.ok(!open.spec.template.spec.containers[0]!.args.some((a) => a.startsWith('--api-token-file')));
  });

  test('RBAC: the controller may do what it does', async () => {
    const allowed: Array<[string, string, { ns?: string; sub?: string; name?: string }?]> = [
      ['list', 'pods'], ['watch', 'pods'], ['get', 'pods', { ns: 'team-a' }], ['patch', 'pods', { ns: 'team-a', sub: 'status' }],
      ['patch', 'pods', { ns: 'team-a' }], ['create', 'tokenreviews.authentication.k8s.io'], ['list', 'namespaces'],
      ['create', 'events', { ns: 'team-a' }],
      ['list', 'datapathresults.perf.github.com', { ns: NS }], ['create', 'datapathresults.perf.github.com', { ns: NS }],
      ['update', 'datapathresults.perf.github.com', { ns: NS }], ['delete', 'datapathresults.perf.github.com', { ns: NS }],
      ['create', 'leases.coordination.k8s.io', { ns: NS }], ['update', 'leases.coordination.k8s.io', { ns: NS, name: 'dpready-controller' }],
      ['create', 'secrets', { ns: NS }], ['get', 'secrets', { ns: NS, name: 'dpready-webhook-tls' }], ['update', 'secrets', { ns: NS, name: 'dpready-webhook-tls' }],
      ['get', 'mutatingwebhookconfigurations.admissionregistration.k8s.io', { name: 'dpready' }],
      ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io', { name: 'dpready' }],
    ];
    for (const [verb, res, o] of allowed) assert.equal(await can(verb, res, o), true, `may ${verb} ${res} ${JSON.stringify(o ?? {})}`);
  });

  test('RBAC: and nothing more (least privilege)', async () => {
    const denied: Array<[string, string, { ns?: string; sub?: string; name?: string }?]> = [
      ['create', 'pods', { ns: 'team-a' }], ['update', 'pods', { ns: 'team-a' }], ['delete', 'pods', { ns: 'team-a' }],
      ['create', 'pods', { ns: 'team-a', sub: 'exec' }], ['get', 'pods', { ns: 'team-a', sub: 'log' }],
      ['get', 'secrets', { ns: NS }], ['list', 'secrets', { ns: NS }], ['get', 'secrets', { ns: 'team-a', name: 'dpready-webhook-tls' }],
      ['update', 'secrets', { ns: NS, name: 'other' }], ['list', 'secrets'], ['watch', 'namespaces'], ['get', 'namespaces', { name: 'team-a' }],
      ['patch', 'namespaces', { name: 'team-a' }], ['patch', 'events', { ns: 'team-a' }],
      ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io', { name: 'someone-else' }],
      ['list', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'], ['create', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'],
      ['patch', 'validatingadmissionpolicies.admissionregistration.k8s.io', { name: 'dpready-controller-own-annotations' }],
      ['create', 'datapathresults.perf.github.com', { ns: 'team-a' }], ['patch', 'datapathresults.perf.github.com', { ns: NS }],
      ['update', 'leases.coordination.k8s.io', { ns: NS, name: 'kube-scheduler' }], ['create', 'leases.coordination.k8s.io', { ns: 'kube-system' }],
      ['create', 'serviceaccounts', { ns: 'team-a', sub: 'token' }], ['create', 'subjectaccessreviews.authorization.k8s.io'],
      ['impersonate', 'serviceaccounts'], ['list', 'nodes'], ['list', 'configmaps'],
    ];
    for (const [verb, res, o] of denied) assert.equal(await can(verb, res, o), false, `may not ${verb} ${res} ${JSON.stringify(o ?? {})}`);
  });

  test('serviceAccount.create=false: a pre-made ServiceAccount gets the chart\'s RBAC and the pods, and no account is made', async () => {
    const cp = cluster();
    const ns = 'team-platform';
    const as = `system:serviceaccount:${ns}:team-identity`;
    await cp.ensureNamespace(ns);
    await core(cp).createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'team-identity' } } });
    const out = await helm(['install', 'platform', CHART, '-n', ns, '--set', 'serviceAccount.create=false,serviceAccount.name=team-identity']);
    assert.match(out, /STATUS: deployed/);
    const accounts = (await core(cp).listNamespacedServiceAccount({ namespace: ns })).items.map((a) => a.metadata!.name);
    assert.ok(!accounts.includes('platform-dpready-controller'), accounts.join(','));
    const dep = JSON.parse((await cp.kubectl(['-n', ns, 'get', 'deploy/platform-dpready-controller', '-o', 'json'])).stdout) as { spec: { template: { spec: { serviceAccountName: string } } } };
    assert.equal(dep.spec.template.spec.serviceAccountName, 'team-identity');
    const canAs = async (args: string[]) => (await cp.kubectl(['auth', 'can-i', ...args, `--as=${as}`]).then((r) => r.stdout, (e: { stdout?: string }) => e.stdout ?? '')).trim();
    assert.equal(await canAs(['list', 'pods', '--all-namespaces']), 'yes');
    assert.equal(await canAs(['update', 'leases.coordination.k8s.io/platform-dpready-controller', '-n', ns]), 'yes');
    assert.equal(await canAs(['create', 'datapathresults.perf.github.com', '-n', ns]), 'yes');
    assert.equal(await canAs(['update', 'secrets/platform-dpready-webhook-tls', '-n', ns]), 'yes');
    assert.equal(await canAs(['get', 'secrets', '-n', ns]), 'no');
    // The admission policy confines the account the pods run as.
    const vap = JSON.parse((await cp.kubectl(['get', 'validatingadmissionpolicy/platform-dpready-controller-own-annotations', '-o', 'json'])).stdout) as { spec: { matchConditions: Array<{ expression: string }> } };
    assert.match(vap.spec.matchConditions[0]!.expression, new RegExp(`'${as}'`));
    await helm(['uninstall', 'platform', '-n', ns]);
  });

  test('the admission policy confines the controller\'s pod writes to perf.github.com/ annotations', async () => {
    const cp = cluster();
    const ns = uniqueName('vap');
    await cp.ensureNamespace(ns);
    await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'p', labels: { app: 'x' }, annotations: { owner: 'team' } }, spec: { schedulerName: 'none', containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } } }));
    const patch = (body: object) => cp.kubectl(['-n', ns, 'patch', 'pod', 'p', '--type=merge', '-p', JSON.stringify(body), `--as=${SA}`]);
    await patch({ metadata: { annotations: { [ANNOTATION_START]: '2026-11-30T12:00:00.000Z' } } });
    // The policy reaches the API server's admission a moment after it is created: retry the first refusal.
    await eventually('label change refused', () => patch({ metadata: { labels: { app: 'y' } } }).then(() => false, (e: { stderr?: string }) => /perf\.github\.com/.test(e.stderr ?? '')));
    await assert.rejects(patch({ metadata: { annotations: { owner: 'me' } } }), (e: { stderr?: string }) => /only add, change or remove annotations under perf\.github\.com/.test(e.stderr ?? ''));
    await assert.rejects(patch({ spec: { activeDeadlineSeconds: 5 } }), (e: { stderr?: string }) => /Forbidden|forbidden|nothing else/.test(e.stderr ?? ''));
    // The same patches as an administrator go through: it is this identity that is confined.
    await cp.kubectl(['-n', ns, 'patch', 'pod', 'p', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { app: 'y' } } })]);
  });

  test('the controller may change only caBundle of its MutatingWebhookConfiguration: widening the rules is refused', async () => {
    const cp = cluster();
    const patch = (ops: object[]) => cp.kubectl(['patch', 'mutatingwebhookconfiguration', 'dpready', '--type=json', '-p', JSON.stringify(ops), `--as=${SA}`]);
    await eventually('widening the rules refused', () => patch([{ op: 'add', path: '/webhooks/0/rules/0/resources/-', value: 'secrets' }])
      .then(() => false, (e: { stderr?: string }) => /only change webhooks\[\*\]\.clientConfig\.caBundle/.test(e.stderr ?? '')));
    const refused = (e: { stderr?: string }) => /caBundle/.test(e.stderr ?? '');
    await assert.rejects(patch([{ op: 'replace', path: '/webhooks/0/namespaceSelector', value: {} }]), refused);
    await assert.rejects(patch([{ op: 'remove', path: '/webhooks/1/objectSelector' }]), refused);
    await assert.rejects(patch([{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Fail' }]), refused);
    await assert.rejects(patch([{ op: 'replace', path: '/webhooks/0/clientConfig/service/path', value: '/elsewhere' }]), refused);
    await assert.rejects(patch([{ op: 'remove', path: '/webhooks/1' }]), refused);
    // caBundle is what the controller keeps (src/webhook/cert-keeper.ts): allowed.
    await patch([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from('not yet a CA').toString('base64') }]);
    const mwc = await cp.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'dpready' });
    assert.deepEqual(mwc.webhooks![0]!.rules![0]!.resources, ['pods']);
  });

  test('on pods/status the controller may change only its own condition: a label sent there with its token is refused', async () => {
    const cp = cluster();
    const ns = uniqueName('vap-status');
    await cp.ensureNamespace(ns);
    const pod = await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      metadata: { name: 'p', labels: { app: 'x' } }, spec: { schedulerName: 'none', containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } } }));
    // The stolen-token case itself: a PATCH straight to pods/status with the controller's own
    // token (kubectl patch --subresource=status would GET the subresource first, which RBAC refuses).
    const token = (await core(cp).createNamespacedServiceAccountToken({ name: 'dpready-controller', namespace: NS, body: {
      spec: { audiences: [], expirationSeconds: 600 } } })).status!.token!;
    const agent = new Agent({ connect: { ca: readFileSync(cp.pki.caCert) } });
    const patch = async (body: object) => {
      const res = await fetch(`${cp.server}/api/v1/namespaces/${ns}/pods/p/status`, { method: 'PATCH', dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/strategic-merge-patch+json' }, body: JSON.stringify(body) });
      return { status: res.status, message: String((await res.json() as { message?: string }).message ?? '') };
    };
    try {
      // The policy reaches the API server's admission a moment after it is created: retry the first refusal.
      const first = await eventually('label change through pods/status refused', async () => {
        const r = await patch({ metadata: { labels: { app: 'stolen' } } });
        return r.status !== 200 && r;
      });
      assert.equal(first.status, 403, first.message);
      assert.match(first.message, /may not change a pod's metadata through pods\/status/);
      const refusedWith = async (body: object, re: RegExp) => {
        const r = await patch(body);
        assert.equal(r.status, 403, JSON.stringify(body));
        assert.match(r.message, re);
      };
      await refusedWith({ metadata: { annotations: { owner: 'me' } } }, /metadata through pods\/status/);
      await refusedWith({ metadata: { finalizers: ['example.com/hold'] } }, /metadata through pods\/status/);
      await refusedWith({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }, /only change the perf\.github\.com\/datapath-ready condition/);
      await refusedWith({ status: { podIP: '10.9.9.9', podIPs: [{ ip: '10.9.9.9' }] } }, /datapath-ready condition/);
      // What the controller sends (src/conditions/condition-patch.ts) goes through, pending and then ready.
      const uid = pod.metadata!.uid!;
      const steps: DesiredCondition[] = [{ status: 'False', reason: 'AwaitingReporter', message: 'waiting for the reporter' }, { status: 'True', reason: 'DatapathReady', message: 'reached' }];
      for (const desired of steps) {
        const r = await patch(conditionPatch(uid, undefined, desired, new Date())!);
        assert.equal(r.status, 200, r.message);
      }
      const p = await core(cp).readNamespacedPod({ namespace: ns, name: 'p' });
      assert.deepEqual(p.metadata!.labels, { app: 'x' });
      assert.equal(p.status!.conditions!.find((c) => c.type === CONDITION_TYPE)?.status, 'True');
      assert.equal(p.status!.conditions!.find((c) => c.type === 'Ready'), undefined);
    } finally {
      await agent.close();
    }
  });

  test('the controller pod passes the restricted Pod Security level', async () => {
    const cp = cluster();
    await cp.kubectl(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted', '--overwrite']);
    const dep = (await render()).find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: object } } };
    await cp.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'template', namespace: NS }, spec: dep.spec.template.spec }));
  });

  test('the Helm path of examples/: classicReporter.namespaces gives the reporter its identity and policy; applying every example changes nothing of the chart', async () => {
    const cp = cluster();
    const ns = uniqueName('examples');
    await cp.ensureNamespace(ns);
    // The reporter's cluster-wide policy is the same object as manifests/reporter.yaml's.
    const manifestVap = parseAllDocuments(readFileSync(new URL('../../manifests/reporter.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as Obj)
      .filter((o) => o?.kind?.startsWith('ValidatingAdmissionPolicy'));
    const chartVap = (await render([`classicReporter.namespaces={${ns}}`])).filter((o) => o.metadata.name === 'dpready-reporter-own-pod-annotations');
    assert.deepEqual(chartVap, manifestVap);
    await helm(['upgrade', 'dpready', CHART, '-n', NS, '--set', `classicReporter.namespaces={${ns}}`]);
    // resourceVersion of objects nothing else writes; the Deployment's generation (its status moves on its own).
    const rv = async () => (await cp.kubectl(['get', 'clusterrole/dpready-controller', 'mutatingwebhookconfiguration/dpready', 'role/dpready-controller',
      '-n', NS, '-o', 'jsonpath={range .items[*]}{.metadata.resourceVersion} {end}'])).stdout
      + (await cp.kubectl(['get', 'deploy/dpready-controller', '-n', NS, '-o', 'jsonpath={.metadata.generation}'])).stdout;
    const before = await rv();
    // Every example but reporter-rbac.yaml (its objects are the chart's now), as a user would, into that namespace.
    const examples = new URL('../../examples/', import.meta.url);
    for (const file of ['deployment-sidecar.yaml', 'deployment-init.yaml', 'job.yaml', 'pod-to-pod.yaml']) {
      await cp.kubectl(['apply', '-f', '-'], readFileSync(new URL(file, examples), 'utf8').replaceAll('dpready-examples', ns));
    }
    assert.equal(await rv(), before, 'the chart\'s ClusterRole, Deployment, webhook configuration and Role are untouched');
    const reporter = `system:serviceaccount:${ns}:dpready-reporter`;
    assert.equal((await cp.kubectl(['auth', 'can-i', 'patch', 'pods', '-n', ns, `--as=${reporter}`])).stdout.trim(), 'yes');
    await cp.kubectl(['get', 'validatingadmissionpolicybinding/dpready-reporter-own-pod-annotations']);
    // And the release still upgrades cleanly (nothing of it was taken over), injection configuration intact.
    await helm(['upgrade', 'dpready', CHART, '-n', NS, '--set', `classicReporter.namespaces={${ns}}`]);
    const mwc = await cp.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'dpready' });
    assert.deepEqual(mwc.webhooks!.map((w) => w.name), ['namespace.inject.dpready.perf.github.com', 'pod.inject.dpready.perf.github.com']);
    await cp.kubectl(['delete', 'namespace', ns, '--wait=false']);
    await helm(['upgrade', 'dpready', CHART, '-n', NS]);
  });

  test('with the chart\'s ServiceAccount and flags, the controller keeps the webhook certificate and writes a report', async () => {
    const cp = cluster();
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(await cp.serviceAccountKubeconfig(NS, 'dpready-controller'));
    controller = new Controller(kc, settings({ leaderElect: true, leaseNamespace: NS, leaseName: 'dpready-controller', resultsNamespace: NS }), testLog);
    const port = await freePort();
    adoption = startAdoption(kc, {
      listen: `127.0.0.1:${port}`, namespace: NS, configName: 'dpready', secretName: 'dpready-webhook-tls',
      certNames: ['dpready-webhook.dpready-system.svc', '127.0.0.1'], reporterImage: 'img', reportUrl: `https://127.0.0.1:${port}`, excludedNamespaces: ['kube-system', NS],
    }, controller, testLog, { apiTimeoutMs: 10_000 });
    await controller.start();
    await adoption.ready;
    await eventually('leading', async () => controller!.isLeader);
    const mwc = await cp.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'dpready' });
    for (const w of mwc.webhooks!) assert.equal(w.clientConfig.caBundle, Buffer.from(adoption.bundle!.caBundle).toString('base64'));

    const ns = uniqueName('chart-report');
    await cp.ensureNamespace(ns);
    const pod = await eventually('pod created', () => core(cp).createNamespacedPod({ namespace: ns, body: {
      // Gated: the report endpoint takes reports only from pods that asked for dpready.
      metadata: { name: 'app' }, spec: { schedulerName: 'none', readinessGates: [{ conditionType: 'perf.github.com/datapath-ready' }], containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } } }));
    const token = (await core(cp).createNamespacedServiceAccountToken({ name: 'default', namespace: ns, body: {
      spec: { audiences: [REPORT_AUDIENCE], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'app', uid: pod.metadata!.uid! } } } })).status!.token!;
    const agent = new Agent({ connect: { ca: adoption.bundle!.caBundle } });
    const res = await fetch(`https://127.0.0.1:${port}/report/v1/annotations`, { method: 'PATCH', dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { annotations: { [ANNOTATION_START]: '2026-11-30T12:00:00.000Z' } } }) });
    assert.equal(res.status, 200, await res.text());
    const p = await core(cp).readNamespacedPod({ namespace: ns, name: 'app' });
    assert.equal(p.metadata!.annotations![ANNOTATION_START], '2026-11-30T12:00:00.000Z');
    await agent.close();
  });
  // Last: it runs and stops two more controllers in this process, which the report test above must not follow.
  test('controller.shards=2: one Deployment per shard, and RBAC for each shard\'s Lease (each shard elects its leader)', async () => {
    const objs = await render(['controller.shards=2']);
    const deps = objs.filter((o) => o.kind === 'Deployment') as unknown as Array<{ metadata: { name: string }; spec: { selector: { matchLabels: Record<string, string> }; template: { spec: { containers: Array<{ args: string[] }> } } } }>;
    assert.deepEqual(deps.map((d) => d.metadata.name), ['dpready-controller-shard-0', 'dpready-controller-shard-1']);
    for (const [i, d] of deps.entries()) {
      const args = d.spec.template.spec.containers[0]!.args;
      assert.ok(args.includes('--shards=2') && args.includes(`--shard-index=${i}`) && args.includes('--leader-elect-name=dpready-controller'), args.join(' '));
      assert.equal(d.spec.selector.matchLabels['dpready-shard'], String(i));
    }
    // Installed (an upgrade of the release above), the ServiceAccount may hold both shards' Leases.
    await helm(['upgrade', 'dpready', CHART, '-n', NS, '--set', 'controller.shards=2']);
    for (const name of ['dpready-controller-shard-0', 'dpready-controller-shard-1']) assert.equal(await can('update', 'leases.coordination.k8s.io', { ns: NS, name }), true, name);
    assert.equal(await can('update', 'leases.coordination.k8s.io', { ns: NS, name: 'dpready-controller-shard-2' }), false);
    // Two controllers as the chart runs them (its ServiceAccount, --shards 2): each leads its own shard.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(await cluster().serviceAccountKubeconfig(NS, 'dpready-controller'));
    const shards = [0, 1].map((index) => new Controller(kc, settings({ leaderElect: true, leaseNamespace: NS, leaseName: `dpready-controller-shard-${index}`,
      shard: { count: 2, index }, resultsNamespace: NS }), testLog));
    try {
      await Promise.all(shards.map((c) => c.start()));
      await eventually('both shards lead', async () => shards.every((c) => c.isLeader), 30_000);
    } finally {
      await Promise.all(shards.map((c) => c.stop()));
      await helm(['upgrade', 'dpready', CHART, '-n', NS]);
    }
  });
});
