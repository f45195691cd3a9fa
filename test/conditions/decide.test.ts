import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, ANNOTATION_PROBE, ANNOTATION_RECEIVE_TS,
  ANNOTATION_START, ConditionReason, INJECT_DENY_TARGET_ANNOTATION,
} from '../../src/contract.ts';
import { decide, decisionInput, type DecisionInput } from '../../src/conditions/decide.ts';
import { readReporterReport } from '../../src/conditions/reporter-report.ts';
import { conditionPatch } from '../../src/conditions/condition-patch.ts';

const CREATED = Date.parse('2026-11-22T10:00:00.000Z');
const probe = JSON.stringify({ targets: ['tcp://10.0.0.9:80'], attempts: 3, rttMs: 1.4, lastError: 'ECONNREFUSED' });

function input(annotations: Record<string, string>, over: Partial<DecisionInput> = {}): DecisionInput {
  return {
    hasGate: true, report: readReporterReport(annotations), createdAtMs: CREATED, now: CREATED + 5_000,
    timeoutMs: 60_000, policy: 'fail-closed', pendingGraceMs: 2_000, ...over,
  };
}

describe('readReporterReport', () => {
  test('parses both timestamps with sub-second precision and the probe details', () => {
    const r = readReporterReport({
      [ANNOTATION_START]: '2026-11-22T10:00:00.250Z', [ANNOTATION_DP_READY]: '2026-11-22T10:00:01.375Z', [ANNOTATION_PROBE]: probe,
    });
    assert.deepEqual(r.problems, []);
    assert.equal(r.start?.ms, CREATED + 250);
    assert.equal(r.ready?.ms, CREATED + 1_375);
    assert.equal(r.probe?.attempts, 3);
    assert.equal(r.present, true);
  });

  test('accepts the existing Go reporter\'s whole-second RFC3339 with an offset', () => {
    const r = readReporterReport({ [ANNOTATION_START]: '2026-11-22T11:00:01+01:00' });
    assert.equal(r.start?.ms, CREATED + 1_000);
  });

  test('a malformed timestamp is a problem that quotes the value, not a crash', () => {
    const r = readReporterReport({ [ANNOTATION_DP_READY]: 'yesterday-ish' });
    assert.equal(r.ready, undefined);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.value, 'yesterday-ish');
  });

  test('malformed JSON details and a ready time before start are problems', () => {
    const r = readReporterReport({
      [ANNOTATION_START]: '2026-11-22T10:00:02Z', [ANNOTATION_DP_READY]: '2026-11-22T10:00:01Z',
      [ANNOTATION_PROBE]: '{not json', [ANNOTATION_FAILURE]: '{"reason":"Nope"}',
    });
    assert.deepEqual(r.problems.map((p) => p.annotation).sort(), [ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_PROBE].sort());
  });

  test('a pod without our annotations is not "present"', () => {
    assert.equal(readReporterReport({ 'other/x': '1' }).present, false);
  });
});

