// Stats API benchmark: 100,000 results in the index, the real server on 127.0.0.1, 20
// concurrent keep-alive clients per route, median and p99 latency, and the process RSS with
// those results held. Run alone: ./node_modules/.bin/node --import tsx bench/api.ts
// Clients share the server's process (and its two cores), so latencies are pessimistic.
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Pool } from 'undici';
import { loadPath } from './load.ts';
import { API_VERSION, KIND, resultName, type DatapathResult, type Outcome } from '../src/contract.ts';
import type { PodSource, PodView } from '../src/api/pod-source.ts';
import { ResultIndex } from '../src/api/result-index.ts';
import { startApiServer } from '../src/api/server.ts';

export interface RouteFigures { requests: number; errors: number; medianMs: number; p99Ms: number; reqPerSec: number }
export interface ApiBenchFigures {
  results: number;
  trackedPods: number;
  concurrency: number;
  loadMs: number;
  /** First query after loading: builds the per-metric order once. */
  firstQueryMs: number;
  /** Process RSS: empty; with the results indexed; plus the pod views; serving, orders built. */
  rssMiB: { baseline: number; withResults: number; withResultsAndPods: number; serving: number };
  /** Static data (after a run): answers are reused until something changes. */
  routes: Record<string, RouteFigures>;
  /** During a run: results and pods change 200 times a second, so every answer is recomputed. */
  routesUnderChurn: Record<string, RouteFigures>;
}

export interface ApiBenchOptions {
  results?: number;
  /** Pods still without a result, on top of one tracked pod per result. */
  pendingPods?: number;
  concurrency?: number;
  requestsPerRoute?: number;
  maxSecondsPerRoute?: number;
  log?: (line: string) => void;
}

const NAMESPACES = 50;
const T0 = Date.parse('2025-03-01T12:00:00Z');

function syntheticResult(i: number): DatapathResult {
  // Deterministic pseudo-random latencies (log-normal-ish tail) so runs are comparable.
  const r = ((i * 2654435761) % 2 ** 32) / 2 ** 32;
  const start = 300 + Math.round(2000 * r * r * 1000) / 1000;
  const outcome: Outcome = i % 50 === 0 ? 'TimedOut' : i % 97 === 0 ? 'Failed' : 'Succeeded';
  const dp = outcome === 'Succeeded' ? start + 200 + 8000 * r ** 4 : undefined;
  const created = T0 + i * 10;
  const iso = (ms: number) => new Date(ms).toISOString();
  const ns = `ns-${i % NAMESPACES}`;
  const uid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: resultName(uid), namespace: ns, resourceVersion: String(i + 1) },
    spec: {
      podRef: { namespace: ns, name: `pod-${i}`, uid, nodeName: `node-${i % 500}` },
      timestamps: {
        createdAt: iso(created), createdAtSource: 'controllerFirstSeen', startTs: iso(created + start),
        ...(dp !== undefined ? { dpReadyTs: iso(created + dp) } : {}), recordedAt: iso(created + 600_000),
      },
      metrics: { latStartMs: start, ...(dp !== undefined ? { latDpReadyMs: dp, reporterStartToReadyMs: dp - start } : {}) },
      labels: { app: `app-${i % 20}`, tier: i % 3 === 0 ? 'front' : 'back', 'perf.example.com/run': 'r1' },
      outcome,
      ...(outcome !== 'Succeeded' ? { reason: outcome === 'TimedOut' ? 'DatapathTimeout' : 'ReporterFailed', message: 'synthetic' } : {}),
    },
  };
}

function rssMiB(): number {
  return Math.round(process.memoryUsage().rss / 1048576);
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * ((sorted[lo + 1] ?? sorted[lo]!) - sorted[lo]!);
}

async function hammer(pool: Pool, path: string, concurrency: number, maxRequests: number, maxMs: number): Promise<RouteFigures> {
  const { latencies, errors, seconds } = await loadPath(pool, path, concurrency, maxRequests, maxMs);
  latencies.sort((a, b) => a - b);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return { requests: latencies.length, errors, medianMs: r2(quantile(latencies, 0.5)), p99Ms: r2(quantile(latencies, 0.99)), reqPerSec: Math.round(latencies.length / seconds) };
}

