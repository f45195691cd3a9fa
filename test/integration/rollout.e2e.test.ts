// End to end: a rolling update gated on datapath readiness, on a local control plane with
// kube-controller-manager, kube-scheduler and KWOK nodes. The controller runs from the built
// CLI as its own ServiceAccount (so its RBAC is what is tested), and every pod's reporter is a
// real `dpready reporter` process running as that pod's identity.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { fetch } from 'undici';
import { CONDITION_TYPE, ConditionReason } from '../../src/contract.ts';
import { startControllerProcess, type ControllerProcess } from '../../src/devcluster/controller-process.ts';
import { gatedDeployment } from '../../src/devcluster/demo-workload.ts';
import { ProbeTarget } from '../../src/devcluster/probe-target.ts';
import { ReporterRunner } from '../../src/devcluster/reporter-runner.ts';
import { installDpready } from '../../src/devcluster/install.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import { eventually, useControlPlane } from '../support/cluster.ts';

const run = promisify(execFile);
const cluster = useControlPlane({ nodes: 3 });
const NS = 'rollout-e2e';

let controller: ControllerProcess | undefined;
let runner: ReporterRunner | undefined;
let target: ProbeTarget | undefined;

before(async () => {
  // The controller runs from the compiled CLI, as in the image.
  await run('npm', ['run', 'build'], { cwd: new URL('../../', import.meta.url).pathname });
}, { timeout: 5 * 60_000 });

after(async () => {
  await runner?.stop();
  await controller?.stop();
  await target?.close();
});

async function pods(apps: k8s.CoreV1Api) {
  return (await apps.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

const cond = (p: k8s.V1Pod, type: string) => p.status?.conditions?.find((c) => c.type === type);

test('a rolling update waits for datapath readiness and completes once the datapath works', { timeout: 10 * 60_000 }, async () => {
  const cp = cluster();
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
  await installDpready(cp, { workloadNamespaces: [NS] });
  const controllerKubeconfig = await cp.serviceAccountKubeconfig('dpready-system', 'dpready-controller');
  controller = await startControllerProcess(cp, { kubeconfig: controllerKubeconfig, port: await ProbeTarget.reserve().then((t) => t.port),
    built: true, args: [`--namespace=${NS}`, '--datapath-timeout=10m'] });

  target = await ProbeTarget.reserve();
  await target.open();
  await apps.createNamespacedDeployment({ namespace: NS, body: gatedDeployment({ name: 'web', namespace: NS, replicas: 5, target: target.address }) });

  // 1. Pods run, but none is Ready before its reporter has run.
  await eventually('5 pods Running', async () => (await pods(core)).filter((p) => p.status?.phase === 'Running').length === 5, 60_000);
  for (const p of await pods(core)) assert.notEqual(cond(p, 'Ready')?.status, 'True', `${p.metadata?.name} Ready before any reporter ran`);
  runner = new ReporterRunner(cp, { namespace: NS, built: true });
  await runner.start();
  await eventually('5 ready replicas', async () => (await apps.readNamespacedDeployment({ name: 'web', namespace: NS })).status?.readyReplicas === 5, 60_000);
  const firstGen = new Set((await pods(core)).map((p) => p.metadata!.uid!));
  for (const p of await pods(core)) assert.equal(cond(p, CONDITION_TYPE)?.reason, ConditionReason.DatapathReady);

  // 2. Roll out a new template while the datapath is broken: the new pod stays not Ready with
  //    a reason on our condition, and with maxUnavailable 0 no old pod goes away.
  await target.close();
  await apps.patchNamespacedDeployment({ name: 'web', namespace: NS,
    body: { spec: { template: { metadata: { annotations: { 'example.com/revision': '2' } } } } } },
  callOptions({ timeoutMs: 10_000, patch: k8s.PatchStrategy.MergePatch }));
  const stuck = await eventually('a new pod probing a broken datapath', async () => {
    const fresh = (await pods(core)).filter((p) => !firstGen.has(p.metadata!.uid!));
    return fresh.find((p) => p.status?.phase === 'Running' && cond(p, CONDITION_TYPE)?.reason === ConditionReason.Probing);
  }, 60_000);
  // Let the rollout try for a while: nothing may move.
  await new Promise((r) => setTimeout(r, 4_000));
  const during = await pods(core);
  assert.equal(during.filter((p) => firstGen.has(p.metadata!.uid!)).length, 5, 'no old pod removed while the new one is not Ready');
  const stuckNow = during.find((p) => p.metadata!.uid === stuck.metadata!.uid)!;
  assert.equal(cond(stuckNow, 'Ready')?.status, 'False');
  assert.equal(cond(stuckNow, CONDITION_TYPE)?.status, 'False');
  assert.match(cond(stuckNow, CONDITION_TYPE)!.message!, new RegExp(`reporter probing ${target.address.replace(/[/.]/g, '\\$&')}`));

  // What `kubectl describe pod` shows a person for the stuck pod.
  const { stdout: described } = await cp.kubectl(['describe', 'pod', '-n', NS, stuck.metadata!.name!]);
  assert.match(described, /Readiness Gates:\s*\n\s*Type\s+Status\s*\n\s*perf\.github\.com\/datapath-ready\s+False/);
  assert.match(described, /Conditions:[\s\S]*perf\.github\.com\/datapath-ready\s+False/);

  // 3. The datapath comes back: the rollout completes.
  await target.open();
  await eventually('rollout complete', async () => {
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    const s = d.status;
    return s?.updatedReplicas === 5 && s.readyReplicas === 5 && s.replicas === 5 && s.observedGeneration === d.metadata?.generation;
  }, 180_000);
  const finalPods = await pods(core);
  assert.equal(finalPods.filter((p) => firstGen.has(p.metadata!.uid!)).length, 0, 'every old pod replaced');
  const { stdout: describedReady } = await cp.kubectl(['describe', 'pod', '-n', NS, finalPods[0]!.metadata!.name!]);
  assert.match(describedReady, /Readiness Gates:\s*\n\s*Type\s+Status\s*\n\s*perf\.github\.com\/datapath-ready\s+True/);

  // 4. The API reports all ten pods with sensible latencies.
  const stats = await eventually('10 results in the API', async () => {
    const body = await (await fetch(`${controller!.url}/api/v1/time-to-datapath-ready?namespace=${NS}&topN=10`)).json() as {
      count: number; totalFailed: number; worstPods: Array<{ name: string; value: number }>; p50: number; max: number; min: number };
    return body.count === 10 && body;
  }, 60_000);
  assert.equal(stats.totalFailed, 0);
  assert.ok(stats.min > 0, `min ${stats.min} ms`);
  // The new pod that met the broken datapath waited at least the 4 s it was down; nothing took absurdly long.
  const stuckStat = stats.worstPods.find((w) => w.name === stuck.metadata!.name);
  assert.ok(stuckStat && stuckStat.value >= 4_000, JSON.stringify(stats.worstPods));
  assert.ok(stats.max < 120_000, `max ${stats.max} ms`);
  const startStats = await (await fetch(`${controller.url}/api/v1/time-to-start?namespace=${NS}`)).json() as { count: number; max: number };
  assert.equal(startStats.count, 10);
});
