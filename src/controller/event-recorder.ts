// Events on pods when the gate turns True or times out, so `kubectl describe pod` shows the
// story. Events are best effort and rate-limited (one per pod and reason, plus a token
// bucket for the whole controller), because a 5,000-pod rollout must not double the
// controller's writes or flood etcd with events.
import type { CoreCalls } from '../kube/raw-apis.ts';
import { callOptions, describeKubeError } from '../kube/request-options.ts';
import type { Clock } from './clock.ts';
import type { Metrics } from './metrics.ts';

export interface PodRef { namespace: string; name: string; uid: string }

export class EventRecorder {
  private tokens: number;
  private lastRefill: number;
  /** Reasons already reported per pod UID. */
  private readonly sent = new Map<string, Set<string>>();

  constructor(private readonly deps: {
    core: CoreCalls; clock: Clock; metrics: Metrics; instance: string;
    log: { warn(o: object, msg: string): void };
    perSecond?: number; burst?: number;
  }) {
    this.tokens = deps.burst ?? 25;
    this.lastRefill = deps.clock.now();
  }

  record(pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const reasons = this.sent.get(pod.uid) ?? new Set<string>();
    if (reasons.has(reason)) return;
    if (!this.take()) { this.deps.metrics.eventsDropped.inc(); return; }
    reasons.add(reason);
    this.sent.set(pod.uid, reasons);
    const now = new Date(this.deps.clock.now());
    void this.deps.core.createNamespacedEvent({ namespace: pod.namespace, body: {
      metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: pod.namespace, name: pod.name, uid: pod.uid },
      type, reason, message: message.slice(0, 1024),
      firstTimestamp: now, lastTimestamp: now, count: 1,
      source: { component: 'dpready-controller' },
      reportingComponent: 'perf.github.com/dpready-controller', reportingInstance: this.deps.instance,
    } }, callOptions({ timeoutMs: 5_000 })).then(
      () => this.deps.metrics.writes.inc({ resource: 'events', verb: 'create' }),
      (err: unknown) => this.deps.log.warn({ pod: `${pod.namespace}/${pod.name}`, reason, err: describeKubeError(err) }, 'could not record event'),
    );
  }

  /** Forget a pod that is gone, so the set does not grow without bound. */
  forget(uid: string): void {
    this.sent.delete(uid);
  }

  private take(): boolean {
    const now = this.deps.clock.now();
    const rate = this.deps.perSecond ?? 5;
    this.tokens = Math.min(this.deps.burst ?? 25, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
