// Wires the controller together: two list+watches (pods, DatapathResults) feed slim stores;
// watch handlers only record and enqueue pod UIDs; a bounded work queue runs the reconciler
// while this replica may write (leader, or no leader election); a periodic resync and the
// timeout rechecks make it level-triggered, so nothing depends on seeing every event.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { ANNOTATION_DP_READY, CRD_NAME, GROUP, PLURAL, VERSION, resultName, type DatapathResultSpec } from '../contract.ts';
import type { TimeoutPolicy } from '../conditions/decide.ts';
import { callOptions, describeKubeError } from '../kube/request-options.ts';
import { systemClock, type Clock } from './clock.ts';
import { EventRecorder } from './event-recorder.ts';
import { LeaderElector } from './leader-election.ts';
import { kubeLeaseStore } from './lease-store.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { PodStore } from './pod-store.ts';
import { summarizePod, type PodSummary } from './pod-summary.ts';
import { Reconciler, isNotLeader } from './reconciler.ts';
import { Reflector, type ListPage } from './reflector.ts';
import { kubeWatch } from './watch-stream.ts';
import { ResultBook } from './result-book.ts';
import { ResultWriter } from './result-writer.ts';
import { StatusPatcher } from './status-patcher.ts';
import { WorkQueue } from './work-queue.ts';

export interface ControllerSettings {
  /** Empty: all namespaces. */
  namespace: string;
  labelSelector?: string;
  datapathTimeoutMs: number;
  timeoutPolicy: TimeoutPolicy;
  pendingGraceMs: number;
  resultTtlMs?: number;
  workers: number;
  resyncMs: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity?: string;
  apiTimeoutMs: number;
}

