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
  /** Best known creation instant (RFC3339); given on datapathPendingPodList only. */
  createdAt?: string;
}

/**
 * The existing system's fields first (same names, JSON types and meaning: counts by pod phase),
 * then dpready's datapath counts. Every count is complete; every list is capped at `limit`.
 */
export interface PodHealth {
  /** Echo of the filters ('' when not given), as the existing system returned them. */
  namespace: string;
  labelSelector: string;
  /** Tracked pods (with the dpready readiness gate) matching the filters, in any phase. */
  desiredReplicas: number;
  /** Pods in phase Running. */
  runningPods: number;
  /** Pods in phase Pending (not yet running: unscheduled, pulling, initializing). */
  pendingPods: number;
  /** Pods in phase Failed or Unknown. Succeeded pods (finished Job pods) are not failures. */
  failedPods: number;
  /** 100 · (runningPods + succeededPods) / desiredReplicas, two decimals; 0 when nothing is tracked. */
  successPct: number;
  /** The pods counted in pendingPods, by namespace, name. */
  pendingPodList: PodHealthPod[];
  /** The pods counted in failedPods, by reason, namespace, name. */
  failedPodList: PodHealthPod[];
  /** Pods in phase Succeeded. */
  succeededPods: number;
  phases: Record<PodPhase, number>;

  // dpready's datapath view of the same pods (kept from dpready 0.1; names never reused).
  /** Same as desiredReplicas. */
  desired: number;
  /** Same as runningPods. */
  running: number;
  /** Pods without a datapath result yet and not in phase Failed: still in flight. */
  pending: number;
  /** Pods whose datapath result is Failed or TimedOut, or whose phase is Failed. */
  failed: number;
  /** Pods whose datapath result is Succeeded. */
  succeeded: number;
  /** 100 · succeeded / desired, two decimals. */
  datapathSuccessPct: number;
  /** Pods whose datapath result is Failed or TimedOut, with the result's reason, by reason, namespace, name. */
  datapathFailedPodList: PodHealthPod[];
  pendingPodsTruncated: boolean;
  failedPodsTruncated: boolean;
  datapathFailedPodListTruncated: boolean;
  /** Pods with no datapath outcome yet (the `pending` count), oldest first: gates held now. */
  datapathPendingPodList: PodHealthPod[];
  datapathPendingPodListTruncated: boolean;
}

export interface ResultLookup {
  get(uid: string): { readonly outcome: Outcome; readonly reason: string; readonly message: string } | undefined;
}

export interface PodHealthEcho { namespace: string; labelSelector: string }

export function podHealth(pods: Iterable<PodView>, results: ResultLookup, filters: Filters, limit = POD_LIST_LIMIT,
  echo: PodHealthEcho = { namespace: filters.namespace ?? '', labelSelector: '' }): PodHealth {
  const match = compileFilter(podFilters(filters));
  const phases: Record<PodPhase, number> = { Pending: 0, Running: 0, Succeeded: 0, Failed: 0, Unknown: 0 };
  // References, not copies: at the start of a run nearly every pod is pending.
  const pendingRefs: PodView[] = [];
  const failedRefs: PodView[] = [];
  const dpFailed: PodHealthPod[] = [];
  const dpPending: PodView[] = [];
  let desired = 0, pending = 0, failed = 0, succeeded = 0;

  for (const p of pods) {
    if (match && !match(p)) continue;
    const r = results.get(p.uid);
    // outcome filters by the pod's result, so pods without one drop out.
    if (filters.outcome !== undefined && r?.outcome !== filters.outcome) continue;
    desired++;
    const phase = Object.hasOwn(phases, p.phase) ? p.phase : 'Unknown';
    phases[phase]++;
    if (phase === 'Pending') pendingRefs.push(p);
    else if (phase === 'Failed' || phase === 'Unknown') failedRefs.push(p);

    if (r?.outcome === 'Succeeded') {
      succeeded++;
    } else if (r) {
      failed++;
      // A failed result explains more than the pod's own status does.
      dpFailed.push({ ...listed(p), reason: r.reason, message: r.message, outcome: r.outcome });
    } else if (p.phase === 'Failed') {
      failed++;
    } else {
      pending++;
      dpPending.push(p);
    }
  }

  // The store iterates in arbitrary order: sort everything before capping so the kept subset
  // is deterministic. Failed pods sort by reason first so each kind of failure reads as a block.
  pendingRefs.sort(byName);
  failedRefs.sort((a, b) => cmp(a.reason, b.reason) || byName(a, b));
  dpFailed.sort((a, b) => cmp(a.reason, b.reason) || byName(a, b));
  dpPending.sort((a, b) => a.createdAtMs - b.createdAtMs || byName(a, b));
  const withOutcome = (p: PodView): PodHealthPod => ({ ...listed(p), outcome: results.get(p.uid)?.outcome ?? '' });
  const running = phases.Running;
  const pct = (n: number) => (desired === 0 ? 0 : Math.round((10000 * n) / desired) / 100);

  return {
    namespace: echo.namespace,
    labelSelector: echo.labelSelector,
    desiredReplicas: desired,
    runningPods: running,
    pendingPods: pendingRefs.length,
    failedPods: failedRefs.length,
    successPct: pct(running + phases.Succeeded),
    pendingPodList: pendingRefs.slice(0, limit).map(withOutcome),
    failedPodList: failedRefs.slice(0, limit).map(withOutcome),
    succeededPods: phases.Succeeded,
    phases,
    desired, running, pending, failed, succeeded,
    datapathSuccessPct: pct(succeeded),
    datapathFailedPodList: dpFailed.slice(0, limit),
    pendingPodsTruncated: pendingRefs.length > limit,
    failedPodsTruncated: failedRefs.length > limit,
    datapathFailedPodListTruncated: dpFailed.length > limit,
    datapathPendingPodList: dpPending.slice(0, limit).map((p) => ({ ...listed(p), ...(p.createdAtMs > 0 ? { createdAt: new Date(p.createdAtMs).toISOString() } : {}) })),
    datapathPendingPodListTruncated: dpPending.length > limit,
  };
}

function listed(p: PodView): PodHealthPod {
  return { namespace: p.namespace, name: p.name, uid: p.uid, nodeName: p.nodeName, phase: p.phase, reason: p.reason, message: p.message, outcome: '' };
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
