// The filters every data route shares, applied the same way to results and to tracked pods.
// Time bounds apply to the pod's creation instant: a test run is "pods created in this window".
import type { Outcome } from '../contract.ts';
import { matchesSelector, type Labels } from '../labels/match.ts';
import type { LabelSelector } from '../labels/selector.ts';

export interface Filters {
  namespace?: string;
  selector?: LabelSelector;
  /** Inclusive lower bound on createdAt, ms since epoch. */
  sinceMs?: number;
  /** Exclusive upper bound on createdAt, ms since epoch. */
  untilMs?: number;
  /** Results only: pods without a result have no outcome yet. */
  outcome?: Outcome;
}

interface Filterable {
  readonly namespace: string;
  readonly labels: Labels;
  readonly createdAtMs: number;
  readonly outcome?: Outcome;
}

/** A predicate for `f`, or undefined when nothing is filtered (callers then skip the walk). */
export function compileFilter(f: Filters): ((x: Filterable) => boolean) | undefined {
  const { namespace, selector, sinceMs, untilMs, outcome } = f;
  const hasSelector = selector !== undefined && selector.requirements.length > 0;
  if (namespace === undefined && !hasSelector && sinceMs === undefined && untilMs === undefined && outcome === undefined) {
    return undefined;
  }
  return (x) =>
    (namespace === undefined || x.namespace === namespace) &&
    (sinceMs === undefined || x.createdAtMs >= sinceMs) &&
    (untilMs === undefined || x.createdAtMs < untilMs) &&
    (outcome === undefined || x.outcome === outcome) &&
    (!hasSelector || matchesSelector(selector, x.labels));
}

/** The filters that apply to pods with no result yet: every one but outcome. */
export function podFilters(f: Filters): Filters {
  return { ...f, outcome: undefined };
}