describe('decide', () => {
  test('pods with no gate and no reporter annotations are not ours', () => {
    assert.deepEqual(decide(input({}, { hasGate: false })), {});
  });

  test('a valid ready annotation makes the condition True with target and latency in the message', () => {
    const d = decide(input({ [ANNOTATION_START]: '2026-11-22T10:00:00.100Z', [ANNOTATION_DP_READY]: '2026-11-22T10:00:01.234Z', [ANNOTATION_PROBE]: probe }));
    assert.equal(d.condition?.status, 'True');
    assert.equal(d.condition?.reason, ConditionReason.DatapathReady);
    assert.match(d.condition!.message, /tcp:\/\/10\.0\.0\.9:80 answered 1234 ms after pod creation/);
    assert.equal(d.outcome?.outcome, 'Succeeded');
  });

  test('a reporter annotation without a gate still gets a condition', () => {
    const d = decide(input({ [ANNOTATION_DP_READY]: '2026-11-22T10:00:01Z' }, { hasGate: false }));
    assert.equal(d.condition?.status, 'True');
  });

  test('within the pending grace nothing is written, and we look again when it ends', () => {
    const d = decide(input({}, { now: CREATED + 500 }));
    assert.equal(d.condition, undefined);
    assert.equal(d.recheckAt, CREATED + 2_000);
  });

  test('a reporter start within the pending grace shows Probing at once: the datapath is slow', () => {
    const d = decide(input({ [ANNOTATION_START]: '2026-11-22T10:00:00.100Z', [ANNOTATION_PROBE]: probe }, { now: CREATED + 500 }));
    assert.equal(d.condition?.reason, ConditionReason.Probing);
  });

  test('after the grace: AwaitingReporter without output, Probing with a start, both False and rechecked at the deadline', () => {
    const waiting = decide(input({}));
    assert.equal(waiting.condition?.status, 'False');
    assert.equal(waiting.condition?.reason, ConditionReason.AwaitingReporter);
    assert.equal(waiting.recheckAt, CREATED + 60_000);
    const probing = decide(input({ [ANNOTATION_START]: '2026-11-22T10:00:00.100Z', [ANNOTATION_PROBE]: probe }));
    assert.equal(probing.condition?.reason, ConditionReason.Probing);
    assert.match(probing.condition!.message, /tcp:\/\/10\.0\.0\.9:80/);
    assert.equal(probing.outcome, undefined);
  });

  test('a malformed annotation is a Failed outcome whose reason quotes the value', () => {
    const d = decide(input({ [ANNOTATION_DP_READY]: 'not-a-time' }));
    assert.equal(d.condition?.status, 'False');
    assert.equal(d.condition?.reason, ConditionReason.InvalidAnnotation);
    assert.match(d.condition!.message, /"not-a-time"/);
    assert.equal(d.outcome?.outcome, 'Failed');
  });

  test('reporter failure: False with its reason; fail-open opens the gate only after the deadline', () => {
    const failure = JSON.stringify({ reason: 'ProbeDeadline', message: 'no success within 30s', ts: '2026-11-22T10:00:30Z' });
    const closed = decide(input({ [ANNOTATION_START]: '2026-11-22T10:00:00Z', [ANNOTATION_FAILURE]: failure, [ANNOTATION_PROBE]: probe }, { now: CREATED + 31_000 }));
    assert.equal(closed.condition?.reason, ConditionReason.ReporterFailed);
    assert.match(closed.condition!.message, /ECONNREFUSED/);
    assert.equal(closed.outcome?.reason, 'ProbeDeadline');
    const openEarly = decide(input({ [ANNOTATION_FAILURE]: failure }, { now: CREATED + 31_000, policy: 'fail-open' }));
    assert.equal(openEarly.condition?.status, 'False');
    assert.equal(openEarly.recheckAt, CREATED + 60_000);
    const openLate = decide(input({ [ANNOTATION_FAILURE]: failure }, { now: CREATED + 61_000, policy: 'fail-open' }));
    assert.equal(openLate.condition?.status, 'True');
    assert.equal(openLate.condition?.reason, ConditionReason.DatapathTimeoutFailOpen);
  });

  test('timeout: fail-closed keeps the gate False, fail-open turns it True with its own reason; both record TimedOut', () => {
    const closed = decide(input({ [ANNOTATION_START]: '2026-11-22T10:00:00Z' }, { now: CREATED + 60_000 }));
    assert.deepEqual([closed.condition?.status, closed.condition?.reason, closed.outcome?.outcome], ['False', ConditionReason.DatapathTimeout, 'TimedOut']);
    const open = decide(input({}, { now: CREATED + 60_000, policy: 'fail-open' }));
    assert.deepEqual([open.condition?.status, open.condition?.reason, open.outcome?.outcome], ['True', ConditionReason.DatapathTimeoutFailOpen, 'TimedOut']);
    assert.match(open.condition!.message, /no reporter output/);
  });

  test('a late success after a timeout still records the success', () => {
    const d = decide(input({ [ANNOTATION_DP_READY]: '2026-11-22T10:02:00Z' }, { now: CREATED + 200_000 }));
    assert.equal(d.outcome?.outcome, 'Succeeded');
  });
});

