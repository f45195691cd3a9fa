// One pass over one pod: decide (pure), then apply. The condition is what a rollout waits on,
// so reconcile() writes only that and hands the result to a second queue (recordResult()):
// a condition never waits behind a DatapathResult write. Each runs from its own work queue,
// so neither runs twice at once for a pod; both are level-triggered, so running again is safe.
import { ConditionReason, type DatapathResultSpec } from '../contract.ts';
import { conditionPatch } from '../conditions/condition-patch.ts';
import { decide, type TimeoutPolicy } from '../conditions/decide.ts';
import { readReporterReport } from '../conditions/reporter-report.ts';
import type { Clock } from './clock.ts';
import type { EventRecorder } from './event-recorder.ts';
import type { Metrics } from './metrics.ts';
import type { PodStore, TrackedPod } from './pod-store.ts';
import { buildResultSpec, creationInstant, outcomeFingerprint } from './result-spec.ts';
import type { ResultBook } from './result-book.ts';
import type { ResultWriter } from './result-writer.ts';
import type { StatusPatcher } from './status-patcher.ts';

export interface ReconcilerOptions {
  store: PodStore;
  book: ResultBook;
  statusPatcher: StatusPatcher;
  resultWriter: ResultWriter;
  events: EventRecorder;
  metrics: Metrics;
  clock: Clock;
  timeoutMs: number;
  policy: TimeoutPolicy;
  pendingGraceMs: number;
  /** Checked right before every write: a replica that lost its lease must not write. */
  mayWrite: () => boolean;
  /** Schedules another pass for the pod. */
  requeueAfter: (uid: string, delayMs: number) => void;
  /** Queues the pod's result to be recorded (by recordResult). */
  enqueueResult: (uid: string) => void;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void; debug(o: object, msg: string): void };
}

class NotLeader extends Error {}

const WARNING_REASONS: ReadonlySet<string> = new Set([
  ConditionReason.DatapathTimeout, ConditionReason.DatapathTimeoutFailOpen, ConditionReason.ReporterFailed, ConditionReason.InvalidAnnotation,
]);

export class Reconciler {
  constructor(private readonly o: ReconcilerOptions) {}

  /** Brings the pod's condition up to date; queues its result when the outcome is known. */
  async reconcile(uid: string): Promise<void> {
    const live = this.o.store.get(uid);
    if (live) return this.reconcileLive(live);
    if (this.o.store.tombstone(uid)) this.o.enqueueResult(uid);
  }

  /** Records the pod's result if its outcome is known and not recorded as it is. */
  async recordResult(uid: string): Promise<void> {
    const live = this.o.store.get(uid);
    if (live) {
      const now = this.o.clock.now();
      const report = readReporterReport(live.annotations);
      const decision = decide({
        hasGate: live.hasGate, report, createdAtMs: creationInstant(live).ms, now,
        timeoutMs: this.o.timeoutMs, policy: this.o.policy, pendingGraceMs: this.o.pendingGraceMs,
      });
      if (decision.outcome) await this.writeResult(buildResultSpec(live, report, decision.outcome, now));
      return;
    }
    const gone = this.o.store.tombstone(uid);
    if (gone) {
      await this.recordDeleted(gone);
      this.o.store.dropTombstone(uid);
      this.o.events.forget(uid);
    }
  }

  private guard(): void {
    if (!this.o.mayWrite()) throw new NotLeader('not the leader');
  }

