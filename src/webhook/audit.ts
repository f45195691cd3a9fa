// Pods that asked for injection and were created without it: the price of failurePolicy
// Ignore (a webhook outage must never block pod creation). Such a pod is un-gated, so it is
// reported: a counter and a Warning Event on the pod, from the leader only (one per pod).
import type { V1Pod } from '@kubernetes/client-node';
import { CONDITION_TYPE, INJECT_LABEL, INJECTED_ANNOTATION, REPORTER_CONTAINER } from '../contract.ts';

/** Pure: did this pod ask for injection (itself or through its namespace) and not get it? */
export function missedInjection(pod: V1Pod, enabledNamespaces: ReadonlySet<string>, excluded: readonly string[]): boolean {
  const ns = pod.metadata?.namespace ?? '';
  const label = pod.metadata?.labels?.[INJECT_LABEL];
  if (excluded.includes(ns) || label === 'disabled') return false;
  if (label !== 'enabled' && !enabledNamespaces.has(ns)) return false;
  if (pod.metadata?.annotations?.[INJECTED_ANNOTATION] !== undefined) return false;
  if (pod.spec?.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE)) return false;
  return ![...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) => c.name === REPORTER_CONTAINER);
}

export interface AuditDeps {
  enabledNamespaces: () => ReadonlySet<string>;
  excluded: readonly string[];
  isLeader: () => boolean;
  now: () => number;
  report: (pod: V1Pod) => void;
  /** Pods older than this when first seen are not reported (a restart would re-report them). */
  maxAgeMs?: number;
}

/** Follows the pod watch; reports each missed pod once. */
export class InjectionAudit {
  private readonly seen = new Set<string>();
  constructor(private readonly d: AuditDeps) {}

  onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (type === 'DELETED') { this.seen.delete(uid); return; }
    if (this.seen.has(uid) || !this.d.isLeader()) return;
    const created = new Date(pod.metadata?.creationTimestamp ?? NaN).getTime();
    if (Number.isFinite(created) && this.d.now() - created > (this.d.maxAgeMs ?? 10 * 60_000)) return;
    if (!missedInjection(pod, this.d.enabledNamespaces(), this.d.excluded)) return;
    this.seen.add(uid);
    this.d.report(pod);
  }
}
