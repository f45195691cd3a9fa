// The controller's memory of pods: slim summaries by UID, with when each was first seen on the
// watch (a sub-second creation instant) and when its ready annotation appeared. A cache only:
// what to track, and what to keep of deleted pods, is decided in tracking.ts. Objects are
// replaced on every change and never mutated, so readers (the stats API's views) can keep them.
import type { PodSummary, WatchedCondition } from './pod-summary.ts';

export interface TrackedPod extends PodSummary {
  /** When the controller saw the pod's ADDED event on a live watch; unset for pods found by a list. */
  readonly firstSeenMs?: number;
  /** When the ready annotation first appeared on the watch while leading: the start of the gate latency. */
  readonly readySeenMs?: number;
  /**
   * When each pod condition was first seen True on a live watch (controller clock, ms); null
   * when it was already True when the pod was first listed or tracked (the instant is unknown,
   * and a later event must not pass for it).
   */
  readonly conditionSeenMs?: Readonly<Partial<Record<WatchedCondition, number | null>>>;
}

export class PodStore {
  private readonly pods = new Map<string, TrackedPod>();

  #version = 0;

  get size(): number { return this.pods.size; }
  /** Changes whenever a pod is added, changed or removed: lets the stats API reuse answers. */
  get version(): number { return this.#version; }

  get(uid: string): TrackedPod | undefined { return this.pods.get(uid); }
  values(): IterableIterator<TrackedPod> { return this.pods.values(); }
  keys(): IterableIterator<string> { return this.pods.keys(); }

  /**
   * firstSeenMs and readySeenMs are kept from the first time they are given. seenAtMs is given
   * for live watch events of a pod watched since its creation (not for a list): conditions True
   * for the first time are stamped with it.
   */
  upsert(pod: PodSummary, extra: { firstSeenMs?: number; readySeenMs?: number; seenAtMs?: number } = {}): TrackedPod {
    const prev = this.pods.get(pod.uid);
    let conditionSeenMs = prev?.conditionSeenMs;
    for (const c of pod.conditionsTrue ?? []) {
      if (!conditionSeenMs || !(c in conditionSeenMs)) conditionSeenMs = { ...conditionSeenMs, [c]: extra.seenAtMs ?? null };
    }
    const tracked: TrackedPod = {
      ...pod,
      firstSeenMs: prev?.firstSeenMs ?? extra.firstSeenMs,
      readySeenMs: prev?.readySeenMs ?? extra.readySeenMs,
      ...(conditionSeenMs ? { conditionSeenMs } : {}),
    };
    this.pods.set(pod.uid, tracked);
    this.#version++;
    return tracked;
  }

  /** Removes the pod; returns it as last seen (the delete event's object when given). */
  delete(uid: string, last?: PodSummary): TrackedPod | undefined {
    const prev = this.pods.get(uid);
    if (!prev && !last) return undefined;
    this.pods.delete(uid);
    this.#version++;
    return last ? { ...last, firstSeenMs: prev?.firstSeenMs, readySeenMs: prev?.readySeenMs, conditionSeenMs: prev?.conditionSeenMs } : prev;
  }

  /** After a relist: pods missing from it were deleted while we were not watching. Returns them. */
  replace(pods: PodSummary[]): TrackedPod[] {
    const seen = new Set<string>();
    for (const p of pods) { seen.add(p.uid); this.upsert(p); }
    const gone: TrackedPod[] = [];
    for (const uid of [...this.pods.keys()]) if (!seen.has(uid)) gone.push(this.delete(uid)!);
    return gone;
  }
}
