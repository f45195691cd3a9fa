// NetworkPolicy on the real node: kube-router's firewall (built from its Go module, started
// with the node) enforces policies on the bridge pod network, and the kernel reports each of
// its commits (nft monitor), which is the truth the policy-enforced instant is judged by.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/devcluster/control-plane.ts';
import { NODE_IMAGES, targetObjects } from '../../src/devcluster/node-workloads.ts';
import { watchEngineCommits } from '../../src/devcluster/policy-engine.ts';
import { eventually } from '../support/cluster.ts';
import { podConnects, podPid } from '../support/policy.ts';
import { deploymentAvailable, livePods, realNodeSkip } from '../support/real-node.ts';

const skip = realNodeSkip();
const NS = 'real-policy';
let cp: ControlPlane | undefined;

before(async () => {
  if (skip) return;
  cp = await startControlPlane({ realNode: true, policyEngine: true });
  await cp.ensureNamespace(NS);
}, { timeout: 30 * 60_000 });

after(async () => {
  // stop() throws when the node (engine included: chains, ipsets) left anything behind.
  await cp?.stop();
});

function cluster(): ControlPlane {
  if (!cp) throw new Error('control plane not started');
  return cp;
}

function pauseDeployment(name: string): k8s.V1Deployment {
  const labels = { app: name };
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS, labels }, spec: {
    replicas: 1, selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: NODE_IMAGES.agnhost, args: ['pause'] }] } },
  } };
}

test('the engine enforces an egress policy: the pod\'s connections to the target stop after the commit nft reports, and come back when it goes', { skip, timeout: 8 * 60_000 }, async (t) => {
  const c = cluster();
  const apps = c.kubeConfig.makeApiClient(k8s.AppsV1Api);
  const net = c.kubeConfig.makeApiClient(k8s.NetworkingV1Api);
  assert.ok(c.realNode?.policyEngine?.running, 'kube-router runs with the node');
  const [forbidden] = targetObjects('forbidden', NS);
  await apps.createNamespacedDeployment({ namespace: NS, body: forbidden });
  await apps.createNamespacedDeployment({ namespace: NS, body: pauseDeployment('client') });
  await apps.createNamespacedDeployment({ namespace: NS, body: pauseDeployment('bystander') });
  await deploymentAvailable(c, NS, 'forbidden', 1);
  await deploymentAvailable(c, NS, 'client', 1);
  await deploymentAvailable(c, NS, 'bystander', 1);
  const targetIp = (await livePods(c, NS, 'app=forbidden'))[0]!.status!.podIP!;
  const client = (await livePods(c, NS, 'app=client'))[0]!;
  const clientIp = client.status!.podIP!;
  const pid = await podPid(c, client);
  const bystander = await podPid(c, (await livePods(c, NS, 'app=bystander'))[0]!);
  assert.equal(await podConnects(pid, targetIp, 8080), true, 'before any policy the client reaches the target');

  const engine = await watchEngineCommits();
  try {
    const applied = Date.now();
    await net.createNamespacedNetworkPolicy({ namespace: NS, body: {
      metadata: { name: 'client-no-egress' },
      spec: { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [] },
    } });
    // Poll until a connection fails; the instant it was started bounds enforcement from above.
    let attemptStartedAt = 0;
    await eventually('the client\'s connection to the target refused or dropped', async () => {
      attemptStartedAt = Date.now();
      return !(await podConnects(pid, targetIp, 8080, 500));
    }, 60_000, 50);
    const committed = await eventually('nft reports kube-router\'s commit of the client\'s egress jump',
      async () => engine.programmedAt(clientIp, applied), 5_000);
    t.diagnostic(`policy created → commit ${committed - applied} ms; commit → first failed attempt started ${attemptStartedAt - committed} ms`);
    assert.ok(committed >= applied, 'committed after the policy was created');
    assert.ok(committed <= attemptStartedAt + 20, `committed (${committed}) before the first denied attempt started (${attemptStartedAt}), within nft's report lag`);
    // Only the selected pod is denied: the bystander still reaches the same target.
    assert.equal(await podConnects(bystander, targetIp, 8080), true, 'an unselected pod still reaches the target');
    // And stays denied (no flapping).
    for (let i = 0; i < 3; i++) assert.equal(await podConnects(pid, targetIp, 8080, 500), false, `attempt ${i} after enforcement denied`);

    await net.deleteNamespacedNetworkPolicy({ name: 'client-no-egress', namespace: NS });
    await eventually('the client reaches the target again once the policy is gone', async () => podConnects(pid, targetIp, 8080, 500), 60_000, 100);
  } finally {
    engine.stop();
  }
});
