// One condition pass over one pod: decide (pure), then write our condition if it would change.
// The condition is what a rollout waits on, so this pass writes nothing else; the result is
// recorded by its own controller (result-reconciler.ts), so a gate never waits behind it.
//
// What we wrote is remembered per pod UID until the watch shows it (controller-runtime's
// expectations): a watch event from before our patch cannot make us write it again, nor move
// lastTransitionTime. The cached pod objects are never modified.
import { ConditionReason } from '../contract.ts';
import { conditionPatch, sameCondition, type ConditionPatch, type CurrentCondition } from '../conditions/condition-patch.ts';
import { decide, decisionInput, type DecisionPolicy } from '../conditions/decide.ts';
import { eventFor, type PodEvent } from '../conditions/event-policy.ts';
import type { Clock } from './clock.ts';
import type { Next } from './keyed-controller.ts';
import type { Metrics } from './metrics.ts';
import type { PodStore, TrackedPod } from './pod-store.ts';
import type { PatchResult } from './status-patcher.ts';

/** A write the watch has not shown within this long was overwritten by someone else: trust the cache. */
const EXPECTATION_TTL_MS = 60_000;

export interface ConditionPass extends Next {
  /** The pod's outcome is known: its result is due. */
  outcomeKnown?: boolean;
}

export interface ConditionReconcilerOptions {
  store: PodStore;
  patcher: { patch(namespace: string, name: string, body: ConditionPatch): Promise<PatchResult> };
  events: { record(pod: TrackedPod, type: PodEvent['type'], reason: string, message: string): void };
  metrics: Pick<Metrics, 'gateLatency'>;
  clock: Clock;
  policy: DecisionPolicy;
  /** Checked right before the write: a replica that lost its lease must not write. */
  mayWrite(): boolean;
  log: { info(o: object, msg: string): void };
  /**
   * Called as soon as a pass finds the pod's outcome known, before the condition is written: the
   * result is recorded beside the condition, not after it (a burst's condition writes take
   * seconds; the result needs none of them).
   */
  outcomeKnown?(uid: string): void;
}

export class ConditionReconciler {
  private readonly written = new Map<string, { condition: CurrentCondition; at: number }>();

  constructor(private readonly o: ConditionReconcilerOptions) {}

  /** Writes made but not yet seen on the watch. */
  get expectations(): number { return this.written.size; }

  async reconcile(uid: string): Promise<ConditionPass> {
    const pod = this.o.store.get(uid);
    if (!pod) {
      this.written.delete(uid);
      return {};
    }
    const now = this.o.clock.now();
    const decision = decide(decisionInput(pod, this.o.policy, now));
    const pass: ConditionPass = {
      outcomeKnown: decision.outcome !== undefined,
      ...(decision.recheckAt !== undefined ? { requeueAfter: decision.recheckAt - now } : {}),
    };
    if (pass.outcomeKnown) this.o.outcomeKnown?.(uid);
    if (!decision.condition || pod.deleting) return pass;
    const current = this.current(pod);
    const patch = conditionPatch(uid, current, decision.condition, new Date(now));
    if (!patch || !this.o.mayWrite()) return pass;

    const res = await this.o.patcher.patch(pod.namespace, pod.name, patch);
    if (res === 'pod-gone') return {};
    const w = patch.status.conditions[0]!;
    this.written.set(uid, { condition: { status: w.status, reason: w.reason, message: w.message, lastTransitionTime: w.lastTransitionTime }, at: this.o.clock.monotonic() });
    this.o.log.info({ pod: `${pod.namespace}/${pod.name}`, uid, status: w.status, reason: w.reason, message: w.message }, 'condition written');
    // readySeenMs is set only while leading (tracking.ts), so a follower's sightings never count.
    if (w.status === 'True' && w.reason === ConditionReason.DatapathReady && pod.readySeenMs !== undefined) {
      this.o.metrics.gateLatency.observe((this.o.clock.now() - pod.readySeenMs) / 1000);
    }
    const event = eventFor(w, current);
    if (event) this.o.events.record(pod, event.type, event.reason, event.message);
    return pass;
  }

  /** A new term starts from what the watch shows. */
  reset(): void { this.written.clear(); }

  /** The pod is gone. */
  forget(uid: string): void { this.written.delete(uid); }

  /** Our condition as it is now: the cache's, unless we wrote since and the watch has not shown it yet. */
  private current(pod: TrackedPod): CurrentCondition | undefined {
    const w = this.written.get(pod.uid);
    if (!w) return pod.condition;
    if (sameCondition(pod.condition, w.condition) || this.o.clock.monotonic() - w.at > EXPECTATION_TTL_MS) {
      this.written.delete(pod.uid);
      return pod.condition;
    }
    return w.condition;
  }
}
