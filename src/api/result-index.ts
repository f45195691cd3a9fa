// In-memory index of DatapathResults keyed by pod UID, fed by the controller's watch on every
// replica, so the API answers from memory and a non-leader answers the same as the leader.
// Entries keep only what the routes return or filter on. Per-metric orders are built lazily
// on the first query after a change, so a read-heavy API over 100,000 results does no sorting
// per request and a burst of watch events costs one rebuild, not one per event.
import type { DatapathResult, Outcome } from '../contract.ts';
import type { Labels } from '../labels/match.ts';

export type Metric = 'time-to-start' | 'time-to-datapath-ready';
export const METRICS: readonly Metric[] = ['time-to-start', 'time-to-datapath-ready'];

/** Which entry fields hold a metric's value and the instant it was measured at. */
export const METRIC_FIELDS = {
  'time-to-start': { value: 'latStartMs', measuredTs: 'startTs' },
  'time-to-datapath-ready': { value: 'latDpReadyMs', measuredTs: 'dpReadyTs' },
} as const satisfies Record<Metric, { value: keyof IndexedResult; measuredTs: keyof IndexedResult }>;

export interface IndexedResult {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly labels: Labels;
  readonly outcome: Outcome;
  /** The result's reason, or its outcome when it gave none, so every failure says something. */
  readonly reason: string;
  readonly message: string;
  readonly createdAt: string;
  readonly createdAtMs: number;
  /** Latencies in ms, NaN when not measured (flat fields: 100,000 entries, no nested objects). */
  readonly latStartMs: number;
  readonly latDpReadyMs: number;
  /** When each was measured ('' when not). */
  readonly startTs: string;
  readonly dpReadyTs: string;
  readonly resourceVersion: string;
}

/** Precomputed order of one metric; rebuilt only after the index changed. */
export interface MetricView {
  /**
   * Measured results by value ascending, equal values by namespace, name, uid DESCENDING: read
   * backwards this is worst-first with ties in ascending namespace/name order, so the worst N is
   * a walk from the end with no sort.
   */
  readonly measured: readonly IndexedResult[];
  /** measured[i]'s value, contiguous, for percentiles without touching the objects. */
  readonly values: Float64Array;
  /** Results this metric has no value for, by reason then namespace, name, uid. */
  readonly unmeasured: readonly IndexedResult[];
  /** Results with outcome TimedOut among `measured`, so an unfiltered query need not walk them. */
  readonly measuredTimedOut: number;
}

export class ResultIndex {
  readonly #byUid = new Map<string, IndexedResult>();
  readonly #views = new Map<Metric, MetricView>();
  #synced = false;
  #version = 0;

  get size(): number { return this.#byUid.size; }
  /** True once the watch's initial list is in: before that, counts would be silently low. */
  get synced(): boolean { return this.#synced; }
  markSynced(): void { this.#synced = true; }
  /** Changes whenever the content changes: answers computed at one version can be reused. */
  get version(): number { return this.#version; }

  get(uid: string): IndexedResult | undefined { return this.#byUid.get(uid); }
  has(uid: string): boolean { return this.#byUid.has(uid); }
  values(): IterableIterator<IndexedResult> { return this.#byUid.values(); }

  /** Adds or replaces the result of the pod `spec.podRef.uid`. Expects an object that passed the contract schema. */
  upsert(result: DatapathResult): void {
    const uid = result.spec.podRef.uid;
    const rv = result.metadata.resourceVersion ?? '';
    const old = this.#byUid.get(uid);
    // Informer resyncs re-deliver unchanged objects; they must not invalidate the orders.
    if (old && rv !== '' && old.resourceVersion === rv) return;
    this.#byUid.set(uid, toEntry(result));
    this.#changed();
  }

  delete(uid: string): boolean {
    const existed = this.#byUid.delete(uid);
    if (existed) this.#changed();
    return existed;
  }

  /** Makes the index hold exactly `results`, for a full re-list after the watch restarted. */
  replaceAll(results: Iterable<DatapathResult>): void {
    this.#byUid.clear();
    for (const r of results) this.#byUid.set(r.spec.podRef.uid, toEntry(r));
    this.#changed();
  }

  #changed(): void {
    this.#views.clear();
    this.#version++;
  }

  view(metric: Metric): MetricView {
    let v = this.#views.get(metric);
    if (!v) {
      v = buildView(this.#byUid.values(), metric);
      this.#views.set(metric, v);
    }
    return v;
  }
}

function toEntry(r: DatapathResult): IndexedResult {
  const { podRef, timestamps, metrics } = r.spec;
  const num = (x: number | undefined): number => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);
  return {
    uid: podRef.uid,
    namespace: podRef.namespace,
    name: podRef.name,
    nodeName: podRef.nodeName ?? '',
    labels: r.spec.labels,
    outcome: r.spec.outcome,
    reason: r.spec.reason || r.spec.outcome,
    message: r.spec.message ?? '',
    createdAt: timestamps.createdAt,
    createdAtMs: Date.parse(timestamps.createdAt),
    latStartMs: num(metrics.latStartMs),
    latDpReadyMs: num(metrics.latDpReadyMs),
    startTs: timestamps.startTs ?? '',
    dpReadyTs: timestamps.dpReadyTs ?? '',
    resourceVersion: r.metadata.resourceVersion ?? '',
  };
}

const byName = (a: IndexedResult, b: IndexedResult): number =>
  cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid);

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function buildView(entries: Iterable<IndexedResult>, metric: Metric): MetricView {
  const field = METRIC_FIELDS[metric].value;
  const measured: IndexedResult[] = [];
  const unmeasured: IndexedResult[] = [];
  for (const e of entries) (Number.isNaN(e[field]) ? unmeasured : measured).push(e);
  measured.sort((a, b) => a[field] - b[field] || byName(b, a));
  unmeasured.sort((a, b) => cmp(a.reason, b.reason) || byName(a, b));
  const values = new Float64Array(measured.length);
  let measuredTimedOut = 0;
  for (let i = 0; i < measured.length; i++) {
    values[i] = measured[i]![field];
    if (measured[i]!.outcome === 'TimedOut') measuredTimedOut++;
  }
  return { measured, values, unmeasured, measuredTimedOut };
}
