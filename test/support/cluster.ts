// Shared plumbing for tests that run against the real local control plane.
import { after, before } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../src/devcluster/control-plane.ts';

/** Starts a control plane before the file's tests and always stops it after them. */
export function useControlPlane(opts: ControlPlaneOptions = {}): () => ControlPlane {
  let cp: ControlPlane | undefined;
  before(async () => { cp = await startControlPlane(opts); }, { timeout: 30 * 60_000 });
  after(async () => { await cp?.stop(); });
  return () => {
    if (!cp) throw new Error('control plane not started');
    return cp;
  };
}

/** Polls until fn returns a value that is not undefined/false, or fails with the last error. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) { last = err; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Applies the CRD and waits until the API server serves it. */
export async function installCrd(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['apply', '--server-side', '-f', new URL('../../manifests/crd.yaml', import.meta.url).pathname]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/datapathresults.perf.github.com']);
}

export function core(cp: ControlPlane): k8s.CoreV1Api { return cp.kubeConfig.makeApiClient(k8s.CoreV1Api); }
export function custom(cp: ControlPlane): k8s.CustomObjectsApi { return cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi); }

let counter = 0;
/** A namespace name unique within this process, so tests in one file do not see each other's pods. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${(counter++).toString(36)}`;
}
