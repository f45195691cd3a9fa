// Helpers for the NetworkPolicy tests on the real node: a TCP connection made from inside a
// pod's own network namespace (nsenter into its container's process).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';

const run = promisify(execFile);

/** The host pid of one of the pod's running containers (its network namespace is the pod's). */
export async function podPid(cp: ControlPlane, pod: k8s.V1Pod): Promise<number> {
  const ids = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]
    .filter((s) => s.state?.running).map((s) => s.containerID?.replace(/^containerd:\/\//, ''));
  const tasks = (await cp.realNode!.ctr(['tasks', 'ls'])).split('\n');
  for (const id of ids) {
    const row = tasks.find((l) => id && l.startsWith(id) && /RUNNING/.test(l));
    if (row) return Number(row.trim().split(/\s+/)[1]);
  }
  throw new Error(`no running container of ${pod.metadata?.name}`);
}

/** Whether a TCP connection from the pod to ip:port is accepted within timeoutMs (refused and silence both say no). */
export async function podConnects(pid: number, ip: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  const secs = (timeoutMs / 1000).toFixed(3);
  return run('nsenter', ['-t', String(pid), '-n', 'timeout', secs, 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}`])
    .then(() => true, () => false);
}
