// Tracking policy, in one place: which pods are ours, what the controller remembers about them
// beyond the API's own fields (first seen, ready seen), and what it keeps of deleted pods.
// Watch events come in here and leave as the pod UIDs that need a condition pass or a result
// pass; nothing here does I/O.
//
// Memory stays flat on every replica: a follower keeps caches only. First-seen instants are
// kept only while they can still refine a creation time (inside creationTimestamp's second) and
// are dropped with the pod; tombstones (deleted pods whose result may still be due) are kept only
// for pods whose reporter wrote something, and dropped once the result is recorded, by us or,
// seen on the result watch, by the leader, or after TOMBSTONE_TTL_MS; a follower keeps none for
// pods whose result it already knows.
import { ANNOTATION_DP_READY } from '../contract.ts';
import { readReporterReport } from '../conditions/reporter-report.ts';
import type { Clock } from './clock.ts';
import type { PodStore, TrackedPod } from './pod-store.ts';
import type { PodSummary } from './pod-summary.ts';
import type { ResultBook } from './result-book.ts';

/** Pod UIDs that need another look, and those gone (per-pod state elsewhere can be dropped). */
export interface Work { conditions: string[]; results: string[]; gone: string[] }

/** Longer than any result write takes, retries included: a follower's tombstone is only a spare. */
export const TOMBSTONE_TTL_MS = 10 * 60_000;

/** A pod is ours if it lists our readiness gate or carries the reporter's annotations. */
export function isTracked(p: PodSummary): boolean {
  return p.hasGate || Object.keys(p.annotations).length > 0;
}

export class PodTracker {
  /** First sight of pods we do not track (yet), while it can still refine their creation instant. */
  private readonly untrackedFirstSeen = new Map<string, number>();
  private readonly tombstones = new Map<string, { pod: TrackedPod; at: number }>();

  constructor(private readonly store: PodStore, private readonly book: ResultBook, private readonly clock: Clock) {}

  get tombstoneCount(): number { return this.tombstones.size; }
  get untrackedCount(): number { return this.untrackedFirstSeen.size; }
  tombstone(uid: string): TrackedPod | undefined { return this.tombstones.get(uid)?.pod; }
  tombstoneKeys(): string[] { return [...this.tombstones.keys()]; }
  dropTombstone(uid: string): void { this.tombstones.delete(uid); }

  /** "namespace/name" of a pod we know or knew, for logs. */
  describe(uid: string): string | undefined {
    const p = this.store.get(uid) ?? this.tombstone(uid);
    return p ? `${p.namespace}/${p.name}` : undefined;
  }

  /** A watch event. `leading`: whether this replica writes (gate latency is measured only then). */
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', s: PodSummary, leading: boolean): Work {
    const now = this.clock.now();
    if (type === 'DELETED') {
      this.untrackedFirstSeen.delete(s.uid);
      if (!this.store.get(s.uid) && !isTracked(s)) return none();
      return this.gone(this.store.delete(s.uid, s)!, leading);
    }
    if (!isTracked(s) && !this.store.get(s.uid)) {
      // Only useful while it lies inside creationTimestamp's second (result-spec.ts).
      if (type === 'ADDED' && now < s.creationTimestampMs + 1_000) this.untrackedFirstSeen.set(s.uid, now);
      return none();
    }
    const prev = this.store.get(s.uid);
    const firstSeenMs = type === 'ADDED' ? now : this.untrackedFirstSeen.get(s.uid);
    this.untrackedFirstSeen.delete(s.uid);
    const readyNow = ANNOTATION_DP_READY in s.annotations;
    const readyBefore = prev ? ANNOTATION_DP_READY in prev.annotations : false;
    this.store.upsert(s, {
      firstSeenMs, readySeenMs: leading && readyNow && !readyBefore ? now : undefined,
      // A pod tracked only now (its first annotation) was not watched before: what is True already has no instant.
      seenAtMs: prev || type === 'ADDED' ? now : undefined,
    });
    return { conditions: [s.uid], results: [], gone: [] };
  }

  /** A full list: pods missing from it were deleted while we were not watching. */
  replace(items: PodSummary[], leading: boolean): Work {
    const listed = new Set(items.map((s) => s.uid));
    for (const uid of [...this.untrackedFirstSeen.keys()]) if (!listed.has(uid)) this.untrackedFirstSeen.delete(uid);
    const ours = items.filter((s) => isTracked(s) || this.store.get(s.uid));
    const work: Work = { conditions: ours.map((s) => s.uid), results: [], gone: [] };
    for (const pod of this.store.replace(ours)) {
      const w = this.gone(pod, leading);
      work.results.push(...w.results);
      work.gone.push(...w.gone);
    }
    return work;
  }

  /** The DatapathResult of a pod was recorded (seen on the result watch or written by us). */
  onResultRecorded(uid: string): void {
    this.tombstones.delete(uid);
  }

  /** Drops tombstones no one needed in time (a follower's, when the leader recorded nothing); not called while leading. */
  prune(): void {
    const cutoff = this.clock.monotonic() - TOMBSTONE_TTL_MS;
    for (const [uid, t] of this.tombstones) if (t.at < cutoff) this.tombstones.delete(uid);
  }

  private gone(pod: TrackedPod, leading: boolean): Work {
    const gone = { conditions: [], results: [], gone: [pod.uid] };
    // Only a pod whose reporter wrote something can still have a result due (deleted-outcome.ts).
    if (!readReporterReport(pod.annotations).present) return gone;
    // A follower keeps no tombstone of a pod whose result is recorded already: if it takes over,
    // the deletion would add nothing to that result. The leader looks once more, as the last
    // event may carry a newer outcome.
    if (!leading && this.book.get(pod.uid)) return gone;
    this.tombstones.set(pod.uid, { pod, at: this.clock.monotonic() });
    return { ...gone, results: [pod.uid] };
  }
}

function none(): Work { return { conditions: [], results: [], gone: [] }; }
