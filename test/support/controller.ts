// Runs the real controller in-process against a test control plane.
import { pino } from 'pino';
import { Controller, type ControllerSettings } from '../../src/controller/controller.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';

export const testLog = pino({ level: process.env.DPREADY_TEST_LOG ?? 'silent' });

export function settings(over: Partial<ControllerSettings> = {}): ControllerSettings {
  return {
    namespace: '', datapathTimeoutMs: 60_000, timeoutPolicy: 'fail-closed', pendingGraceMs: 200,
    workers: 8, resyncMs: 60_000, leaderElect: false, leaseNamespace: 'default', leaseName: 'dpready-test',
    apiTimeoutMs: 10_000, ...over,
  };
}

export async function startController(cp: ControlPlane, over: Partial<ControllerSettings> = {}): Promise<Controller> {
  const c = new Controller(cp.kubeConfig, settings(over), testLog);
  await c.start();
  return c;
}
