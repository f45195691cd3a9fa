// Scale: N gated pods across the KWOK nodes under one dpready controller process, the
// benchmark playing every pod's reporter (it writes the annotations the moment KWOK runs the
// pod: N reporter processes would not fit on the machine), then DatapathResults topped up to
// `results` through the API server so the controller's index holds them all. Figures: time
// from the last pod created to the last condition True, the controller's peak RSS and CPU
// seconds (from /proc), and its stats API under `clients` concurrent keep-alive clients.
import { Pool } from 'undici';
import { ANNOTATION_DP_READY, ANNOTATION_START, API_VERSION, CONDITION_TYPE, GROUP, KIND, PLURAL, VERSION, resultName } from '../src/contract.ts';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';
import { startControllerProcess } from '../src/devcluster/controller-process.ts';
import { controllerArgs } from './controller-args.ts';
import { deploymentNodeOptions } from './deployment-env.ts';
import { freePort } from './ports.ts';
import { Kube, mapLimit, sleep, until } from './kube.ts';
import { childUsage, type ProcUsage } from './proc-usage.ts';
import { loadPath } from './load.ts';
import { p50p99 } from './stats.ts';

export interface ScaleOptions {
  pods: number; results: number; clients: number; requestsPerRoute: number; namespace: string; built: boolean; log: (line: string) => void;
  /** Receives the figures object at once; it fills in as the run goes, so a capped run still reports what it reached. */
  onFigures?: (f: ScaleFigures) => void;
}
export interface ScaleFigures {
  pods: number;
  nodes: number;
  results: number;
  createSeconds: number;
  /** Last pod created → last condition True seen on a watch. */
  lastCreatedToLastConditionMs: number;
  /** Last pod seen Running (its annotations written at once) → last condition True: the controller's share. */
  lastRunningToLastConditionMs: number;
  resultsLoadSeconds: number;
  controller: { afterPods?: ProcUsage; withResults?: ProcUsage; afterQueries?: ProcUsage };
  /** The controller's V8 heap in use (its own nodejs_heap_size_used_bytes), MiB: live data, unlike RSS. */
  controllerHeapUsedMiB: { afterPods?: number; withResults?: number; afterQueries?: number };
  statsApi: Record<string, { n: number; errors: number; p50: number; p99: number; max: number; reqPerSec: number }>;
  markRssMiB: number;
  pass: boolean;
}

function syntheticSpec(ns: string, i: number) {
  const r = ((i * 2654435761) % 2 ** 32) / 2 ** 32;
  const created = Date.parse('2025-03-01T12:00:00Z') + i * 10;
  const start = 300 + Math.round(2000 * r * r);
  const dp = start + 200 + Math.round(8000 * r ** 4);
  const uid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    apiVersion: API_VERSION, kind: KIND, metadata: { name: resultName(uid), namespace: ns },
    spec: {
      podRef: { namespace: ns, name: `synthetic-${i}`, uid, nodeName: `kwok-node-${i % 50}` },
      timestamps: { createdAt: iso(created), createdAtSource: 'controllerFirstSeen', startTs: iso(created + start), dpReadyTs: iso(created + dp), recordedAt: iso(created + dp + 50) },
      metrics: { latStartMs: start, latDpReadyMs: dp, reporterStartToReadyMs: dp - start },
      labels: { app: `app-${i % 20}` }, outcome: 'Succeeded',
    },
  };
}

async function heapUsedMiB(url: string): Promise<number | undefined> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const v = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  return v === undefined ? undefined : Math.round(Number(v) / 1048576);
}

async function hammer(url: string, path: string, clients: number, requests: number) {
  const pool = new Pool(url, { connections: clients });
  const { latencies, errors, seconds } = await loadPath(pool, path, clients, requests);
  await pool.close();
  return { ...p50p99(latencies), errors, reqPerSec: Math.round(latencies.length / seconds) };
}

