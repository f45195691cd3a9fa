// Adoption end to end on the real node: `helm install charts/dpready` (dpready's own image, built
// from the Dockerfile), a namespace labelled for injection, and a workload written as its team
// writes it (its own ServiceAccount, no gate, no reporter, no RBAC for dpready): the webhook
// served by the controller pods injects the gate and the reporter, the kubelet projects the
// audience-bound token, the reporter reports to the controller through the webhook Service, and
// the pods are gated and measured. Nothing is simulated: the real kubelet holds pods not Ready.
// Then, on the same install: every example applied on its Helm path leaves injection working,
// and controller.shards=2 runs both shards, each on its own Lease, each gating its own pods.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, CONDITION_TYPE, ConditionReason, INJECT_LABEL, INJECT_TARGET_ANNOTATION, REPORTER_CONTAINER, resultName,
} from '../../src/contract.ts';
import { shardOf } from '../../src/controller/shard.ts';
import { startControlPlane, type ControlPlane } from '../../src/devcluster/control-plane.ts';
import { NODE_IMAGES, targetObjects } from '../../src/devcluster/node-workloads.ts';
import { REAL_NODE_NAME } from '../../src/devcluster/real-node.ts';
import { eventually, uniqueName } from '../support/cluster.ts';
import { condition, deploymentAvailable, livePods, realNodeSkip } from '../support/real-node.ts';

const run = promisify(execFile);
const skip = realNodeSkip();
const NS = 'adopt';
const SYSTEM = 'dpready-system';
const CHART = fileURLToPath(new URL('../../charts/dpready', import.meta.url));
let cp: ControlPlane | undefined;

function helm(args: string[]) {
  const c = cp!;
  return run(join(c.binDir, 'helm'), [...args, '--kubeconfig', c.kubeconfigPath], {
    env: { ...process.env, HELM_CACHE_HOME: join(c.dir, 'helm-cache'), HELM_CONFIG_HOME: join(c.dir, 'helm-config'), HELM_DATA_HOME: join(c.dir, 'helm-data') },
  });
}

before(async () => {
  if (skip) return;
  cp = await startControlPlane({ nodes: 1, realNode: true });
  const [repository, tag] = NODE_IMAGES.dpready.split(/:(?=[^:/]+$)/);
  await run(join(cp.binDir, 'helm'), ['install', 'dpready', CHART, '-n', SYSTEM, '--create-namespace', '--kubeconfig', cp.kubeconfigPath,
    '--set', `image.repository=${repository},image.tag=${tag},image.pullPolicy=Never`], {
    env: { ...process.env, HELM_CACHE_HOME: join(cp.dir, 'helm-cache'), HELM_CONFIG_HOME: join(cp.dir, 'helm-config'), HELM_DATA_HOME: join(cp.dir, 'helm-data') },
  });
  await deploymentAvailable(cp, SYSTEM, 'dpready-controller', 2);
}, { timeout: 30 * 60_000 });

after(async () => { await cp?.stop(); });

/** A one-pod workload as a team writes it (no gate, no reporter), probing the controller's Service. */
async function plainWorkload(c: ControlPlane, namespace: string, name: string): Promise<void> {
  await c.kubeConfig.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace, body: {
    metadata: { name },
    spec: {
      replicas: 1, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { [INJECT_TARGET_ANNOTATION]: `http://dpready.${SYSTEM}.svc.cluster.local:8080/healthz` } },
        spec: { containers: [{ name: 'app', image: NODE_IMAGES.agnhost, imagePullPolicy: 'Never', args: ['netexec', '--http-port=8080'] }] },
      },
    },
  } });
}

/** The workload's pod, injected by the webhook and gated: reporter present, our condition True, Ready. */
async function injectedAndGated(c: ControlPlane, namespace: string, name: string): Promise<k8s.V1Pod> {
  await deploymentAvailable(c, namespace, name, 1, 240_000);
  const [p] = await livePods(c, namespace, `app=${name}`);
  assert.ok(p, `${namespace}/${name}: a pod`);
  assert.ok(p.spec!.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE), `${namespace}/${name}: gated by the webhook`);
  assert.ok(p.spec!.initContainers?.some((x) => x.name === REPORTER_CONTAINER), `${namespace}/${name}: reporter injected`);
  assert.equal(condition(p, CONDITION_TYPE)?.reason, ConditionReason.DatapathReady, `${namespace}/${name}: condition`);
  assert.equal(condition(p, 'Ready')?.status, 'True');
  return p;
}

