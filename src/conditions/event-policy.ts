// Which Event, if any, a condition write deserves. Pure. An Event marks a change a person may
// look for: a gate that was visibly closed opening, or a failure. A pod whose gate went
// straight to True gets none: one write fewer per pod in a rollout of thousands.
import { ConditionReason } from '../contract.ts';
import type { CurrentCondition } from './condition-patch.ts';

export interface PodEvent { type: 'Normal' | 'Warning'; reason: string; message: string }

const WARNING_REASONS: ReadonlySet<string> = new Set([
  ConditionReason.DatapathTimeout, ConditionReason.DatapathTimeoutFailOpen, ConditionReason.ReporterFailed, ConditionReason.InvalidAnnotation,
]);

export function eventFor(written: { status: string; reason: string; message: string }, before: CurrentCondition | undefined): PodEvent | undefined {
  if (WARNING_REASONS.has(written.reason)) return { type: 'Warning', reason: written.reason, message: written.message };
  if (written.reason === ConditionReason.DatapathReady && before?.status === 'False') {
    return { type: 'Normal', reason: written.reason, message: written.message };
  }
  return undefined;
}