export async function scale(cp: ControlPlane, o: ScaleOptions): Promise<ScaleFigures> {
  const ns = o.namespace;
  const writer = new Kube(cp.server, cp, 64);
  const observer = new Kube(cp.server, cp, 4);
  const controller = await startControllerProcess(cp, {
    kubeconfig: cp.kubeconfigPath, port: await freePort(), built: o.built, name: `controller-${ns}`,
    args: controllerArgs(ns),
    // Run it the way manifests/controller.yaml does (its heap cap), not with V8's default for a 24 GiB host.
    env: deploymentNodeOptions(),
  });
  const pid = controller.process.child.pid;
  const annotated = new Set<string>();
  const ready = new Set<string>();
  let lastConditionAt = 0;
  let lastRunningAt = 0;
  let resultsSeen = 0;
  const watches: Array<{ stop(): Promise<void> }> = [];
  const figures: ScaleFigures = {
    pods: o.pods, nodes: cp.nodeNames.length, results: o.results, createSeconds: 0, lastCreatedToLastConditionMs: NaN, lastRunningToLastConditionMs: NaN,
    resultsLoadSeconds: NaN, controller: {}, controllerHeapUsedMiB: {}, statsApi: {}, markRssMiB: 200, pass: false,
  };
  o.onFigures?.(figures);
  try {
    watches.push(await observer.watch(`/api/v1/namespaces/${ns}/pods`, (e) => {
      const pod = e.object;
      const name = pod.metadata.name;
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
      if (!annotated.has(name) && pod.status?.phase === 'Running') {
        // The reporter's first-second case: start and ready in one patch.
        annotated.add(name);
        lastRunningAt = e.at;
        const now = Date.now();
        writer.annotatePod(ns, name, { [ANNOTATION_START]: new Date(now - 50).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() })
          .catch((err: unknown) => o.log(`  annotate ${name} failed: ${String(err)}`));
      }
      if (!ready.has(name) && pod.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True')) {
        ready.add(name);
        lastConditionAt = e.at;
      }
    }));
    watches.push(await observer.watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, (e) => { if (e.type === 'ADDED') resultsSeen++; }));

    const names = Array.from({ length: o.pods }, (_, i) => `scale-${i}`);
    const t0 = Date.now();
    let lastCreatedAt = 0;
    await mapLimit(names, 32, async (name) => {
      await writer.createPod(ns, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'dpready-scale' } },
        spec: { readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
      });
      lastCreatedAt = Math.max(lastCreatedAt, Date.now());
    });
    figures.createSeconds = Math.round((lastCreatedAt - t0) / 100) / 10;
    o.log(`  ${o.pods} pods created in ${figures.createSeconds} s across ${cp.nodeNames.length} KWOK nodes`);
    await until('every condition True', () => ready.size >= o.pods, Math.max(120_000, o.pods * 100), 200);
    figures.lastCreatedToLastConditionMs = lastConditionAt - lastCreatedAt;
    figures.lastRunningToLastConditionMs = lastConditionAt - lastRunningAt;
    o.log(`  last pod created → last condition True: ${figures.lastCreatedToLastConditionMs} ms (last pod Running → last condition True: ${figures.lastRunningToLastConditionMs} ms)`);
    await until('a result for every pod', () => resultsSeen >= o.pods, 300_000, 200);
    figures.controller.afterPods = childUsage(pid);
    figures.controllerHeapUsedMiB.afterPods = await heapUsedMiB(controller.url);

    const extra = o.results - resultsSeen;
    const l0 = Date.now();
    let done = 0;
    await mapLimit(Array.from({ length: Math.max(0, extra) }, (_, i) => i), 48, async (i) => {
      await writer.request('POST', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, syntheticSpec(ns, i));
      if (++done % 10_000 === 0) {
        figures.controller.withResults = childUsage(pid);
        o.log(`  ${done}/${extra} results created; controller RSS ${figures.controller.withResults?.rssMiB} MiB`);
      }
    });
    const statsUrl = `${controller.url}/api/v1/time-to-start?topN=1`;
    await until('the controller to index every result', async () => {
      const r = await fetch(statsUrl).then((x) => x.json() as Promise<{ count?: number; totalSuccessful?: number; totalFailed?: number }>, () => ({}));
      return ((r as { count?: number }).count ?? 0) >= o.results;
    }, 600_000, 1_000);
    figures.resultsLoadSeconds = Math.round((Date.now() - l0) / 100) / 10;
    await sleep(2_000);
    figures.controller.withResults = childUsage(pid);
    figures.controllerHeapUsedMiB.withResults = await heapUsedMiB(controller.url);
    o.log(`  ${o.results} results indexed (${extra} created in ${figures.resultsLoadSeconds} s); controller peak RSS ${figures.controller.withResults?.peakRssMiB} MiB`);

    for (const path of ['/api/v1/time-to-start', '/api/v1/time-to-datapath-ready', '/api/v1/time-to-datapath-ready?labelSelector=app%20in%20(app-3%2Capp-4)&topN=100', '/api/v1/pod-health']) {
      figures.statsApi[path] = await hammer(controller.url, path, o.clients, o.requestsPerRoute);
      const f = figures.statsApi[path]!;
      o.log(`  stats API ${path}: p50 ${f.p50} ms p99 ${f.p99} ms (${f.reqPerSec} req/s, ${f.errors} errors)`);
    }
    figures.controller.afterQueries = childUsage(pid);
    figures.controllerHeapUsedMiB.afterQueries = await heapUsedMiB(controller.url);
    figures.pass = (figures.controller.afterQueries?.peakRssMiB ?? Infinity) <= figures.markRssMiB;
    return figures;
  } finally {
    for (const w of watches) await w.stop();
    await controller.stop();
    await writer.close();
    await observer.close();
  }
}
