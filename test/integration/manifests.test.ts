// The kustomize base in manifests/ against a real API server: every object it renders is
// accepted and stored, the controller's RBAC allows exactly what the controller does (checked
// by impersonating its ServiceAccount), and its pod template passes the namespace's
// "restricted" Pod Security level. No nodes are needed: nothing here runs the image.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CRD_NAME } from '../../src/contract.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { useControlPlane } from '../support/cluster.ts';

const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url));
const NS = 'dpready-system';
const SA = `system:serviceaccount:${NS}:dpready-controller`;

const cluster = useControlPlane();

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

async function render(cp: ControlPlane, dir = MANIFESTS): Promise<Obj[]> {
  const { stdout } = await cp.kubectl(['kustomize', dir]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter(Boolean);
}

function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} rendered`);
  return o;
}

/** `kubectl auth can-i` as the controller: true for "yes", false for "no" (exit code 1). */
async function can(cp: ControlPlane, verb: string, resource: string, opts: { ns?: string; sub?: string; as?: string } = {}): Promise<boolean> {
  const as = opts.as ?? SA;
  const args = ['auth', 'can-i', verb, resource, ...(as ? [`--as=${as}`] : [])];
  if (opts.ns) args.push('-n', opts.ns); else args.push('--all-namespaces');
  if (opts.sub) args.push(`--subresource=${opts.sub}`);
  try {
    const { stdout } = await cp.kubectl(args);
    return stdout.trim() === 'yes';
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '').trim();
    if (out.startsWith('no')) return false;
    throw err;
  }
}

describe('manifests/ kustomize base', { concurrency: false }, () => {
  let objs: Obj[] = [];

  test('renders the objects the install needs', async () => {
    objs = await render(cluster());
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`).sort();
    for (const want of [
      `CustomResourceDefinition/${CRD_NAME}`, `Namespace/${NS}`,
      `ServiceAccount/${NS}/dpready-controller`, 'ClusterRole/dpready-controller', 'ClusterRoleBinding/dpready-controller',
      `Role/${NS}/dpready-controller-leader-election`, `RoleBinding/${NS}/dpready-controller-leader-election`,
      `Role/${NS}/dpready-controller-results`, `RoleBinding/${NS}/dpready-controller-results`,
      // pods/status confined to the controller's own condition (manifests/controller-policy.yaml)
      'ValidatingAdmissionPolicy/dpready-controller-own-condition', 'ValidatingAdmissionPolicyBinding/dpready-controller-own-condition',
      `Deployment/${NS}/dpready-controller`, `Service/${NS}/dpready`, `PodDisruptionBudget/${NS}/dpready-controller`,
      // the reporter's part (manifests/reporter.yaml)
      'ServiceAccount/default/dpready-reporter', 'Role/default/dpready-reporter', 'RoleBinding/default/dpready-reporter',
      'ValidatingAdmissionPolicy/dpready-reporter-own-pod-annotations', 'ValidatingAdmissionPolicyBinding/dpready-reporter-own-pod-annotations',
    ]) assert.ok(kinds.includes(want), `${want} in ${kinds.join(', ')}`);
    for (const o of objs) assert.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'dpready', `${o.kind}/${o.metadata.name} labelled`);

    const dep = find(objs, 'Deployment', 'dpready-controller') as unknown as { spec: {
      replicas: number; selector: { matchLabels: Record<string, string> };
      strategy: { rollingUpdate: { maxUnavailable: number } };
      template: { spec: {
        serviceAccountName: string; securityContext: Record<string, unknown>;
        containers: Array<{ image: string; args: string[]; env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
          ports: Array<{ name: string; containerPort: number }>;
          livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } };
          resources: { requests: Record<string, string>; limits: Record<string, string> };
          securityContext: { readOnlyRootFilesystem: boolean; runAsNonRoot: boolean; allowPrivilegeEscalation: boolean;
            capabilities: { drop: string[] }; seccompProfile: { type: string } } }>;
      } };
    } };
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.strategy.rollingUpdate.maxUnavailable, 0);
    // Labels added by kustomize must not leak into the selector (it is immutable).
    assert.deepEqual(dep.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'dpready', 'app.kubernetes.io/component': 'controller' });
    const pod = dep.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'dpready-controller');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const [c] = pod.containers;
    assert.ok(c);
    assert.equal(c.image, 'ghcr.io/dpready/dpready:0.1.0');
    assert.equal(c.args[0], 'controller');
    assert.ok(c.args.includes('--leader-elect'));
    assert.equal(c.env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    assert.deepEqual(c.ports.map((p) => [p.name, p.containerPort]), [['http', 8080]]);
    assert.deepEqual([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path], ['/healthz', '/readyz']);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.securityContext.seccompProfile.type, 'RuntimeDefault');

    const svc = find(objs, 'Service', 'dpready') as unknown as { spec: { ports: Array<{ name: string; port: number }> } };
    assert.deepEqual(svc.spec.ports.map((p) => [p.name, p.port]), [['http', 8080]]);
    const pdb = find(objs, 'PodDisruptionBudget', 'dpready-controller') as unknown as { spec: { maxUnavailable: number; minAvailable?: number } };
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.equal(pdb.spec.minAvailable, undefined);
  });

  test('kubectl apply -k installs every object, and applying again changes none', async () => {
    const cp = cluster();
    const first = await cp.kubectl(['apply', '-k', MANIFESTS]);
    assert.doesNotMatch(first.stdout + first.stderr, /error|invalid/i);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`]);
    const stored = async () => {
      const versions: string[] = [];
      for (const o of objs) {
        const ns = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
        const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
        const { stdout } = await cp.kubectl(['get', `${o.kind.toLowerCase()}${group}/${o.metadata.name}`, ...ns,
          '-o', 'jsonpath={.metadata.uid} {.metadata.resourceVersion}']);
        assert.match(stdout, /^[0-9a-f-]{36} \d+$/, `${o.kind}/${o.metadata.name} stored`);
        versions.push(stdout);
      }
      return versions;
    };
    const before = await stored();
    const again = await cp.kubectl(['apply', '-k', MANIFESTS]);
    assert.equal(again.stdout.trim().split('\n').length, objs.length);
    // kubectl reports the PDB "configured" every time (its selector patches by replace), so
    // judge by the stored objects: none changed.
    assert.deepEqual(await stored(), before);
    // Server-side apply (what the demo and the e2e test use) agrees with the client-side apply.
    await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-k', MANIFESTS]);
  });

  test('the controller may do what it does, pods and events in every namespace, results in its own', async () => {
    const cp = cluster();
    const allowed: Array<[string, string, { ns?: string; sub?: string }?]> = [
      ['list', 'pods'], ['watch', 'pods'], ['get', 'pods'],
      ['patch', 'pods', { sub: 'status' }], ['patch', 'pods', { ns: 'team-a', sub: 'status' }],
      // Results: only in the results namespace (the controller's own), where they outlive the pods' namespaces.
      ['list', 'datapathresults.perf.github.com', { ns: NS }], ['watch', 'datapathresults.perf.github.com', { ns: NS }],
      ['get', 'datapathresults.perf.github.com', { ns: NS }], ['create', 'datapathresults.perf.github.com', { ns: NS }],
      ['update', 'datapathresults.perf.github.com', { ns: NS }], ['delete', 'datapathresults.perf.github.com', { ns: NS }],
      ['create', 'events', { ns: 'team-a' }],
      ['create', 'leases.coordination.k8s.io', { ns: NS }],
      ['get', 'leases.coordination.k8s.io/dpready-controller', { ns: NS }],
      ['update', 'leases.coordination.k8s.io/dpready-controller', { ns: NS }],
    ];
    for (const [verb, res, opts] of allowed) assert.equal(await can(cp, verb, res, opts), true, `may ${verb} ${res} ${JSON.stringify(opts ?? {})}`);
  });

  test('the controller may do nothing more (least privilege)', async () => {
    const cp = cluster();
    const denied: Array<[string, string, { ns?: string; sub?: string }?]> = [
      // Pods are only read; the one write is our condition through pods/status.
      ['create', 'pods', { ns: 'team-a' }], ['update', 'pods', { ns: 'team-a' }], ['patch', 'pods', { ns: 'team-a' }],
      ['delete', 'pods', { ns: 'team-a' }], ['update', 'pods', { ns: 'team-a', sub: 'status' }],
      ['create', 'pods', { ns: 'team-a', sub: 'eviction' }], ['get', 'pods', { ns: 'team-a', sub: 'log' }],
      ['create', 'pods', { ns: 'team-a', sub: 'exec' }],
      ['patch', 'datapathresults.perf.github.com', { ns: NS }], ['deletecollection', 'datapathresults.perf.github.com', { ns: NS }],
      // Results anywhere but the results namespace.
      ['list', 'datapathresults.perf.github.com'], ['create', 'datapathresults.perf.github.com', { ns: 'team-a' }],
      ['delete', 'datapathresults.perf.github.com', { ns: 'team-a' }],
      // Events are only created (each reason once per pod), never patched, read or deleted.
      ['patch', 'events', { ns: 'team-a' }], ['list', 'events', { ns: 'team-a' }], ['delete', 'events', { ns: 'team-a' }],
      // Leases: only its own, only in its own namespace.
      ['update', 'leases.coordination.k8s.io/kube-scheduler', { ns: NS }], ['delete', 'leases.coordination.k8s.io/dpready-controller', { ns: NS }],
      ['create', 'leases.coordination.k8s.io', { ns: 'kube-system' }], ['get', 'leases.coordination.k8s.io/dpready-controller', { ns: 'kube-system' }],
      ['list', 'leases.coordination.k8s.io', { ns: NS }],
      ['get', 'secrets', { ns: NS }], ['list', 'secrets'], ['list', 'configmaps'], ['list', 'nodes'], ['list', 'namespaces'],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io'], ['create', 'serviceaccounts', { ns: NS, sub: 'token' }],
      ['escalate', 'clusterroles.rbac.authorization.k8s.io'], ['impersonate', 'serviceaccounts'],
    ];
    for (const [verb, res, opts] of denied) assert.equal(await can(cp, verb, res, opts), false, `may not ${verb} ${res} ${JSON.stringify(opts ?? {})}`);
    // The check itself can say yes: the admin (no impersonation) may.
    assert.equal(await can(cp, 'delete', 'pods', { ns: 'team-a', as: '' }), true);
  });

  test('the controller pod template passes the namespace\'s restricted Pod Security level', async () => {
    const cp = cluster();
    const dep = find(objs, 'Deployment', 'dpready-controller') as unknown as { spec: { template: { metadata: object; spec: Record<string, unknown> } } };
    const pod = (name: string, spec: Record<string, unknown>) => JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec,
    });
    // Pods are created from the template by the ReplicaSet; a server-side dry run admits one
    // through the same admission chain (PodSecurity included) without running anything.
    await cp.kubectl(['create', '--dry-run=server', '-f', '-'], pod('template', dep.spec.template.spec));
    // The level is enforced here: the same pod running as root with privilege escalation is refused.
    const containers = (dep.spec.template.spec.containers as Array<Record<string, unknown>>).map((c) => ({
      ...c, securityContext: { allowPrivilegeEscalation: true, runAsNonRoot: false, runAsUser: 0 },
    }));
    const bad = { ...dep.spec.template.spec, securityContext: {}, containers };
    await assert.rejects(cp.kubectl(['create', '--dry-run=server', '-f', '-'], pod('root', bad)),
      (err: { stderr?: string }) => /violates PodSecurity "restricted/.test(err.stderr ?? ''));
  });

  test('an overlay overrides the image with kustomize images:', async () => {
    const cp = cluster();
    const dir = await mkdtemp(join(tmpdir(), 'dpready-overlay-'));
    try {
      await writeFile(join(dir, 'kustomization.yaml'), [
        'resources:', `- ${relative(dir, MANIFESTS)}`,
        'images:', '- name: ghcr.io/dpready/dpready', '  newName: registry.example.com/dpready', '  newTag: 9.9.9', '',
      ].join('\n'));
      const dep = find(await render(cp, dir), 'Deployment', 'dpready-controller') as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
      assert.equal(dep.spec.template.spec.containers[0]?.image, 'registry.example.com/dpready:9.9.9');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
