// The manager: owns the caches (two list+watches feeding slim stores), the leader elector and
// the periodic tasks (resync, result TTL), and starts the two controllers while this replica
// leads. The path of one pod event:
//
//   pod watch → tracking.ts (store, first/ready seen, tombstones) → condition queue
//     → ConditionReconciler (decide, patch pods/status) → result queue
//     → ResultReconciler (decide, write the DatapathResult) → result watch → book and stats index
//
// Watch handlers only update caches and queue pod UIDs; reconcilers return what to do next.
// Periodic resync makes it level-triggered, so nothing depends on seeing every event.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { CRD_NAME, GROUP, PLURAL, VERSION, type DatapathResultSpec } from '../contract.ts';
import type { DecisionPolicy, TimeoutPolicy } from '../conditions/decide.ts';
import { callOptions, describeKubeError, httpStatus } from '../kube/request-options.ts';
import type { KubeConfigLike } from '../kube/kube-config.ts';
import { rawCoordination, rawCore, rawCustomObjects } from '../kube/raw-apis.ts';
import { rawRequester } from '../kube/raw-request.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConditionReconciler } from './condition-reconciler.ts';
import { EventRecorder } from './event-recorder.ts';
import { KeyedController } from './keyed-controller.ts';
import { LeaderElector } from './leader-election.ts';
import { kubeLeaseStore } from './lease-store.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { PodStore } from './pod-store.ts';
import { summarizePod } from './pod-summary.ts';
import { Reflector, type ListPage } from './reflector.ts';
import { ResultBook } from './result-book.ts';
import { ResultCollector } from './result-gc.ts';
import { ResultReconciler } from './result-reconciler.ts';
import { ResultWriter } from './result-writer.ts';
import { StatusPatcher } from './status-patcher.ts';
import { knock } from './receive-knock.ts';
import { ReceiveProber } from './receive-prober.ts';
import { shardFilter, type Shard } from './shard.ts';
import { PodTracker, type Work } from './tracking.ts';
import { kubeWatch } from './watch-stream.ts';

export interface ControllerSettings {
  /** Empty: all namespaces. */
  namespace: string;
  /** Where DatapathResults are written, listed and watched (--results-namespace). */
  resultsNamespace: string;
  labelSelector?: string;
  /** This controller handles only the pods of its shard's namespaces (shard.ts); unset: all. */
  shard?: Shard;
  datapathTimeoutMs: number;
  timeoutPolicy: TimeoutPolicy;
  pendingGraceMs: number;
  /** How long a succeeded pod's result waits for the pod's Ready instant (0: not at all). */
  readyWaitMs?: number;
  resultTtlMs?: number;
  workers: number;
  resyncMs: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity?: string;
  apiTimeoutMs: number;
  /** Lease timings (tests shorten them); client-go's defaults otherwise. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface Logger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
  debug(o: object, msg: string): void;
}

/** Sees every pod the watch delivers, before it is reduced to a summary (the webhook's audit). */
export type PodListener = (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: k8s.V1Pod) => void;

/** Lets other parts (the stats API's index) follow the DatapathResult watch. */
export interface ResultListener {
  replace(objs: unknown[]): void;
  upsert(obj: unknown): void;
  delete(obj: unknown): void;
  markSynced?(): void;
}

type ResultObject = { metadata?: { namespace?: string; name?: string }; spec?: DatapathResultSpec };

export class Controller {
  readonly store = new PodStore();
  readonly book = new ResultBook();
  readonly metrics: Metrics;
  readonly identity: string;
  readonly tracker: PodTracker;
  readonly conditions: KeyedController;
  readonly results: KeyedController;
  /** The receive check's knocks on pod IPs; runs only while leading, like the writers. */
  readonly receiver: ReceiveProber;
  private readonly conditionReconciler: ConditionReconciler;
  private readonly events: EventRecorder;
  private readonly podReflector: Reflector;
  private readonly resultReflector: Reflector;
  private readonly elector?: LeaderElector;
  private readonly collector?: ResultCollector;
  private readonly timers = new Set<unknown>();
  private started = false;
  private stopped = false;
  private leading = false;
  private readonly resultListeners: ResultListener[] = [];
  private readonly podListeners: PodListener[] = [];
  private readonly readyListeners: Array<(uid: string, ms: number) => void> = [];

