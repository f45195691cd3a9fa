// In-memory index of DatapathResults keyed by pod UID, fed by the controller's watch on every
// replica, so the API answers from memory and a non-leader answers the same as the leader.
// Entries keep only what the routes return or filter on. Per-metric orders are built lazily
// on the first query after a change, so a read-heavy API over 100,000 results does no sorting
// per request and a burst of watch events costs one rebuild, not one per event.
import type { DatapathResult, Outcome } from '../contract.ts';
import type { Labels } from '../labels/match.ts';

export type Metric = 'time-to-start' | 'time-to-datapath-ready' | 'time-to-datapath-receive' | 'time-to-policy-enforced';
export const METRICS: readonly Metric[] = ['time-to-start', 'time-to-datapath-ready', 'time-to-datapath-receive', 'time-to-policy-enforced'];

/** Which entry fields hold a metric's value and the instant it was measured at. */
export const METRIC_FIELDS = {
  'time-to-start': { value: 'latStartMs', measuredTs: 'startTs' },
  'time-to-datapath-ready': { value: 'latDpReadyMs', measuredTs: 'dpReadyTs' },
  // Only pods with the receive check on count here: the others were never asked.
  'time-to-datapath-receive': { value: 'latReceiveMs', measuredTs: 'receiveTs', only: 'receiveCheck' },
  // Only pods with deny targets count here (docs/policy.md).
  'time-to-policy-enforced': { value: 'latPolicyMs', measuredTs: 'policyEnforcedTs', only: 'policyCheck' },
} as const satisfies Record<Metric, { value: keyof IndexedResult; measuredTs: keyof IndexedResult; only?: 'receiveCheck' | 'policyCheck' }>;

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
  readonly latReceiveMs: number;
  readonly latPolicyMs: number;
  /** When each was measured ('' when not). */
  readonly startTs: string;
  readonly dpReadyTs: string;
  readonly receiveTs: string;
  readonly policyEnforcedTs: string;
  /** The receive check was on for this pod. */
  readonly receiveCheck: boolean;
  /** The policy check was on for this pod (it had deny targets). */
  readonly policyCheck: boolean;
  /** Watch instants (controller clock, ms since epoch; NaN when unknown), see spec.watchTimestamps. */
  readonly scheduledMs: number;
  readonly initializedMs: number;
  readonly containersReadyMs: number;
  readonly dpReadySeenMs: number;
  readonly readyMs: number;
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
  /** measured[i]'s value, contiguous (a packed double array), for percentiles without touching the objects. */
  readonly values: readonly number[];
  /** Results this metric has no value for, by reason then namespace, name, uid. */
  readonly unmeasured: readonly IndexedResult[];
  /** Results with outcome TimedOut among `measured`, so an unfiltered query need not walk them. */
  readonly measuredTimedOut: number;
}

/**
 * Watch events arriving between two queries are applied to the built orders in place (binary
 * search and splice: microseconds each), so a query during a run does not re-sort 100,000
 * results. Past this many changes without a query (a re-list, a burst) the orders are dropped
 * and rebuilt once, lazily, which is cheaper than that many splices.
 */
const MAX_INCREMENTAL_CHANGES = 2000;

/**
 * The instant a pod's Ready was first seen on the controller's pod watch (ms), when known. A
 * result is written as soon as the pod's outcome is known, which is before Ready (Ready waits
 * for our gate): its Ready instant comes from the watch instead, without a second write.
 */
export type ReadySeen = (uid: string) => number | undefined;

export class ResultIndex {
  readonly #byUid = new Map<string, IndexedResult>();
  readonly #readySeen?: ReadySeen;
  readonly #views = new Map<Metric, MutableView>();
  #synced = false;
  #version = 0;
  #changesSinceQuery = 0;

