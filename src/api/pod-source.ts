// What the API needs from the controller's pod store. The controller implements it over the
// pods it already tracks (those with our readiness gate); the API never lists pods itself.
// Every replica (leader or not) must keep this store and the result index fed, so any replica
// can answer.
import type { Labels } from '../labels/match.ts';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** '' while unscheduled. */
  readonly nodeName: string;
  readonly phase: PodPhase;
  /** Why the pod is where it is: our condition's reason while gated, else the pod status reason; '' if none. */
  readonly reason: string;
  readonly message: string;
  readonly labels: Labels;
  /** Best known creation instant (ms since epoch), the same one the result would record. */
  readonly createdAtMs: number;
}

export interface PodSource {
  /** The tracked pods now. Called once per request; must not copy the store to answer. */
  snapshot(): Iterable<PodView>;
  /**
   * Optional: a number that changes whenever a tracked pod is added, removed or changed. With
   * it the API reuses answers until pods or results change (after a run, pipelines poll the
   * same query over a static set); without it every request recomputes.
   */
  version?(): number;
}

/** For tests and for a controller that tracks no pods: nothing is pending. */
export const NO_PODS: PodSource = { snapshot: () => [] };
