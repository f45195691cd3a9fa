// What to record for a pod deleted before its outcome was recorded. Pure. Only a pod whose
// reporter wrote something has anything to record: a pod deleted before its reporter started
// leaves no result (it never took part in the measurement).
import type { Decision } from './decide.ts';
import type { ReporterReport } from './reporter-report.ts';

export const POD_DELETED = 'PodDeleted';

/** decision is decide()'s answer for the pod as it was last seen, with no pending grace. */
export function deletedOutcome(report: ReporterReport, decision: Decision, alreadyRecorded: boolean): Decision['outcome'] {
  if (!report.present) return undefined;
  if (decision.outcome) return decision.outcome;
  // Already recorded (e.g. TimedOut): the deletion adds nothing.
  if (alreadyRecorded) return undefined;
  return {
    outcome: 'Failed', reason: POD_DELETED,
    message: 'pod deleted before its datapath became ready' + (report.probe?.lastError ? ` (last error: ${report.probe.lastError})` : ''),
  };
}