test('a workload with its own ServiceAccount in a labelled namespace is gated and measured, with no edit to its manifest', { skip, timeout: 10 * 60_000 }, async (t) => {
  const c = cp!;
  const core = c.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = c.kubeConfig.makeApiClient(k8s.AppsV1Api);
  // The webhook must be reachable before pods are created (failurePolicy Ignore would admit them un-gated).
  await eventually('caBundle patched by the controller', async () => {
    const mwc = await c.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'dpready' });
    return mwc.webhooks!.every((w) => w.clientConfig.caBundle);
  }, 120_000);

  await c.ensureNamespace(NS);
  await c.kubectl(['label', 'namespace', NS, `${INJECT_LABEL}=enabled`]);
  const [targetDeploy, targetSvc] = targetObjects('backend', NS);
  await apps.createNamespacedDeployment({ namespace: NS, body: targetDeploy });
  await core.createNamespacedService({ namespace: NS, body: targetSvc });
  await deploymentAvailable(c, NS, 'backend', 1);
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'web-identity' } } });

  // As its team wrote it. The only dpready thing is the target annotation.
  await apps.createNamespacedDeployment({ namespace: NS, body: {
    metadata: { name: 'web' },
    spec: {
      replicas: 2, selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: 'web' }, annotations: { [INJECT_TARGET_ANNOTATION]: `http://backend.${NS}.svc.cluster.local/healthz` } },
        spec: { serviceAccountName: 'web-identity', containers: [{ name: 'app', image: NODE_IMAGES.agnhost, imagePullPolicy: 'Never', args: ['netexec', '--http-port=8080'] }] },
      },
    },
  } });
  await deploymentAvailable(c, NS, 'web', 2, 240_000);
  const pods = await livePods(c, NS, 'app=web');
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.equal(p.spec!.serviceAccountName, 'web-identity');
    assert.ok(p.spec!.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE), 'gated, first pod included');
    assert.ok(p.spec!.initContainers?.some((x) => x.name === REPORTER_CONTAINER && x.restartPolicy === 'Always'), 'reporter as a native sidecar');
    assert.equal(condition(p, CONDITION_TYPE)?.reason, ConditionReason.DatapathReady);
    assert.equal(condition(p, 'Ready')?.status, 'True');
    assert.ok(p.metadata!.annotations![ANNOTATION_DP_READY], 'the ready instant reached the pod through the controller');
    const result = await eventually('result recorded', () => c.kubeConfig.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({
      group: 'perf.github.com', version: 'v1', plural: 'datapathresults', namespace: SYSTEM, name: resultName(p.metadata!.uid!),
    }).catch(() => undefined), 60_000) as { spec: { outcome: string; metrics: { latDpReadyMs: number } } };
    assert.equal(result.spec.outcome, 'Succeeded');
    t.diagnostic(`${p.metadata!.name}: time to datapath ready ${result.spec.metrics.latDpReadyMs} ms`);
  }
  // No RBAC for dpready was added to the workload's namespace.
  const rbac = c.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  assert.equal((await rbac.listNamespacedRoleBinding({ namespace: NS })).items.length, 0);
});

// A platform team's node drain must complete: at one replica the chart renders no budget (a
// minAvailable: 1 budget at one replica refused every eviction, so `kubectl drain` hung), and the
// controller comes back once the node is schedulable again.
test('one replica: no PodDisruptionBudget, and a drain evicts the controller and completes', { skip, timeout: 10 * 60_000 }, async () => {
  const c = cp!;
  const pdbs = async () => (await c.kubectl(['-n', SYSTEM, 'get', 'pdb', '-o', 'jsonpath={.items[*].spec.maxUnavailable}'])).stdout.trim();
  assert.equal(await pdbs(), '1', 'two replicas: a budget of maxUnavailable 1');
  await helm(['upgrade', 'dpready', CHART, '-n', SYSTEM, '--reuse-values', '--set', 'replicas=1']);
  await deploymentAvailable(c, SYSTEM, 'dpready-controller', 1, 240_000);
  assert.equal(await pdbs(), '', 'one replica: no budget');
  const [before] = await livePods(c, SYSTEM, 'app.kubernetes.io/component=controller');
  assert.equal(before?.spec?.nodeName, REAL_NODE_NAME);
  try {
    // What `kubectl drain` does: cordon, then evict through the Eviction API (which honours budgets).
    await c.kubectl(['drain', REAL_NODE_NAME, '--pod-selector=app.kubernetes.io/component=controller', '--ignore-daemonsets',
      '--delete-emptydir-data', '--timeout=120s']);
    const left = await livePods(c, SYSTEM, 'app.kubernetes.io/component=controller');
    assert.ok(!left.some((p) => p.metadata!.uid === before!.metadata!.uid), 'the controller pod was evicted');
  } finally {
    await c.kubectl(['uncordon', REAL_NODE_NAME]);
  }
  await deploymentAvailable(c, SYSTEM, 'dpready-controller', 1, 240_000);
});

