// The controller's Prometheus registry. Conventions (docs/observability.md):
//   - process_* and nodejs_* are the standard names (prom-client's defaults, no prefix), so
//     stock Node.js dashboards and alerts work unchanged;
//   - dpready_kube_api_* are the controller's calls to the Kubernetes API server, and
//     dpready_stats_api_* the requests it serves on the stats API: never one name for both;
//   - latency histograms span 50 ms to 10 min, dense between 1 and 10 s, where datapath
//     readiness usually lands (a healthy cluster is sub-second to seconds, a stuck one minutes).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo, type BuildInfo } from '../build-info.ts';

export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600];
/**
 * From the annotation to our condition: milliseconds when idle, seconds in a burst (the
 * documented 2,000-pod burst's p99 is about 8 s), minutes when the API server struggles; a
 * histogram that stopped at 10 s would put all of those in +Inf.
 */
const GATE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 20, 30, 60, 120, 300, 600];
/** 0 counts pods whose datapath worked before their containers were ready (no gap). */
const GAP_BUCKETS = [0, ...LATENCY_BUCKETS];
/** Queue wait and one reconcile pass: milliseconds normally, seconds under API trouble. */
const WORK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(opts: { pendingPods: () => number; oldestPendingMs?: () => number; queueDepth: () => number; defaultMetrics?: boolean; build?: BuildInfo }) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  // The usual *_build_info: a constant 1 whose labels say which build is running.
  new Gauge({ name: 'dpready_build_info', help: 'The running build: version and source revision (value always 1).', labelNames: ['version', 'revision'] as const, registers: [registry] })
    .set({ ...(opts.build ?? buildInfo()) }, 1);
  const m = {
    registry,
    timeToStart: new Histogram({ name: 'dpready_time_to_start_seconds', help: 'Pod creation to reporter start, per recorded pod.', buckets: LATENCY_BUCKETS, registers: [registry] }),
    timeToDatapathReady: new Histogram({ name: 'dpready_time_to_datapath_ready_seconds', help: 'Pod creation to first successful datapath probe, per recorded pod.', buckets: LATENCY_BUCKETS, registers: [registry] }),
    readyWithoutDatapath: new Histogram({ name: 'dpready_ready_without_datapath_seconds',
      help: 'ContainersReady True to the datapath working (both seen on the watch), per recorded pod: how long it would have passed as Ready with no traffic; 0 when the datapath worked first.',
      buckets: GAP_BUCKETS, registers: [registry] }),
    gateLatency: new Histogram({ name: 'dpready_gate_latency_seconds', help: 'Ready annotation seen on the watch to our condition written True.', buckets: GATE_BUCKETS, registers: [registry] }),
    writes: new Counter({ name: 'dpready_kube_api_writes_total', help: 'Writes (and TokenReviews) the controller made to the Kubernetes API server, by resource and verb.', labelNames: ['resource', 'verb'] as const, registers: [registry] }),
    writeErrors: new Counter({ name: 'dpready_kube_api_write_errors_total', help: 'Failed Kubernetes API writes by resource and HTTP status (timeout: the call\'s deadline passed; 0: no response).', labelNames: ['resource', 'code'] as const, registers: [registry] }),
    outcomes: new Counter({ name: 'dpready_results_total', help: 'Results recorded by outcome.', labelNames: ['outcome'] as const, registers: [registry] }),
    watchRestarts: new Counter({ name: 'dpready_watch_restarts_total', help: 'List/watch restarts by resource and reason.', labelNames: ['resource', 'reason'] as const, registers: [registry] }),
    eventsDropped: new Counter({ name: 'dpready_events_dropped_total', help: 'Pod Events not sent because of rate limiting.', registers: [registry] }),
    receiveKnocks: new Counter({ name: 'dpready_receive_knocks_total', help: 'Knocks of the receive check on pod IPs, by result (ok, answered: refused or another status, silent: no answer in time).', labelNames: ['result'] as const, registers: [registry] }),
    queueWait: new Histogram({ name: 'dpready_workqueue_wait_seconds', help: 'Time a pod waited in a work queue before a worker took it, by controller (condition, result).',
      labelNames: ['controller'] as const, buckets: WORK_BUCKETS, registers: [registry] }),
    reconcileDuration: new Histogram({ name: 'dpready_reconcile_duration_seconds', help: 'One reconcile pass of one pod, by controller (condition, result) and result (ok, error).',
      labelNames: ['controller', 'result'] as const, buckets: WORK_BUCKETS, registers: [registry] }),
    isLeader: new Gauge({ name: 'dpready_is_leader', help: '1 while this replica holds the leader lease (or runs without leader election).', registers: [registry] }),
    pendingPods: new Gauge({ name: 'dpready_pods_pending', help: 'Tracked pods whose datapath outcome is not known yet.', registers: [registry],
      collect() { this.set(opts.pendingPods()); } }),
    oldestPending: new Gauge({ name: 'dpready_pods_pending_oldest_age_seconds', help: 'Age of the oldest tracked pod whose datapath outcome is not known yet (0: none); a gate stuck this long.', registers: [registry],
      collect() { this.set((opts.oldestPendingMs?.() ?? 0) / 1000); } }),
    queueDepth: new Gauge({ name: 'dpready_workqueue_depth', help: 'Pods queued or being reconciled.', registers: [registry],
      collect() { this.set(opts.queueDepth()); } }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
