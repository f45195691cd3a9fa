// The controller's memory of pods: slim summaries by UID, when each was first seen on the
// watch (a sub-second creation instant), and tombstones of pods deleted before their
// outcome was recorded, so the delete event can still be turned into a result.
import type { PodSummary } from './pod-summary.ts';

export interface TrackedPod extends PodSummary {
  /** When the controller saw the pod's ADDED event on a live watch; unset for pods found by a list. */
  firstSeenMs?: number;
  /** When the ready annotation first appeared on the watch: the start of the gate latency. */
  readySeenMs?: number;
}

export class PodStore {
  private readonly pods = new Map<string, TrackedPod>();
  private readonly tombstones = new Map<string, TrackedPod>();

  #version = 0;

  get size(): number { return this.pods.size; }
  /** Changes whenever a pod is added, changed or removed: lets the stats API reuse answers. */
  get version(): number { return this.#version; }

  get(uid: string): TrackedPod | undefined { return this.pods.get(uid); }
  tombstone(uid: string): TrackedPod | undefined { return this.tombstones.get(uid); }
  dropTombstone(uid: string): void { this.tombstones.delete(uid); }
  values(): IterableIterator<TrackedPod> { return this.pods.values(); }
  keys(): IterableIterator<string> { return this.pods.keys(); }

  /** firstSeenMs is given only for ADDED events on a live watch: that instant bounds creation closely. */
  upsert(pod: PodSummary, extra: { firstSeenMs?: number; readySeenMs?: number } = {}): TrackedPod {
    const prev = this.pods.get(pod.uid);
    const tracked: TrackedPod = {
      ...pod,
      firstSeenMs: prev?.firstSeenMs ?? extra.firstSeenMs,
      readySeenMs: prev?.readySeenMs ?? extra.readySeenMs,
    };
    this.pods.set(pod.uid, tracked);
    this.#version++;
    return tracked;
  }

  delete(uid: string, last?: PodSummary): void {
    const prev = this.pods.get(uid);
    this.pods.delete(uid);
    this.#version++;
    const final = last ? { ...last, firstSeenMs: prev?.firstSeenMs, readySeenMs: prev?.readySeenMs } : prev;
    if (final) this.tombstones.set(uid, final);
  }

  /** After a relist: pods missing from it were deleted while we were not watching. Returns their UIDs. */
  replace(pods: PodSummary[]): string[] {
    const seen = new Set<string>();
    for (const p of pods) { seen.add(p.uid); this.upsert(p); }
    const gone: string[] = [];
    for (const uid of [...this.pods.keys()]) if (!seen.has(uid)) { this.delete(uid); gone.push(uid); }
    return gone;
  }
}