  private async reconcileLive(pod: TrackedPod): Promise<void> {
    const now = this.o.clock.now();
    const report = readReporterReport(pod.annotations);
    const created = creationInstant(pod);
    const decision = decide({
      hasGate: pod.hasGate, report, createdAtMs: created.ms, now,
      timeoutMs: this.o.timeoutMs, policy: this.o.policy, pendingGraceMs: this.o.pendingGraceMs,
    });
    const podName = `${pod.namespace}/${pod.name}`;

    if (decision.condition && !pod.deleting) {
      const patch = conditionPatch(pod.uid, pod.condition, decision.condition, new Date(now));
      if (patch) {
        this.guard();
        const res = await this.o.statusPatcher.patch(pod.namespace, pod.name, patch);
        if (res === 'pod-gone') return;
        const written = patch.status.conditions[0]!;
        const before = pod.condition;
        // Remember what we wrote, so a pass that runs before the watch echoes it does not write again.
        pod.condition = { status: written.status, reason: written.reason, message: written.message, lastTransitionTime: written.lastTransitionTime };
        this.o.log.info({ pod: podName, uid: pod.uid, status: written.status, reason: written.reason, message: written.message }, 'condition written');
        if (written.status === 'True' && pod.readySeenMs !== undefined && written.reason === ConditionReason.DatapathReady) {
          this.o.metrics.gateLatency.observe((this.o.clock.now() - pod.readySeenMs) / 1000);
        }
        // An Event marks a change a person may look for: a gate that was visibly closed opening,
        // or a failure. A pod whose gate went straight to True gets none (one write fewer per pod).
        if (WARNING_REASONS.has(written.reason)) this.o.events.record(pod, 'Warning', written.reason, written.message);
        else if (written.reason === ConditionReason.DatapathReady && before?.status === 'False') {
          this.o.events.record(pod, 'Normal', written.reason, written.message);
        }
      }
    }

    // recordResult skips the write when the recorded outcome is already this one.
    if (decision.outcome) this.o.enqueueResult(pod.uid);
    if (decision.recheckAt !== undefined) this.o.requeueAfter(pod.uid, decision.recheckAt - now);
  }

  /** A pod deleted before its outcome was recorded: record what it had, if anything. */
  private async recordDeleted(pod: TrackedPod): Promise<void> {
    const report = readReporterReport(pod.annotations);
    if (!report.present) return;
    const known = this.o.book.get(pod.uid);
    const now = this.o.clock.now();
    const created = creationInstant(pod);
    const decision = decide({
      hasGate: pod.hasGate, report, createdAtMs: created.ms, now,
      timeoutMs: this.o.timeoutMs, policy: this.o.policy, pendingGraceMs: 0,
    });
    const outcome = decision.outcome ?? {
      outcome: 'Failed' as const, reason: 'PodDeleted',
      message: 'pod deleted before its datapath became ready' + (report.probe?.lastError ? ` (last error: ${report.probe.lastError})` : ''),
    };
    if (known && !decision.outcome) return; // already recorded (e.g. TimedOut); deletion adds nothing
    await this.writeResult(buildResultSpec(pod, report, outcome, now));
  }

  private async writeResult(spec: DatapathResultSpec): Promise<void> {
    const fp = outcomeFingerprint(spec);
    if (this.o.book.get(spec.podRef.uid)?.fingerprint === fp) return;
    this.guard();
    const res = await this.o.resultWriter.write(spec);
    const first = !this.o.book.get(spec.podRef.uid);
    this.o.book.set(spec.podRef.uid, { fingerprint: fp, namespace: spec.podRef.namespace, recordedAtMs: Date.parse(spec.timestamps.recordedAt) });
    this.o.log.info({ pod: `${spec.podRef.namespace}/${spec.podRef.name}`, uid: spec.podRef.uid, outcome: spec.outcome, reason: spec.reason,
      latStartMs: spec.metrics.latStartMs, latDpReadyMs: spec.metrics.latDpReadyMs, write: res }, 'result recorded');
    if (first && res !== 'unchanged' && res !== 'namespace-gone') {
      this.o.metrics.outcomes.inc({ outcome: spec.outcome });
      if (spec.metrics.latStartMs !== undefined) this.o.metrics.timeToStart.observe(Math.max(0, spec.metrics.latStartMs) / 1000);
      if (spec.metrics.latDpReadyMs !== undefined) this.o.metrics.timeToDatapathReady.observe(Math.max(0, spec.metrics.latDpReadyMs) / 1000);
    }
  }
}

export function isNotLeader(err: unknown): boolean {
  return err instanceof NotLeader;
}
