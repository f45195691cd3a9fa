// Runs the real controller in-process against a test control plane.
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { Controller, type ControllerSettings } from '../../src/controller/controller.ts';
import { indexListener } from '../../src/controller/main.ts';
import { podSource } from '../../src/controller/pod-views.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';

export const testLog = pino({ level: process.env.DPREADY_TEST_LOG ?? 'silent' });

export function settings(over: Partial<ControllerSettings> = {}): ControllerSettings {
  return {
    namespace: '', datapathTimeoutMs: 60_000, timeoutPolicy: 'fail-closed', pendingGraceMs: 200,
    workers: 8, resyncMs: 60_000, leaderElect: false, leaseNamespace: 'default', leaseName: 'dpready-test',
    apiTimeoutMs: 10_000, ...over,
    // Tests that watch one namespace find the results beside their pods unless they say otherwise.
    resultsNamespace: over.resultsNamespace ?? (over.namespace || 'default'),
  };
}

export async function startController(cp: ControlPlane, over: Partial<ControllerSettings> = {}): Promise<Controller> {
  const c = new Controller(cp.kubeConfig, settings(over), testLog);
  await c.start();
  return c;
}

/** The controller wired to the stats API the way `dpready controller` wires it; use app.inject(). */
export async function startControllerWithApi(cp: ControlPlane, over: Partial<ControllerSettings> = {}): Promise<{ controller: Controller; app: FastifyInstance; index: ResultIndex }> {
  const controller = new Controller(cp.kubeConfig, settings(over), testLog);
  const index = new ResultIndex();
  controller.addResultListener(indexListener(index, testLog));
  const app = await buildApp({ results: index, pods: podSource(controller.store), registry: controller.metrics.registry, isReady: () => controller.synced });
  await controller.start();
  return { controller, app, index };
}

/** The sum of a counter's or gauge's samples whose labels include `labels`, from a controller's registry. */
export async function metricValue(c: Pick<Controller, 'metrics'>, name: string, labels: Record<string, string>): Promise<number> {
  const text = await c.metrics.registry.getSingleMetricAsString(name);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(' ').pop());
  }
  return sum;
}