  constructor(kc: KubeConfigLike, private readonly s: ControllerSettings, private readonly log: Logger, private readonly clock: Clock = systemClock) {
    this.identity = s.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    // Every call as plain JSON over one keep-alive connection pool (kube-auth.ts), without
    // client-node's generated APIs and models: the process is about 80 MiB smaller without them.
    const raw = rawRequester(kc);
    const core = rawCore(raw);
    const custom = rawCustomObjects(raw);
    this.metrics = createMetrics({ pendingPods: () => this.pendingCount(), oldestPendingMs: () => this.oldestPendingMs(), queueDepth: () => this.conditions.depth + this.results.depth });
    this.tracker = new PodTracker(this.store, this.book, clock);
    const policy: DecisionPolicy = { timeoutMs: s.datapathTimeoutMs, policy: s.timeoutPolicy, pendingGraceMs: s.pendingGraceMs };
    const mayWrite = () => this.mayWrite();
    const resultWriter = new ResultWriter(custom, this.metrics, s.apiTimeoutMs, s.resultsNamespace);
    const events = this.events = new EventRecorder({ core, clock, metrics: this.metrics, instance: this.identity, log });

    this.conditionReconciler = new ConditionReconciler({
      store: this.store, patcher: new StatusPatcher(raw, this.metrics, s.apiTimeoutMs), events, metrics: this.metrics,
      clock, policy, mayWrite, log, outcomeKnown: (uid) => this.results.add(uid),
    });
    const resultReconciler = new ResultReconciler({
      store: this.store, tracker: this.tracker, book: this.book, writer: resultWriter, metrics: this.metrics,
      clock, policy, mayWrite, log, readyWaitMs: s.readyWaitMs,
    });
    this.receiver = new ReceiveProber({ clock, knock, onKnock: (result) => this.metrics.receiveKnocks.inc({ result }) });
    const onError = (what: string) => (uid: string, err: unknown, attempt: number, delayMs: number) => {
      this.log.warn({ pod: this.tracker.describe(uid), uid, attempt, retryInMs: Math.round(delayMs), err: describeKubeError(err) }, `${what} failed; will retry`);
    };
    const observe = (controller: string) => ({
      wait: (ms: number) => this.metrics.queueWait.observe({ controller }, ms / 1000),
      reconcile: (ms: number, ok: boolean) => this.metrics.reconcileDuration.observe({ controller, result: ok ? 'ok' : 'error' }, ms / 1000),
    });
    this.results = new KeyedController({ workers: s.workers, clock, onError: onError('recording the result'), reconcile: (uid) => resultReconciler.reconcile(uid), observe: observe('result') });
    this.conditions = new KeyedController({
      workers: s.workers, clock, onError: onError('reconcile'), observe: observe('condition'),
      reconcile: (uid) => this.conditionReconciler.reconcile(uid),
    });

    if (s.resultTtlMs) {
      this.collector = new ResultCollector({
        store: this.store, book: this.book, writer: resultWriter, clock, ttlMs: s.resultTtlMs, mayWrite, log,
        ...(shardFilter(s.shard) ? { owns: shardFilter(s.shard) } : {}),
        ...(s.labelSelector ? { podExists: async (namespace: string, name: string, uid: string) => {
          try {
            return (await core.readNamespacedPod({ name, namespace }, callOptions({ timeoutMs: s.apiTimeoutMs }))).metadata?.uid === uid;
          } catch (err) {
            if (httpStatus(err) === 404) return false;
            throw err;
          }
        } } : {}),
      });
    }

    const nsPath = s.namespace ? `/namespaces/${encodeURIComponent(s.namespace)}` : '';
    const timeout = callOptions({ timeoutMs: 60_000 });
    const watch = kubeWatch(kc);
    const mine = shardFilter(s.shard);
    this.podReflector = new Reflector({
      name: 'pods', watch, clock, log,
      watchPath: `/api/v1${nsPath}/pods`,
      watchParams: { labelSelector: s.labelSelector || undefined },
      // Pods as the API server sends them (JSON), as on the watch: summarizePod reads both alike.
      list: async ({ limit, continue: cont }): Promise<ListPage> => {
        const list = await raw<{ items: unknown[]; metadata?: { resourceVersion?: string; continue?: string } }>('GET', `/api/v1${nsPath}/pods`,
          { query: { labelSelector: s.labelSelector || undefined, limit, continue: cont }, timeoutMs: 60_000 });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continue: list.metadata?.continue };
      },
      onReplace: (all) => {
        const items = mine ? (all as k8s.V1Pod[]).filter((p) => mine(p.metadata?.namespace ?? '')) : all;
        for (const l of this.podListeners) for (const p of items as k8s.V1Pod[]) l('ADDED', p);
        const summaries = (items as k8s.V1Pod[]).map(summarizePod).filter((x) => x !== undefined);
        this.schedule(this.tracker.replace(summaries, this.leading));
        this.receiver.reset(summaries);
      },
      onEvent: (type, obj) => {
        if (mine && !mine((obj as k8s.V1Pod).metadata?.namespace ?? '')) return;
        for (const l of this.podListeners) l(type, obj as k8s.V1Pod);
        const summary = summarizePod(obj as k8s.V1Pod);
        if (!summary) return;
        const readyBefore = this.readySeen(summary.uid);
        this.schedule(this.tracker.onEvent(type, summary, this.leading));
        const readyNow = this.readySeen(summary.uid);
        if (readyNow !== undefined && readyBefore === undefined) for (const l of this.readyListeners) l(summary.uid, readyNow);
        this.receiver.observe(summary.uid, type === 'DELETED' ? undefined : summary);
      },
      onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: 'pods', reason }),
    });
    this.resultReflector = new Reflector({
      name: PLURAL, watch, clock, log,
      notFoundHint: `the ${CRD_NAME} CRD is not installed: kubectl apply -f manifests/crd.yaml (or -k manifests/)`,
      // Results live in one namespace of their own, whatever namespaces the pods are in.
      watchPath: `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(s.resultsNamespace)}/${PLURAL}`,
      list: async ({ limit, continue: cont }): Promise<ListPage> => {
        const q = { group: GROUP, version: VERSION, plural: PLURAL, limit, _continue: cont };
        const list = await custom.listNamespacedCustomObject({ ...q, namespace: s.resultsNamespace }, timeout) as
          { items: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continue: list.metadata?.continue };
      },
      onReplace: (items) => {
        this.book.replace(items as ResultObject[]);
        for (const l of this.resultListeners) l.replace(items);
      },
      onEvent: (type, obj) => {
        const o = obj as ResultObject;
        const uid = o.spec?.podRef?.uid;
        if (type === 'DELETED') {
          if (uid) this.book.delete(uid);
          for (const l of this.resultListeners) l.delete(obj);
        } else {
          this.book.observe(o.spec, o.metadata?.namespace ?? '');
          if (uid) this.tracker.onResultRecorded(uid);
          for (const l of this.resultListeners) l.upsert(obj);
        }
      },
      onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: PLURAL, reason }),
    });

    if (s.leaderElect) {
      this.elector = new LeaderElector({
        store: kubeLeaseStore(rawCoordination(raw), s.leaseNamespace, s.leaseName, Math.min(s.apiTimeoutMs, 2_000)),
        identity: this.identity, clock, log,
        leaseDurationMs: s.leaseDurationMs, renewDeadlineMs: s.renewDeadlineMs, retryPeriodMs: s.retryPeriodMs,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
      });
    }
  }

  /** Subscribes to the DatapathResult watch; call before start(). */
  addResultListener(listener: ResultListener): void {
    this.resultListeners.push(listener);
  }

  /** Follows the pod watch; call before start(). Returns the way out: whatever stops before the
   * controller (a closed webhook server and its audit) must stop hearing about pods too. */
  addPodListener(listener: PodListener): () => void {
    this.podListeners.push(listener);
    return () => {
      const i = this.podListeners.indexOf(listener);
      if (i >= 0) this.podListeners.splice(i, 1);
    };
  }

  /**
   * Told when a tracked pod's Ready is first seen True on the live watch (controller clock, ms):
   * the stats index takes the Ready instant from here, so a result need not wait for it.
   */
  addReadyListener(listener: (uid: string, ms: number) => void): void {
    this.readyListeners.push(listener);
  }

  /** When the pod's Ready was first seen True on the live watch; undefined when unknown. */
  readySeen(uid: string): number | undefined {
    const ms = (this.store.get(uid) ?? this.tracker.tombstone(uid))?.conditionSeenMs?.Ready;
    return typeof ms === 'number' ? ms : undefined;
  }

  /** Both caches hold a full list: answers from them are complete. */
  get synced(): boolean { return this.podReflector.hasSynced && this.resultReflector.hasSynced; }
  get isLeader(): boolean { return this.mayWrite(); }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    void this.resultReflector.run();
    // Results first: the reconcilers must know what is already recorded before they write.
    await this.resultReflector.waitForSync();
    for (const l of this.resultListeners) l.markSynced?.();
    void this.podReflector.run();
    await this.podReflector.waitForSync();
    if (this.stopped) return;
    this.log.info({ pods: this.store.size, results: this.book.size, identity: this.identity }, 'caches synced');
    if (this.elector) this.elector.start();
    else this.startLeading();
    this.every(this.s.resyncMs, () => this.resync());
    if (this.collector) {
      const collector = this.collector;
      this.every(Math.min(this.s.resultTtlMs! / 4, 10 * 60_000), async () => { if (this.mayWrite()) await collector.collect(); });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    // In-flight writes finish first, so a replacement starting now sees everything we wrote.
    await this.conditions.shutdown();
    await this.results.shutdown();
    this.receiver.stop();
    this.podReflector.stop();
    this.resultReflector.stop();
    await this.elector?.stop();
    this.leading = false;
    this.metrics.isLeader.set(0);
  }

  /** Resolves when no pod is queued or being reconciled, conditions and results alike (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.conditions.depth > 0 || this.results.depth > 0) {
      await this.conditions.idle();
      await this.results.idle();
    }
  }

  /** Age of the oldest tracked pod whose outcome is not known yet (0: none): stuck gates. */
  oldestPendingMs(): number {
    let oldest = Infinity;
    for (const p of this.store.values()) if (!p.deleting && !this.book.get(p.uid) && p.creationTimestampMs > 0) oldest = Math.min(oldest, p.creationTimestampMs);
    return oldest === Infinity ? 0 : Math.max(0, this.clock.now() - oldest);
  }

  pendingCount(): number {
    let n = 0;
    for (const p of this.store.values()) if (!this.book.get(p.uid)) n++;
    return n;
  }

  private mayWrite(): boolean {
    return this.leading && !this.stopped && (this.elector ? this.elector.isLeader() : true);
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.isLeader.set(1);
    this.conditions.start();
    this.results.start();
    this.receiver.start();
    // A new leader looks at everything once: the old one may have died mid-write.
    this.resync();
  }

  private stopLeading(): void {
    this.leading = false;
    this.metrics.isLeader.set(0);
    this.conditions.stop();
    this.results.stop();
    this.receiver.stop();
    this.conditionReconciler.reset();
  }

  private schedule(work: Work): void {
    for (const uid of work.gone) {
      this.conditions.forget(uid);
      this.conditionReconciler.forget(uid);
      this.events.forget(uid);
    }
    this.conditions.addAll(work.conditions);
    // A changed pod is looked at by the result queue too, straight from the watch: under a burst
    // the condition queue is seconds deep (its writes wait on the API server), and the result
    // needs nothing from it. A pod with no outcome yet, or whose result is recorded, costs a
    // decision and no write.
    this.results.addAll(work.conditions);
    this.results.addAll(work.results);
  }

  private resync(): void {
    // The leader keeps its tombstones until their results are written (a write may fail for a
    // while); a follower's are spares, dropped after TOMBSTONE_TTL_MS.
    if (!this.leading) this.tracker.prune();
    this.conditions.addAll(this.store.keys());
    this.results.addAll(this.tracker.tombstoneKeys());
  }

  /** Runs fn every ms until stop(); the next run is scheduled only after fn settles. */
  private every(ms: number, fn: () => void | Promise<void>): void {
    const arm = () => {
      const handle = this.clock.setTimeout(async () => {
        this.timers.delete(handle);
        if (this.stopped) return;
        try { await fn(); } catch (err) { this.log.error({ err: String(err) }, 'periodic task failed'); }
        if (!this.stopped) arm();
      }, ms);
      this.timers.add(handle);
    };
    arm();
  }
}
