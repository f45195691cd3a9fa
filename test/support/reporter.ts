// Shared plumbing for tests (and the reporter benchmark) that run the reporter against the
// real local control plane: the reporter manifest applied into a namespace through the
// documented kustomize overlay, pods that are never scheduled, tokens bound to them, and
// the real `dpready reporter` process.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';

import type { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { serviceAccountEnv } from '../../src/devcluster/kubeconfig-file.ts';
import { core, eventually } from './cluster.ts';

export const REPORTER_SA = 'dpready-reporter';
const MANIFEST = fileURLToPath(new URL('../../manifests/reporter.yaml', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** Applies manifests/reporter.yaml the documented way: namespaced part into ns, the policy cluster-wide. */
export async function applyReporterManifest(cp: ControlPlane, ns: string): Promise<void> {
  const overlay = mkdtempSync(join(tmpdir(), 'dpready-reporter-overlay-'));
  try {
    copyFileSync(MANIFEST, join(overlay, 'reporter.yaml'));
    writeFileSync(join(overlay, 'kustomization.yaml'), `namespace: ${ns}\nresources: [reporter.yaml]\n`);
    await cp.kubectl(['apply', '-k', overlay]);
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
}

export interface TestPod { name: string; uid: string; kubeconfig: string }

/**
 * Creates a pod that no scheduler picks up (the object is all reporter tests need) and writes
 * a kubeconfig with a token bound to it, as the kubelet would project one.
 */
export async function createPodWithToken(cp: ControlPlane, ns: string, name: string,
  opts: { serviceAccount?: string; annotations?: Record<string, string>; finalizers?: string[] } = {}): Promise<TestPod> {
  const serviceAccount = opts.serviceAccount ?? REPORTER_SA;
  const body: V1Pod = {
    metadata: { name, ...(opts.annotations ? { annotations: opts.annotations } : {}), ...(opts.finalizers ? { finalizers: opts.finalizers } : {}) },
    spec: {
      serviceAccountName: serviceAccount,
      schedulerName: 'dpready-test-no-such-scheduler',
      containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
    },
  };
  // The ServiceAccount admission plugin may not see a just-created ServiceAccount yet.
  const created = await eventually(`pod ${ns}/${name} created`, () => core(cp).createNamespacedPod({ namespace: ns, body }));
  const uid = created.metadata!.uid!;
  return { name, uid, kubeconfig: await cp.podKubeconfig({ namespace: ns, serviceAccount, podName: name, podUid: uid }) };
}

export { serviceAccountEnv };

/**
 * Runs `dpready reporter` (tsx) with only PATH and env; rejects if it is still running after
 * timeoutMs. A KUBECONFIG in env is turned into the pod's view of its credential (serviceAccountEnv).
 */
export function runReporter(env: Record<string, string>,
  opts: { timeoutMs?: number; onStderr?: (all: string, kill: () => void, pid: number) => void } = {}): Promise<{ code: number | null; stderr: string }> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const { KUBECONFIG: kubeconfig, ...rest } = env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'reporter'], {
      env: { PATH: process.env.PATH ?? '', ...(kubeconfig ? serviceAccountEnv(kubeconfig) : {}), ...rest }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, () => child.kill('SIGTERM'), child.pid!);
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`reporter still running after ${timeoutMs} ms:\n${stderr}`)); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}
