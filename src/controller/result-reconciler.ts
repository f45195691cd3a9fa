// One result pass over one pod: if its outcome is known (live pod) or it was deleted with a
// result still due (tombstone), record the DatapathResult, unless the book says it is recorded
// as it is. Level-triggered: running it again changes nothing.
import type { DatapathResultSpec } from '../contract.ts';
import { decide, decisionInput, type DecisionPolicy } from '../conditions/decide.ts';
import { deletedOutcome } from '../conditions/deleted-outcome.ts';
import { readReporterReport } from '../conditions/reporter-report.ts';
import type { Clock } from './clock.ts';
import type { Next } from './keyed-controller.ts';
import type { Metrics } from './metrics.ts';
import type { PodStore } from './pod-store.ts';
import type { ResultBook } from './result-book.ts';
import { buildResultSpec, outcomeFingerprint, readyWait, readyWithoutDatapathMs } from './result-spec.ts';
import type { WriteResult } from './result-writer.ts';
import type { PodTracker } from './tracking.ts';

export interface ResultReconcilerOptions {
  store: PodStore;
  tracker: Pick<PodTracker, 'tombstone' | 'dropTombstone'>;
  book: ResultBook;
  writer: { write(spec: DatapathResultSpec): Promise<WriteResult> };
  metrics: Pick<Metrics, 'outcomes' | 'timeToStart' | 'timeToDatapathReady' | 'readyWithoutDatapath'>;
  clock: Clock;
  policy: DecisionPolicy;
  /** Checked right before the write: a replica that lost its lease must not write. */
  mayWrite(): boolean;
  log: { info(o: object, msg: string): void };
  /** How long a succeeded pod's result waits for its Ready instant (--ready-wait); 0 or unset: never. */
  readyWaitMs?: number;
}

export class ResultReconciler {
  constructor(private readonly o: ResultReconcilerOptions) {}

  async reconcile(uid: string): Promise<Next> {
    const now = this.o.clock.now();
    const live = this.o.store.get(uid);
    if (live) {
      const decision = decide(decisionInput(live, this.o.policy, now));
      if (!decision.outcome) return {};
      // Ready comes after our condition turns True: hold a first result back for it (the Ready
      // event queues the pod again), so every phase instant is recorded in one write.
      const wait = readyWait(live, decision.outcome.outcome, now, this.o.readyWaitMs ?? 0);
      if (wait > 0 && !this.o.book.get(uid)) return { requeueAfter: wait };
      await this.write(buildResultSpec(live, readReporterReport(live.annotations), decision.outcome, now));
      return {};
    }
    const gone = this.o.tracker.tombstone(uid);
    if (!gone) return {};
    const report = readReporterReport(gone.annotations);
    // No grace for a deleted pod: it will not write anything more.
    const decision = decide(decisionInput(gone, { ...this.o.policy, pendingGraceMs: 0 }, now));
    const outcome = deletedOutcome(report, decision, !!this.o.book.get(uid));
    if (outcome && !(await this.write(buildResultSpec(gone, report, outcome, now)))) return {};
    this.o.tracker.dropTombstone(uid);
    return {};
  }

  /** False when this replica may not write (no longer leading): the next leader records it. */
  private async write(spec: DatapathResultSpec): Promise<boolean> {
    const uid = spec.podRef.uid;
    const fp = outcomeFingerprint(spec);
    const known = this.o.book.get(uid);
    if (known?.fingerprint === fp) return true;
    if (!this.o.mayWrite()) return false;
    const res = await this.o.writer.write(spec);
    this.o.book.set(uid, { fingerprint: fp, namespace: spec.podRef.namespace, podName: spec.podRef.name, recordedAtMs: Date.parse(spec.timestamps.recordedAt) });
    this.o.log.info({ pod: `${spec.podRef.namespace}/${spec.podRef.name}`, uid, outcome: spec.outcome, reason: spec.reason,
      latStartMs: spec.metrics.latStartMs, latDpReadyMs: spec.metrics.latDpReadyMs, write: res }, 'result recorded');
    // Counted once per result: when this write created it. `known` was read before the write,
    // because the watch echo of our own create may reach the book before the call returns.
    if (!known && res === 'created') {
      this.o.metrics.outcomes.inc({ outcome: spec.outcome });
      if (spec.metrics.latStartMs !== undefined) this.o.metrics.timeToStart.observe(Math.max(0, spec.metrics.latStartMs) / 1000);
      if (spec.metrics.latDpReadyMs !== undefined) this.o.metrics.timeToDatapathReady.observe(Math.max(0, spec.metrics.latDpReadyMs) / 1000);
      const gap = readyWithoutDatapathMs(spec);
      if (gap !== undefined) this.o.metrics.readyWithoutDatapath.observe(Math.max(0, gap) / 1000);
    }
    return true;
  }
}