export async function benchApi(opts: ApiBenchOptions = {}): Promise<ApiBenchFigures> {
  const n = opts.results ?? 100_000;
  const concurrency = opts.concurrency ?? 20;
  const log = opts.log ?? (() => {});
  collectGarbage();
  const baseline = rssMiB();

  const results = new ResultIndex();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) results.upsert(syntheticResult(i));
  results.markSynced();
  const loadMs = Math.round(performance.now() - t0);
  collectGarbage();
  const withResults = rssMiB();

  // One tracked pod per result plus the in-flight ones, as the controller's store would hold.
  const pods: PodView[] = [];
  for (const r of results.values()) {
    pods.push({ namespace: r.namespace, name: r.name, uid: r.uid, nodeName: r.nodeName, phase: 'Running', reason: '', message: '', labels: r.labels, createdAtMs: r.createdAtMs });
  }
  for (let i = 0; i < (opts.pendingPods ?? 1000); i++) {
    pods.push({ namespace: `ns-${i % NAMESPACES}`, name: `pending-${i}`, uid: `pending-${i}`, nodeName: '', phase: 'Pending', reason: 'AwaitingReporter', message: '', labels: { app: `app-${i % 20}` }, createdAtMs: T0 + n * 10 + i });
  }
  let podVersion = 0;
  const podSource: PodSource = { snapshot: () => pods, version: () => podVersion };
  collectGarbage();
  const withResultsAndPods = rssMiB();

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const server = await startApiServer({ listen: '127.0.0.1:0', results, pods: podSource, registry, isReady: () => true });
  const pool = new Pool(server.url, { connections: concurrency, pipelining: 1 });
  const figures: ApiBenchFigures = {
    results: n, trackedPods: pods.length, concurrency, loadMs, firstQueryMs: 0,
    rssMiB: { baseline, withResults, withResultsAndPods, serving: 0 }, routes: {}, routesUnderChurn: {},
  };
  const maxRequests = opts.requestsPerRoute ?? 2000;
  const maxMs = (opts.maxSecondsPerRoute ?? 15) * 1000;
  try {
    const f0 = performance.now();
    for (const path of ['/api/v1/time-to-start', '/api/v1/time-to-datapath-ready']) {
      const res = await pool.request({ path, method: 'GET' });
      await res.body.text();
    }
    figures.firstQueryMs = Math.round(performance.now() - f0);
    collectGarbage();
    figures.rssMiB.serving = rssMiB();
    const selector = encodeURIComponent('app in (app-3,app-4),tier!=front');
    const routes = [
      '/api/v1/time-to-start',
      '/api/v1/time-to-datapath-ready',
      `/api/v1/time-to-datapath-ready?namespace=ns-7&labelSelector=${selector}&topN=100`,
      `/api/v1/time-to-datapath-ready?since=${encodeURIComponent(new Date(T0 + n * 5).toISOString())}&outcome=Succeeded`,
      '/api/v1/pod-health',
      '/metrics',
      '/healthz',
      '/readyz',
    ];
    const line = (path: string, fig: RouteFigures) =>
      log(`  ${path.padEnd(100)} n=${String(fig.requests).padStart(5)} err=${fig.errors} median=${fig.medianMs.toFixed(2)}ms p99=${fig.p99Ms.toFixed(2)}ms ${fig.reqPerSec} req/s`);
    log('static data (answers reused while nothing changes):');
    for (const path of routes) line(path, (figures.routes[path] = await hammer(pool, path, concurrency, maxRequests, maxMs)));

    // A run in progress: the watch delivers 200 result updates a second and the pod store moves.
    let next = 0;
    const churn = setInterval(() => {
      for (let k = 0; k < 2; k++) {
        const r = syntheticResult((next++ * 7919) % n);
        r.metadata.resourceVersion = `churn-${next}`;
        r.spec.metrics.latStartMs = r.spec.metrics.latStartMs! + 1;
        results.upsert(r);
      }
      podVersion++;
    }, 10);
    log('during a run (200 result updates/s; every answer recomputed):');
    try {
      for (const path of routes.filter((p) => p.startsWith('/api/'))) {
        line(path, (figures.routesUnderChurn[path] = await hammer(pool, path, concurrency, maxRequests, maxMs)));
      }
    } finally {
      clearInterval(churn);
    }
  } finally {
    await pool.close();
    await server.close();
  }
  return figures;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await benchApi({ log: (l) => console.log(l) });
  console.log(`results=${figures.results} trackedPods=${figures.trackedPods} concurrency=${figures.concurrency} load=${figures.loadMs}ms firstQuery=${figures.firstQueryMs}ms`);
  console.log(`RSS MiB: baseline=${figures.rssMiB.baseline} withResults=${figures.rssMiB.withResults} withResultsAndPods=${figures.rssMiB.withResultsAndPods} serving=${figures.rssMiB.serving}`);
  console.log(JSON.stringify(figures));
}
