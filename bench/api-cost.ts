// API cost of a full pod lifecycle, from kube-apiserver's own apiserver_request_total, split by
// who made each request. The counter has no client label, so the split uses what only one
// party does: our annotations (the reporter), DatapathResults (the controller), and for
// pods/status, which KWOK (as the kubelet) patches too, the benchmark's watch counts KWOK's
// visible status changes; the controller's own dpready_kube_api_writes_total cross-checks.
import { READ_VERBS, WRITE_VERBS } from './apiserver-requests.ts';
import type { LifecycleRun } from './lifecycle.ts';
import { p50p99 } from './stats.ts';

export interface CostRow { request: string; total: number; perPod: number; by: string }
export interface CostFigures {
  scenario: string;
  pods: number;
  /** Reporter and controller writes per pod. */
  dpreadyWritesPerPod: number;
  /** The controller's writes per pod (conditions, results, Events): the figure with a mark (issue 14). */
  controllerWritesPerPod: number;
  markWritesPerPod: number;
  /** The mark with the reporter's patches added: 1 when the datapath works within its start grace (start and ready in one patch), else 2. */
  markDpreadyWritesPerPod: number;
  pass: boolean;
  writes: CostRow[];
  reads: CostRow[];
  watch: LifecycleRun['watch'];
  controllerSelfCount: Record<string, number>;
  /**
   * Create call → reporter process spawned, and → the reporter's ready instant, ms (p50 / max): a
   * pod whose reporter reports after --pending-grace (10 s) gets an AwaitingReporter condition
   * first, and then an Event when its gate opens, by design (a gate that waited).
   */
  reporterAfterCreateMs: { spawn: { p50: number; max: number }; ready: { p50: number; max: number } };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function apiCost(run: LifecycleRun, scenario: string, mark: number, reporterPatches: number): CostFigures {
  const n = run.pods.length;
  const writes: CostRow[] = [];
  const reads: CostRow[] = [];
  const add = (rows: CostRow[], request: string, total: number, by: string) => {
    if (total > 0) rows.push({ request, total, perPod: round2(total / n), by });
  };
  const ctlEvents = run.controllerWrites['create events'] ?? 0;
  for (const [key, total] of [...run.requests].sort(([a], [b]) => a.localeCompare(b))) {
    const [verb, resource] = key.split(' ') as [string, string];
    if (READ_VERBS.has(verb)) {
      add(reads, key, total, resource.startsWith('pods') || resource.includes('datapathresults') ? 'reporter+controller+others' : 'others');
      continue;
    }
    if (!WRITE_VERBS.has(verb)) continue;
    if (key === 'PATCH pods') add(writes, key, total, 'dpready reporter');
    else if (key === 'PATCH pods/status') {
      const kubelet = Math.min(total, run.watch.kubeletStatusWrites);
      add(writes, key, total - kubelet, 'dpready controller');
      add(writes, key, kubelet, 'KWOK (kubelet)');
    } else if (resource.includes('datapathresults')) add(writes, key, total, 'dpready controller');
    else if (key === 'POST events') {
      const ours = Math.min(total, ctlEvents);
      add(writes, key, ours, 'dpready controller');
      add(writes, key, total - ours, 'others');
    } else if (key === 'POST pods') add(writes, key, total, 'benchmark (user)');
    else if (key === 'DELETE pods') {
      add(writes, key, Math.min(total, n), 'benchmark (user)');
      add(writes, key, total - Math.min(total, n), 'KWOK (kubelet)');
    } else if (key === 'POST pods/binding') add(writes, key, total, 'kube-scheduler');
    else if (key === 'POST serviceaccounts/token') add(writes, key, total, 'harness (kubelet token)');
    else if (key.startsWith('POST events.k8s.io/events')) add(writes, key, total, 'kube-scheduler');
    else add(writes, key, total, 'others');
  }
  const ours = writes.filter((w) => w.by.startsWith('dpready')).reduce((s, w) => s + w.total, 0);
  const controller = round2(writes.filter((w) => w.by === 'dpready controller').reduce((s, w) => s + w.total, 0) / n);
  const after = (xs: number[]) => { const f = p50p99(xs.filter(Number.isFinite)); return { p50: f.p50, max: f.max }; };
  const reporterAfterCreateMs = {
    spawn: after(run.pods.map((p) => (p.reporterSpawnAt ?? NaN) - p.createCallAt)),
    ready: after(run.pods.map((p) => Date.parse(p.readyAnnotation ?? '') - p.createCallAt)),
  };
  return { reporterAfterCreateMs, scenario, pods: n, dpreadyWritesPerPod: round2(ours / n), controllerWritesPerPod: controller, markWritesPerPod: mark, markDpreadyWritesPerPod: mark + reporterPatches, pass: controller <= mark, writes, reads, watch: run.watch, controllerSelfCount: run.controllerWrites };
}
