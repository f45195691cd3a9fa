// The strategic-merge patch that sets our condition on pods/status. Pure. The body holds only
// our condition, so the list merges by `type` and the kubelet's conditions are never touched;
// metadata.uid makes the API server reject the patch if the name now belongs to another pod.
// lastTransitionTime moves only when the status flips, as the API conventions require.
import { CONDITION_TYPE } from '../contract.ts';
import type { DesiredCondition } from './decide.ts';

export interface CurrentCondition {
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ConditionPatch {
  metadata: { uid: string };
  status: { conditions: Array<{ type: string; status: string; reason: string; message: string; lastTransitionTime: string; lastProbeTime: null }> };
}

/** Undefined when the pod already shows exactly what we want: no write. */
export function conditionPatch(podUid: string, current: CurrentCondition | undefined, desired: DesiredCondition, now: Date): ConditionPatch | undefined {
  if (current && current.status === desired.status && current.reason === desired.reason && current.message === desired.message) {
    return undefined;
  }
  const lastTransitionTime = current && current.status === desired.status && current.lastTransitionTime
    ? current.lastTransitionTime
    : now.toISOString().replace(/\.\d{3}Z$/, 'Z'); // metav1.Time is whole seconds
  return {
    metadata: { uid: podUid },
    status: { conditions: [{ type: CONDITION_TYPE, ...desired, lastTransitionTime, lastProbeTime: null }] },
  };
}

/** Same status, reason and message: what decides whether a write would change anything. */
export function sameCondition(a: CurrentCondition | undefined, b: CurrentCondition | undefined): boolean {
  return !!a && !!b && a.status === b.status && a.reason === b.reason && a.message === b.message;
}