describe('conditionPatch', () => {
  const now = new Date('2026-11-22T10:00:05.678Z');
  const want = { status: 'False' as const, reason: ConditionReason.Probing, message: 'm' };

  test('holds only our condition and the UID precondition', () => {
    const p = conditionPatch('uid-1', undefined, want, now)!;
    assert.equal(p.metadata.uid, 'uid-1');
    assert.equal(p.status.conditions.length, 1);
    assert.equal(p.status.conditions[0]!.type, 'perf.github.com/datapath-ready');
    assert.equal(p.status.conditions[0]!.lastTransitionTime, '2026-11-22T10:00:05Z');
  });

  test('is skipped when status, reason and message are unchanged', () => {
    assert.equal(conditionPatch('u', { status: 'False', reason: ConditionReason.Probing, message: 'm' }, want, now), undefined);
  });

  test('keeps lastTransitionTime when only the reason changes, moves it when the status flips', () => {
    const same = conditionPatch('u', { status: 'False', reason: ConditionReason.AwaitingReporter, message: 'x', lastTransitionTime: '2026-01-01T00:00:00Z' }, want, now)!;
    assert.equal(same.status.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
    const flip = conditionPatch('u', { status: 'False', reason: ConditionReason.Probing, message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { status: 'True', reason: ConditionReason.DatapathReady, message: 'ok' }, now)!;
    assert.equal(flip.status.conditions[0]!.lastTransitionTime, '2026-11-22T10:00:05Z');
  });
});

describe('decide with the receive check on (a container port named dpready-receive)', () => {
  const sent = { [ANNOTATION_START]: '2026-11-22T10:00:00.250Z', [ANNOTATION_DP_READY]: '2026-11-22T10:00:01.000Z', [ANNOTATION_PROBE]: probe };

  test('sending alone does not open the gate: AwaitingReceive names the port and how the check works', () => {
    const d = decide(input(sent, { receivePort: 9376 }));
    assert.equal(d.condition?.status, 'False');
    assert.equal(d.condition?.reason, ConditionReason.AwaitingReceive);
    assert.match(d.condition!.message, /sending works \(tcp:\/\/10\.0\.0\.9:80 answered 1000 ms after pod creation/);
    assert.match(d.condition!.message, /no inbound probe has reached the pod on :9376 yet/);
    assert.equal(d.outcome, undefined);
    assert.equal(d.recheckAt, CREATED + 60_000);
  });

  test('both sides: True, with both instants in the message', () => {
    const d = decide(input({ ...sent, [ANNOTATION_RECEIVE_TS]: '2026-11-22T10:00:02.500Z' }, { receivePort: 9376 }));
    assert.equal(d.condition?.status, 'True');
    assert.equal(d.condition?.reason, ConditionReason.DatapathReady);
    assert.match(d.condition!.message, /an inbound probe reached it on :9376 2500 ms after pod creation/);
    assert.equal(d.outcome?.outcome, 'Succeeded');
  });

  test('without the check, the receive annotation changes nothing', () => {
    assert.equal(decide(input(sent)).condition?.status, 'True');
  });

  test('the reporter\'s ReceiveDeadline failure: ReporterFailed, saying it was the receive side', () => {
    const failure = JSON.stringify({ reason: 'ReceiveDeadline', message: 'no inbound probe reached the pod within 1m', ts: '2026-11-22T10:01:00.000Z' });
    const d = decide(input({ ...sent, [ANNOTATION_FAILURE]: failure }, { receivePort: 9376 }));
    assert.equal(d.condition?.reason, ConditionReason.ReporterFailed);
    assert.match(d.condition!.message, /ReceiveDeadline: no inbound probe reached the pod/);
    assert.equal(d.outcome?.outcome, 'Failed');
  });

  test('timed out with sending working: the message names the receive side', () => {
    const d = decide(input(sent, { receivePort: 9376, now: CREATED + 61_000 }));
    assert.equal(d.condition?.reason, ConditionReason.DatapathTimeout);
    assert.match(d.condition!.message, /no inbound probe reached the pod on :9376 within 1m/);
  });
});

describe('decide with deny targets (the policy check)', () => {
  const sent = { [ANNOTATION_START]: '2026-11-22T10:00:00.250Z', [ANNOTATION_DP_READY]: '2026-11-22T10:00:01.000Z', [ANNOTATION_PROBE]: probe };
  const policy = (over: Record<string, unknown> = {}) => JSON.stringify({ targets: ['tcp://forbidden.other:8080'], attempts: 12, confirm: 3, ...over });

  test('datapath ready, a deny target still answering: AwaitingPolicy names it and when it answered', () => {
    const d = decide(input({ ...sent, [ANNOTATION_POLICY_PROBE]: policy({ answering: 'tcp://forbidden.other:8080', lastAnswerTs: '2026-11-22T10:00:01.200Z' }) }));
    assert.equal(d.condition?.status, 'False');
    assert.equal(d.condition?.reason, ConditionReason.AwaitingPolicy);
    assert.match(d.condition!.message, /^datapath ready \(tcp:\/\/10\.0\.0\.9:80 answered 1000 ms after pod creation.*\); awaiting the NetworkPolicy: tcp:\/\/forbidden\.other:8080 still answered at 2026-11-22T10:00:01\.200Z; gives up 1m after pod creation$/);
    assert.equal(d.outcome, undefined);
    assert.equal(d.recheckAt, CREATED + 60_000);
  });

  test('none answering yet, not yet confirmed: AwaitingPolicy says it is confirming', () => {
    const d = decide(input({ ...sent, [ANNOTATION_POLICY_PROBE]: policy() }));
    assert.equal(d.condition?.reason, ConditionReason.AwaitingPolicy);
    assert.match(d.condition!.message, /no deny target answering; confirming over 3 rounds in a row in which tcp:\/\/forbidden\.other:8080 go unanswered/);
  });

  test('enforced: True, and the message gives the instant', () => {
    const d = decide(input({ ...sent, [ANNOTATION_POLICY_PROBE]: policy(), [ANNOTATION_POLICY_ENFORCED]: '2026-11-22T10:00:02.340Z' }));
    assert.equal(d.condition?.status, 'True');
    assert.equal(d.condition?.reason, ConditionReason.DatapathReady);
    assert.match(d.condition!.message, /policy in force: tcp:\/\/forbidden\.other:8080 unanswered from 2340 ms after pod creation$/);
    assert.equal(d.outcome?.outcome, 'Succeeded');
  });

  test('the webhook\'s deny-target annotation turns the check on before the reporter says anything about it', () => {
    const pod = { hasGate: true, annotations: { ...sent, [INJECT_DENY_TARGET_ANNOTATION]: 'tcp://forbidden.other:8080' }, creationTimestampMs: CREATED };
    const d = decide(decisionInput(pod, { timeoutMs: 60_000, policy: 'fail-closed', pendingGraceMs: 2_000 }, CREATED + 5_000));
    assert.equal(d.condition?.reason, ConditionReason.AwaitingPolicy);
    assert.match(d.condition!.message, /the reporter has not reported on its deny targets yet/);
    assert.equal(decide(input(sent)).condition?.status, 'True', 'without deny targets, the datapath alone opens the gate');
  });

  test('the controller\'s timeout with the datapath working: PolicyNotEnforced (fail-closed) naming the target; fail-open opens', () => {
    const ann = { ...sent, [ANNOTATION_POLICY_PROBE]: policy({ answering: 'tcp://forbidden.other:8080', lastAnswerTs: '2026-11-22T10:00:59.000Z' }) };
    const d = decide(input(ann, { now: CREATED + 61_000 }));
    assert.equal(d.condition?.status, 'False');
    assert.equal(d.condition?.reason, ConditionReason.PolicyNotEnforced);
    assert.match(d.condition!.message, /^policy not in force within 1m of pod creation: tcp:\/\/forbidden\.other:8080 still answered at 2026-11-22T10:00:59\.000Z/);
    assert.deepEqual([d.outcome?.outcome, d.outcome?.reason], ['TimedOut', ConditionReason.PolicyNotEnforced]);
    const open = decide(input(ann, { now: CREATED + 61_000, policy: 'fail-open' }));
    assert.deepEqual([open.condition?.status, open.condition?.reason], ['True', ConditionReason.DatapathTimeoutFailOpen]);
  });

  test('the reporter\'s PolicyDeadline failure: PolicyNotEnforced with its message', () => {
    const failure = JSON.stringify({ reason: 'PolicyDeadline', message: 'policy not in force within 1m: tcp://forbidden.other:8080 still answered at 2026-11-22T10:00:59.000Z (40 attempts against tcp://forbidden.other:8080)', ts: '2026-11-22T10:01:00.000Z' });
    const d = decide(input({ ...sent, [ANNOTATION_POLICY_PROBE]: policy(), [ANNOTATION_FAILURE]: failure }));
    assert.equal(d.condition?.reason, ConditionReason.PolicyNotEnforced);
    assert.match(d.condition!.message, /datapath works, but the policy was not seen in force: the reporter gave up: policy not in force within 1m: tcp:\/\/forbidden\.other:8080 still answered/);
    assert.deepEqual([d.outcome?.outcome, d.outcome?.reason], ['Failed', 'PolicyDeadline']);
  });

  test('with the receive check too: AwaitingReceive first, then AwaitingPolicy', () => {
    const ann = { ...sent, [ANNOTATION_POLICY_PROBE]: policy() };
    assert.equal(decide(input(ann, { receivePort: 9376 })).condition?.reason, ConditionReason.AwaitingReceive);
    assert.equal(decide(input({ ...ann, [ANNOTATION_RECEIVE_TS]: '2026-11-22T10:00:02.000Z' }, { receivePort: 9376 })).condition?.reason, ConditionReason.AwaitingPolicy);
  });

  test('a malformed policy annotation is an InvalidAnnotation that quotes it', () => {
    const d = decide(input({ ...sent, [ANNOTATION_POLICY_ENFORCED]: 'soon' }));
    assert.equal(d.condition?.reason, ConditionReason.InvalidAnnotation);
    assert.match(d.condition!.message, /perf\.github\.com\/policy-enforced-ts="soon"/);
  });
});
