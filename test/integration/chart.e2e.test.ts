// Adoption end to end on the real node: `helm install charts/dpready` (dpready's own image, built
// from the Dockerfile), a namespace labelled for injection, and a workload written as its team
// writes it (its own ServiceAccount, no gate, no reporter, no RBAC for dpready): the webhook
// served by the controller pods injects the gate and the reporter, the kubelet projects the
// audience-bound token, the reporter reports to the controller through the webhook Service, and
// the pods are gated and measured. Nothing is simulated: the real kubelet holds pods not Ready.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, CONDITION_TYPE, ConditionReason, INJECT_LABEL, INJECT_TARGET_ANNOTATION, REPORTER_CONTAINER, resultName,
} from '../../src/contract.ts';
import { startControlPlane, type ControlPlane } from '../../src/devcluster/control-plane.ts';
import { NODE_IMAGES, targetObjects } from '../../src/devcluster/node-workloads.ts';
import { REAL_NODE_NAME } from '../../src/devcluster/real-node.ts';
import { eventually } from '../support/cluster.ts';
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