export interface Logger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
  debug(o: object, msg: string): void;
}

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
  private readonly queue: WorkQueue;
  /** Result writes, apart from condition writes so a rollout's gate never waits behind them. */
  private readonly resultQueue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly podReflector: Reflector;
  private readonly resultReflector: Reflector;
  private readonly elector?: LeaderElector;
  private readonly resultWriter: ResultWriter;
  /** First sight of pods we do not track (yet): a reporter annotation may arrive later. */
  private readonly untrackedFirstSeen = new Map<string, number>();
  private started = false;
  private stopped = false;
  private leading = false;
  private readonly resultListeners: ResultListener[] = [];

  constructor(kc: k8s.KubeConfig, private readonly s: ControllerSettings, private readonly log: Logger, private readonly clock: Clock = systemClock) {
    this.identity = s.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.metrics = createMetrics({ pendingPods: () => this.pendingCount(), queueDepth: () => this.queue.depth + this.resultQueue.depth });
    this.resultWriter = new ResultWriter(custom, this.metrics, s.apiTimeoutMs);
    const podQueue = (what: string, process: (uid: string) => Promise<void>) => new WorkQueue({
      concurrency: s.workers, clock, process,
      onRetry: (uid, err, attempt, delayMs) => {
        if (isNotLeader(err)) return; // not a failure: this replica stopped writing
        const pod = this.store.get(uid) ?? this.store.tombstone(uid);
        this.log.warn({ pod: pod ? `${pod.namespace}/${pod.name}` : undefined, uid, attempt, retryInMs: delayMs, err: describeKubeError(err) }, `${what} failed; will retry`);
      },
    });
    this.queue = podQueue('reconcile', (uid) => this.reconciler.reconcile(uid));
    this.resultQueue = podQueue('recording the result', (uid) => this.reconciler.recordResult(uid));
    this.reconciler = new Reconciler({
      store: this.store, book: this.book, metrics: this.metrics, clock,
      statusPatcher: new StatusPatcher(core, this.metrics, s.apiTimeoutMs),
      resultWriter: this.resultWriter,
      events: new EventRecorder({ core, clock, metrics: this.metrics, instance: this.identity, log }),
      timeoutMs: s.datapathTimeoutMs, policy: s.timeoutPolicy, pendingGraceMs: s.pendingGraceMs,
      mayWrite: () => this.mayWrite(),
      requeueAfter: (uid, ms) => this.queue.addAfter(uid, ms),
      enqueueResult: (uid) => this.resultQueue.add(uid),
      log,
    });

    const nsPath = s.namespace ? `/namespaces/${encodeURIComponent(s.namespace)}` : '';
    const timeout = callOptions({ timeoutMs: 60_000 });
    this.podReflector = new Reflector({
      name: 'pods', watch: kubeWatch(kc), clock, log,
      watchPath: `/api/v1${nsPath}/pods`,
      watchParams: { labelSelector: s.labelSelector || undefined },
      list: async ({ limit, continue: cont }): Promise<ListPage> => {
        const q = { labelSelector: s.labelSelector || undefined, limit, _continue: cont };
        const list = s.namespace
          ? await core.listNamespacedPod({ namespace: s.namespace, ...q }, timeout)
          : await core.listPodForAllNamespaces(q, timeout);
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continue: list.metadata?._continue };
      },
      onReplace: (items) => this.replacePods(items as k8s.V1Pod[]),
      onEvent: (type, obj) => this.onPodEvent(type, obj as k8s.V1Pod),
      onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: 'pods', reason }),
    });
    this.resultReflector = new Reflector({
      name: PLURAL, watch: kubeWatch(kc), clock, log,
      notFoundHint: `the ${CRD_NAME} CRD is not installed: kubectl apply -f manifests/crd.yaml (or -k manifests/)`,
      watchPath: `/apis/${GROUP}/${VERSION}${nsPath}/${PLURAL}`,
      list: async ({ limit, continue: cont }): Promise<ListPage> => {
        const q = { group: GROUP, version: VERSION, plural: PLURAL, limit, _continue: cont };
        const list = (s.namespace
          ? await custom.listNamespacedCustomObject({ ...q, namespace: s.namespace }, timeout)
          : await custom.listClusterCustomObject(q, timeout)) as { items: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continue: list.metadata?.continue };
      },
      onReplace: (items) => {
        this.book.replace(items as ResultObject[]);
        for (const l of this.resultListeners) l.replace(items);
      },
      onEvent: (type, obj) => {
        const o = obj as ResultObject;
        const uid = o.spec?.podRef?.uid;
        if (type === 'DELETED') { if (uid) this.book.delete(uid); for (const l of this.resultListeners) l.delete(obj); }
        else { this.book.observe(o.spec, o.metadata?.namespace ?? ''); for (const l of this.resultListeners) l.upsert(obj); }
      },
      onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: PLURAL, reason }),
    });

    if (s.leaderElect) {
      this.elector = new LeaderElector({
        store: kubeLeaseStore(kc.makeApiClient(k8s.CoordinationV1Api), s.leaseNamespace, s.leaseName, 2_000),
        identity: this.identity, clock, log,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
      });
    }
  }

  /** Subscribes to the DatapathResult watch; call before start(). */
  addResultListener(listener: ResultListener): void {
    this.resultListeners.push(listener);
  }

  /** Both caches hold a full list: answers from them are complete. */
  get synced(): boolean { return this.podReflector.hasSynced && this.resultReflector.hasSynced; }
  get isLeader(): boolean { return this.mayWrite(); }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    void this.resultReflector.run();
    // Results first: the reconciler must know what is already recorded before it writes.
    await this.resultReflector.waitForSync();
    for (const l of this.resultListeners) l.markSynced?.();
    void this.podReflector.run();
    await this.podReflector.waitForSync();
    this.log.info({ pods: this.store.size, results: this.book.size, identity: this.identity }, 'caches synced');
    if (this.elector) this.elector.start();
    else this.startLeading();
    this.every(this.s.resyncMs, () => this.enqueueAll());
    if (this.s.resultTtlMs) this.every(Math.min(this.s.resultTtlMs / 4, 10 * 60_000), () => this.collectGarbage());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // In-flight writes finish first, so a replacement starting now sees everything we wrote.
    await this.queue.shutdown();
    await this.resultQueue.shutdown();
    this.podReflector.stop();
    this.resultReflector.stop();
    await this.elector?.stop();
    this.leading = false;
    this.metrics.isLeader.set(0);
  }

  /** Resolves when no pod is queued or being reconciled, conditions and results alike (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.queue.depth > 0 || this.resultQueue.depth > 0) {
      await this.queue.idle();
      await this.resultQueue.idle();
    }
  }

  pendingCount(): number {
    let n = 0;
    for (const p of this.store.values()) if (!this.book.get(p.uid)) n++;
    return n;
  }

  private mayWrite(): boolean {
    return this.leading && (this.elector ? this.elector.isLeader() : true);
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.isLeader.set(1);
    // A new leader looks at everything once: the old one may have died mid-write.
    this.enqueueAll();
    this.queue.start();
    this.resultQueue.start();
  }

  private stopLeading(): void {
    this.leading = false;
    this.metrics.isLeader.set(0);
    this.queue.pause();
    this.resultQueue.pause();
  }

  private enqueueAll(): void {
    for (const uid of this.store.keys()) this.queue.add(uid);
  }

  /** Runs fn every ms until stop(); the next run is scheduled only after fn settles. */
  private every(ms: number, fn: () => void | Promise<void>): void {
    const tick = async () => {
      if (this.stopped) return;
      try { await fn(); } catch (err) { this.log.error({ err: String(err) }, 'periodic task failed'); }
      if (!this.stopped) this.clock.setTimeout(() => void tick(), ms);
    };
    this.clock.setTimeout(() => void tick(), ms);
  }

  private tracked(p: PodSummary): boolean {
    return p.hasGate || Object.keys(p.annotations).length > 0;
  }

  private replacePods(items: k8s.V1Pod[]): void {
    const summaries: PodSummary[] = [];
    for (const item of items) {
      const s = summarizePod(item);
      if (s && this.tracked(s)) summaries.push(s);
    }
    const gone = this.store.replace(summaries);
    for (const uid of [...gone, ...summaries.map((s) => s.uid)]) this.queue.add(uid);
  }

  private onPodEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: k8s.V1Pod): void {
    const s = summarizePod(obj);
    if (!s) return;
    const now = this.clock.now();
    if (type === 'DELETED') {
      this.untrackedFirstSeen.delete(s.uid);
      if (this.store.get(s.uid) || this.tracked(s)) {
        if (!this.store.get(s.uid)) this.store.upsert(s);
        this.store.delete(s.uid, s);
        this.queue.forget(s.uid);
        this.resultQueue.add(s.uid);
      }
      return;
    }
    if (!this.tracked(s)) {
      if (type === 'ADDED') this.untrackedFirstSeen.set(s.uid, now);
      return;
    }
    const prev = this.store.get(s.uid);
    const firstSeenMs = type === 'ADDED' ? now : this.untrackedFirstSeen.get(s.uid);
    this.untrackedFirstSeen.delete(s.uid);
    const readyNow = ANNOTATION_DP_READY in s.annotations;
    const readyBefore = prev ? ANNOTATION_DP_READY in prev.annotations : false;
    this.store.upsert(s, { firstSeenMs, readySeenMs: readyNow && !readyBefore ? now : undefined });
    this.queue.add(s.uid);
  }

  private async collectGarbage(): Promise<void> {
    if (!this.mayWrite() || !this.s.resultTtlMs) return;
    const cutoff = this.clock.now() - this.s.resultTtlMs;
    let deleted = 0;
    for (const [uid, entry] of this.book.entriesOlderThan(cutoff)) {
      if (!this.mayWrite()) return;
      try {
        await this.resultWriter.delete(entry.namespace, resultName(uid));
        this.book.delete(uid);
        deleted++;
      } catch (err) {
        this.log.warn({ uid, err: describeKubeError(err) }, 'could not delete an expired result; will try again');
      }
    }
    if (deleted) this.log.info({ deleted, ttlMs: this.s.resultTtlMs }, 'expired results deleted');
  }
}
