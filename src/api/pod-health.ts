// Tracked pods -> counts by phase and by datapath state, with the pods that need attention.
// Pure: pods come from the controller's store, outcomes from the result index.
import type { Outcome } from '../contract.ts';
import { compileFilter, podFilters, type Filters } from './filters.ts';
import type { PodPhase, PodView } from './pod-source.ts';

/** Lists are capped like failedPods on the time routes; the counts are always complete. */
export const POD_LIST_LIMIT = 1000;

export interface PodHealthPod {
  namespace: string; name: string; uid: string; nodeName: string;
  phase: PodPhase; reason: string; message: string;
  /** The datapath outcome when the pod has a result, else ''. */
  outcome: Outcome | '';
}

export interface PodHealth {
  /** Tracked pods matching the filters. */
  desired: number;
  /** Pods in phase Running. */
  running: number;
  /** Pods without a datapath result yet and not in phase Failed: still in flight. */
  pending: number;
  /** Pods whose result is Failed or TimedOut, or whose phase is Failed. */
  failed: number;
  /** Pods whose result is Succeeded. */
  succeeded: number;
  /** 100 · succeeded / desired, two decimals; 0 when nothing is tracked. */
  successPct: number;
  phases: Record<PodPhase, number>;
  pendingPods: PodHealthPod[];
  failedPods: PodHealthPod[];
  pendingPodsTruncated: boolean;
  failedPodsTruncated: boolean;
}

export interface ResultLookup {
  get(uid: string): { readonly outcome: Outcome; readonly reason: string; readonly message: string } | undefined;
}

export function podHealth(pods: Iterable<PodView>, results: ResultLookup, filters: Filters, limit = POD_LIST_LIMIT): PodHealth {
  const match = compileFilter(podFilters(filters));
  const phases: Record<PodPhase, number> = { Pending: 0, Running: 0, Succeeded: 0, Failed: 0, Unknown: 0 };
  // References, not copies: at the start of a run nearly every pod is pending.
  const pendingRefs: PodView[] = [];
  const failedPods: PodHealthPod[] = [];
  let desired = 0, pending = 0, failed = 0, succeeded = 0;

  for (const p of pods) {
    if (match && !match(p)) continue;
    const r = results.get(p.uid);
    // outcome filters by the pod's result, so pods without one drop out.
    if (filters.outcome !== undefined && r?.outcome !== filters.outcome) continue;
    desired++;
    phases[Object.hasOwn(phases, p.phase) ? p.phase : 'Unknown']++;
    if (r?.outcome === 'Succeeded') {
      succeeded++;
    } else if (r || p.phase === 'Failed') {
      failed++;
      failedPods.push({
        namespace: p.namespace, name: p.name, uid: p.uid, nodeName: p.nodeName, phase: p.phase,
        // A failed result explains more than the pod's own status does.
        reason: r ? r.reason : p.reason,
        message: r ? r.message : p.message,
        outcome: r?.outcome ?? '',
      });
    } else {
      pending++;
      pendingRefs.push(p);
    }
  }

  // The store iterates in arbitrary order: sort everything before capping so the kept subset
  // is deterministic. Failed pods sort by reason first so each kind of failure reads as a block.
  pendingRefs.sort(byName);
  failedPods.sort((a, b) => cmp(a.reason, b.reason) || byName(a, b));
  const pendingPods = pendingRefs.slice(0, limit).map((p): PodHealthPod => ({
    namespace: p.namespace, name: p.name, uid: p.uid, nodeName: p.nodeName, phase: p.phase,
    reason: p.reason, message: p.message, outcome: '',
  }));

  return {
    desired, running: phases.Running, pending, failed, succeeded,
    successPct: desired === 0 ? 0 : Math.round((10000 * succeeded) / desired) / 100,
    phases, pendingPods,
    pendingPodsTruncated: pending > pendingPods.length,
    failedPodsTruncated: failed > limit,
    failedPods: failedPods.slice(0, limit),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: { namespace: string; name: string; uid: string }, b: { namespace: string; name: string; uid: string }): number {
  return cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid);
}

/** Tracked pods matching `filters` with no result yet: the "pending" of the time routes. */
export function countPending(pods: Iterable<PodView>, results: { has(uid: string): boolean }, filters: Filters): number {
  // Pods without a result have no outcome, so an outcome filter leaves none pending.
  if (filters.outcome !== undefined) return 0;
  const match = compileFilter(podFilters(filters));
  let n = 0;
  for (const p of pods) if ((!match || match(p)) && p.phase !== 'Failed' && !results.has(p.uid)) n++;
  return n;
}