  constructor(opts: { readySeen?: ReadySeen } = {}) {
    this.#readySeen = opts.readySeen;
  }

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
    const entry = this.#withReady(toEntry(result), old);
    this.#byUid.set(uid, entry);
    this.#changed(old, entry);
  }

  /**
   * The pod's Ready was seen on the watch at `ms`: fills the instant into its result's entry when
   * the result does not record one. Nothing is written to the API server for it.
   */
  noteReady(uid: string, ms: number): void {
    const old = this.#byUid.get(uid);
    if (!old || !Number.isNaN(old.readyMs)) return;
    const entry = { ...old, readyMs: ms };
    this.#byUid.set(uid, entry);
    this.#changed(old, entry);
  }

  /** A result that records no Ready instant takes the one its entry had, or the watch's. */
  #withReady(entry: IndexedResult, old: IndexedResult | undefined): IndexedResult {
    if (!Number.isNaN(entry.readyMs)) return entry;
    const ms = old && !Number.isNaN(old.readyMs) ? old.readyMs : this.#readySeen?.(entry.uid);
    return ms === undefined ? entry : { ...entry, readyMs: ms };
  }

  delete(uid: string): boolean {
    const old = this.#byUid.get(uid);
    if (!old) return false;
    this.#byUid.delete(uid);
    this.#changed(old, undefined);
    return true;
  }

  /** Makes the index hold exactly `results`, for a full re-list after the watch restarted. */
  replaceAll(results: Iterable<DatapathResult>): void {
    const before = new Map(this.#byUid);
    this.#byUid.clear();
    for (const r of results) this.#byUid.set(r.spec.podRef.uid, this.#withReady(toEntry(r), before.get(r.spec.podRef.uid)));
    this.#views.clear();
    this.#version++;
  }

  #changed(old: IndexedResult | undefined, entry: IndexedResult | undefined): void {
    this.#version++;
    if (this.#views.size === 0) return;
    if (++this.#changesSinceQuery > MAX_INCREMENTAL_CHANGES) {
      this.#views.clear();
      return;
    }
    for (const v of this.#views.values()) {
      if (old) v.remove(old);
      if (entry) v.insert(entry);
    }
  }

  view(metric: Metric): MetricView {
    this.#changesSinceQuery = 0;
    let v = this.#views.get(metric);
    if (!v) {
      v = new MutableView(this.#byUid.values(), metric);
      this.#views.set(metric, v);
    }
    return v;
  }
}

function toEntry(r: DatapathResult): IndexedResult {
  const { podRef, timestamps, metrics } = r.spec;
  const num = (x: number | undefined): number => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);
  const instant = (s: string | undefined): number => (s === undefined ? NaN : Date.parse(s));
  const w = r.spec.watchTimestamps;
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
    latReceiveMs: num(metrics.latReceiveMs),
    latPolicyMs: num(metrics.latPolicyMs),
    startTs: timestamps.startTs ?? '',
    dpReadyTs: timestamps.dpReadyTs ?? '',
    receiveTs: timestamps.receiveTs ?? '',
    policyEnforcedTs: timestamps.policyEnforcedTs ?? '',
    receiveCheck: r.spec.receivePort !== undefined,
    policyCheck: r.spec.denyTargets !== undefined,
    scheduledMs: instant(w?.scheduled),
    initializedMs: instant(w?.initialized),
    containersReadyMs: instant(w?.containersReady),
    dpReadySeenMs: instant(w?.datapathReady),
    readyMs: instant(w?.ready),
    resourceVersion: r.metadata.resourceVersion ?? '',
  };
}

const byName = (a: IndexedResult, b: IndexedResult): number =>
  cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid);

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The orders of one metric, built once and then kept current entry by entry. */
class MutableView implements MetricView {
  readonly measured: IndexedResult[] = [];
  readonly values: number[] = [];
  readonly unmeasured: IndexedResult[] = [];
  measuredTimedOut = 0;
  readonly #field: 'latStartMs' | 'latDpReadyMs' | 'latReceiveMs' | 'latPolicyMs';
  readonly #applies: (e: IndexedResult) => boolean;
  // Strict total orders (uid breaks every tie), so binary search finds an entry's exact slot.
  readonly #measuredOrder: (a: IndexedResult, b: IndexedResult) => number;
  readonly #unmeasuredOrder = (a: IndexedResult, b: IndexedResult): number => cmp(a.reason, b.reason) || byName(a, b);

  constructor(entries: Iterable<IndexedResult>, metric: Metric) {
    const fields: { value: 'latStartMs' | 'latDpReadyMs' | 'latReceiveMs' | 'latPolicyMs'; only?: 'receiveCheck' | 'policyCheck' } = METRIC_FIELDS[metric];
    const field = (this.#field = fields.value);
    const only = fields.only;
    this.#applies = only ? (e) => e[only] : () => true;
    this.#measuredOrder = (a, b) => a[field] - b[field] || byName(b, a);
    for (const e of entries) if (this.#applies(e)) (Number.isNaN(e[field]) ? this.unmeasured : this.measured).push(e);
    this.measured.sort(this.#measuredOrder);
    this.unmeasured.sort(this.#unmeasuredOrder);
    for (const e of this.measured) {
      this.values.push(e[field]);
      if (e.outcome === 'TimedOut') this.measuredTimedOut++;
    }
  }

  insert(e: IndexedResult): void {
    if (!this.#applies(e)) return;
    if (Number.isNaN(e[this.#field])) {
      this.unmeasured.splice(slot(this.unmeasured, e, this.#unmeasuredOrder), 0, e);
      return;
    }
    const i = slot(this.measured, e, this.#measuredOrder);
    this.measured.splice(i, 0, e);
    this.values.splice(i, 0, e[this.#field]);
    if (e.outcome === 'TimedOut') this.measuredTimedOut++;
  }

  remove(e: IndexedResult): void {
    if (!this.#applies(e)) return;
    if (Number.isNaN(e[this.#field])) {
      const i = slot(this.unmeasured, e, this.#unmeasuredOrder);
      if (this.unmeasured[i] === e) this.unmeasured.splice(i, 1);
      return;
    }
    const i = slot(this.measured, e, this.#measuredOrder);
    if (this.measured[i] !== e) return;
    this.measured.splice(i, 1);
    this.values.splice(i, 1);
    if (e.outcome === 'TimedOut') this.measuredTimedOut--;
  }
}

/** First index whose element is not before `e` (lower bound). */
function slot(list: readonly IndexedResult[], e: IndexedResult, order: (a: IndexedResult, b: IndexedResult) => number): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order(list[mid]!, e) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The orders of `metric` over `entries`, built from scratch. */
export function buildView(entries: Iterable<IndexedResult>, metric: Metric): MetricView {
  return new MutableView(entries, metric);
}
