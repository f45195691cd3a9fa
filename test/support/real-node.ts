// Tests on the real node: skipped, with the reason, where the machine cannot run one (not
// root, no cgroups, packages missing). Under CI=true they are never skipped: CI is root on a
// machine that can, so a skip there would hide a broken set-up; the test fails instead, with
// the same reason.
import * as k8s from '@kubernetes/client-node';
import { realNodeUnavailable } from '../../src/devcluster/node-host.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { eventually } from './cluster.ts';

export function realNodeSkip(): string | false {
  if (process.env.CI === 'true') return false;
  return realNodeUnavailable() ?? false;
}

/** The pods of `selector` in `namespace` that are not being deleted. */
export async function livePods(cp: ControlPlane, namespace: string, labelSelector: string): Promise<k8s.V1Pod[]> {
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  return (await core.listNamespacedPod({ namespace, labelSelector })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

export function condition(p: k8s.V1Pod, type: string): k8s.V1PodCondition | undefined {
  return p.status?.conditions?.find((c) => c.type === type);
}

export async function deploymentAvailable(cp: ControlPlane, namespace: string, name: string, replicas: number, timeoutMs = 180_000): Promise<void> {
  const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
  await eventually(`${namespace}/${name}: ${replicas} ready replicas`, async () => {
    const d = await apps.readNamespacedDeployment({ name, namespace });
    const s = d.status;
    return s?.readyReplicas === replicas && s.updatedReplicas === replicas && s.replicas === replicas
      && s.observedGeneration === d.metadata?.generation;
  }, timeoutMs, 250);
}
