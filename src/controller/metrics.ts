// The controller's Prometheus registry. Histogram buckets span 50 ms to 10 min: datapath
// readiness in a healthy cluster is sub-second to seconds, and a stuck one is minutes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
const GATE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(opts: { pendingPods: () => number; queueDepth: () => number; defaultMetrics?: boolean }) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'dpready_' });
  const m = {
    registry,
    timeToStart: new Histogram({ name: 'dpready_time_to_start_seconds', help: 'Pod creation to reporter start, per recorded pod.', buckets: LATENCY_BUCKETS, registers: [registry] }),
    timeToDatapathReady: new Histogram({ name: 'dpready_time_to_datapath_ready_seconds', help: 'Pod creation to first successful datapath probe, per recorded pod.', buckets: LATENCY_BUCKETS, registers: [registry] }),
    gateLatency: new Histogram({ name: 'dpready_gate_latency_seconds', help: 'Ready annotation seen on the watch to our condition written True.', buckets: GATE_BUCKETS, registers: [registry] }),
    writes: new Counter({ name: 'dpready_api_writes_total', help: 'Writes the controller made to the API server.', labelNames: ['resource', 'verb'] as const, registers: [registry] }),
    writeErrors: new Counter({ name: 'dpready_api_write_errors_total', help: 'Failed writes by resource and HTTP status (timeout: the call\'s deadline passed; 0: no response).', labelNames: ['resource', 'code'] as const, registers: [registry] }),
    outcomes: new Counter({ name: 'dpready_results_total', help: 'Results recorded by outcome.', labelNames: ['outcome'] as const, registers: [registry] }),
    watchRestarts: new Counter({ name: 'dpready_watch_restarts_total', help: 'List/watch restarts by resource and reason.', labelNames: ['resource', 'reason'] as const, registers: [registry] }),
    eventsDropped: new Counter({ name: 'dpready_events_dropped_total', help: 'Pod Events not sent because of rate limiting.', registers: [registry] }),
    receiveKnocks: new Counter({ name: 'dpready_receive_knocks_total', help: 'Knocks of the receive check on pod IPs, by result (ok, answered: refused or another status, silent: no answer in time).', labelNames: ['result'] as const, registers: [registry] }),
    isLeader: new Gauge({ name: 'dpready_is_leader', help: '1 while this replica holds the leader lease (or runs without leader election).', registers: [registry] }),
    pendingPods: new Gauge({ name: 'dpready_pods_pending', help: 'Tracked pods whose datapath outcome is not known yet.', registers: [registry],
      collect() { this.set(opts.pendingPods()); } }),
    queueDepth: new Gauge({ name: 'dpready_workqueue_depth', help: 'Pods queued or being reconciled.', registers: [registry],
      collect() { this.set(opts.queueDepth()); } }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