// Issue 19 item 8: following examples/ after `helm install` must not break the install. The
// examples' Helm path (classicReporter.namespaces) gives them their reporter identity and policy
// from the chart; every example is then applied as a user would, and a new pod of an opted-in
// namespace is still injected by the chart's webhook and gets its condition.
test('after helm install, applying every example (its Helm path) leaves injection working: a new pod is injected and gated', { skip, timeout: 10 * 60_000 }, async () => {
  const c = cp!;
  const examplesNs = uniqueName('examples');
  await c.ensureNamespace(examplesNs);
  // The examples' objects are what could clash with the chart; their pods need not run. A quota of
  // zero pods keeps the node for the pod under test, and no image is pulled from a registry.
  await c.kubeConfig.makeApiClient(k8s.CoreV1Api).createNamespacedResourceQuota({ namespace: examplesNs, body: {
    metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
  await helm(['upgrade', 'dpready', CHART, '-n', SYSTEM, '--reuse-values', '--set', `classicReporter.namespaces={${examplesNs}}`]);
  // Every example but reporter-rbac.yaml (its objects are the chart's on this path).
  const examples = new URL('../../examples/', import.meta.url);
  for (const file of ['deployment-sidecar.yaml', 'deployment-init.yaml', 'job.yaml', 'pod-to-pod.yaml']) {
    await c.kubectl(['apply', '-f', '-'], readFileSync(new URL(file, examples), 'utf8').replaceAll('dpready-examples', examplesNs));
  }
  const applied = (await c.kubectl(['-n', examplesNs, 'get', 'deploy,job', '-o', 'name'])).stdout.trim().split('\n');
  assert.equal(applied.filter((n) => n.startsWith('deployment.apps/')).length, 4, applied.join(' '));
  assert.equal(applied.filter((n) => n.startsWith('job.batch/')).length, 1, applied.join(' '));
  await c.kubectl(['-n', SYSTEM, 'rollout', 'status', 'deploy/dpready-controller', '--timeout=240s']);

  const ns = uniqueName('after-examples');
  await c.ensureNamespace(ns);
  await c.kubectl(['label', 'namespace', ns, `${INJECT_LABEL}=enabled`]);
  await plainWorkload(c, ns, 'web');
  await injectedAndGated(c, ns, 'web');
});

// Issue 19 item 10: sharding deployed by the chart. With controller.shards=2 both shard
// Deployments run on the real node, each shard's leader takes its own Lease (the chart's RBAC
// allows it), and a pod gets its condition from the shard its namespace hashes to: only that
// shard's pods/status patch counter moves.
test('controller.shards=2 on the real node: each shard holds its own Lease, and a pod gets its condition from the shard that owns it', { skip, timeout: 12 * 60_000 }, async (t) => {
  const c = cp!;
  await helm(['upgrade', 'dpready', CHART, '-n', SYSTEM, '--reuse-values', '--set', 'controller.shards=2,replicas=1']);
  for (const i of [0, 1]) await deploymentAvailable(c, SYSTEM, `dpready-controller-shard-${i}`, 1, 240_000);
  const shardPods = await Promise.all([0, 1].map(async (i) => {
    const [p] = await livePods(c, SYSTEM, `dpready-shard=${i}`);
    assert.ok(p?.status?.podIP, `shard ${i}: a pod with an IP`);
    return p;
  }));
  const leases = c.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  for (const i of [0, 1]) {
    const holder = await eventually(`shard ${i} holds its Lease`, async () => {
      const l = await leases.readNamespacedLease({ name: `dpready-controller-shard-${i}`, namespace: SYSTEM }).catch(() => undefined);
      const h = l?.spec?.holderIdentity;
      return h?.startsWith(`${shardPods[i]!.metadata!.name}-`) ? h : undefined;
    }, 120_000);
    t.diagnostic(`Lease dpready-controller-shard-${i}: ${holder}`);
  }
  /** pods/status patches a shard's controller has sent (its /metrics, on the pod network). */
  // The chart generates a stats API token by default, and /metrics is behind it.
  const token = Buffer.from((await c.kubeConfig.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name: 'dpready-stats-token', namespace: SYSTEM })).data!.token!, 'base64').toString();
  const patches = async (i: number) => {
    const res = await fetch(`http://${shardPods[i]!.status!.podIP}:8080/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const line = text.split('\n').find((l) => l.startsWith('dpready_kube_api_writes_total{') && l.includes('resource="pods/status"') && l.includes('verb="patch"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const counts = async () => [await patches(0), await patches(1)];
  // One namespace per shard, by the hash the controller uses.
  const owned: string[] = [];
  while (owned.length < 2) {
    const ns = uniqueName('sharded');
    if (shardOf(ns, 2) === owned.length) owned.push(ns);
  }
  for (const [i, ns] of owned.entries()) {
    // Quiet first: what the shards wrote for earlier pods has settled.
    let before = await counts();
    await eventually('shards quiet', async () => {
      await new Promise((r) => setTimeout(r, 2_000));
      const now = await counts();
      const same = now[0] === before[0] && now[1] === before[1];
      before = now;
      return same;
    }, 60_000, 0);
    await c.ensureNamespace(ns);
    await c.kubectl(['label', 'namespace', ns, `${INJECT_LABEL}=enabled`]);
    await plainWorkload(c, ns, 'web');
    await injectedAndGated(c, ns, 'web');
    const after = await counts();
    t.diagnostic(`${ns} (shard ${i}): pods/status patches shard 0 ${before[0]} -> ${after[0]}, shard 1 ${before[1]} -> ${after[1]}`);
    assert.ok(after[i]! > before[i]!, `shard ${i} wrote the condition of ${ns}/web`);
    assert.equal(after[1 - i], before[1 - i], `shard ${1 - i} wrote nothing for ${ns}/web`);
  }
});
