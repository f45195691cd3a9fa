import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_PROBE, ANNOTATION_START, ProbeDetails, ReporterFailure,
} from '../../src/contract.ts';
import { decide, failurePatch, probeDetails, readyPatch, startPatch } from '../../src/reporter/annotations.ts';
import type { TargetResult } from '../../src/reporter/prober.ts';
import { parseTarget } from '../../src/reporter/targets.ts';

const START = '2025-01-01T12:00:00.123Z';
const READY = '2025-01-01T12:00:02.456Z';

test('fresh pod: probe, nothing to keep', () => {
  assert.deepEqual(decide(undefined), { action: 'probe', invalid: [] });
  assert.deepEqual(decide({ other: 'x' }), { action: 'probe', invalid: [] });
});

test('restart before success keeps the recorded start', () => {
  assert.deepEqual(decide({ [ANNOTATION_START]: START }), { action: 'probe', keepStart: START, invalid: [] });
  // A start from the existing Go reporter (whole seconds, offset) is kept too.
  assert.deepEqual(decide({ [ANNOTATION_START]: '2025-01-01T12:00:00+00:00' }).action, 'probe');
  assert.equal((decide({ [ANNOTATION_START]: '2025-01-01T12:00:00+00:00' }) as { keepStart?: string }).keepStart, '2025-01-01T12:00:00+00:00');
});

test('restart after success: neither probe nor write', () => {
  assert.deepEqual(decide({ [ANNOTATION_START]: START, [ANNOTATION_DP_READY]: READY }), { action: 'done', ready: READY });
  assert.deepEqual(decide({ [ANNOTATION_DP_READY]: READY, [ANNOTATION_FAILURE]: '{}' }), { action: 'done', ready: READY });
});

test('unparseable values are not kept', () => {
  const d = decide({ [ANNOTATION_START]: 'yesterday', [ANNOTATION_DP_READY]: '12:00' });
  assert.equal(d.action, 'probe');
  assert.equal((d as { keepStart?: string }).keepStart, undefined);
  assert.deepEqual((d as { invalid: string[] }).invalid, [`${ANNOTATION_DP_READY}="12:00"`, `${ANNOTATION_START}="yesterday"`]);
});

const results = (): TargetResult[] => [
  { target: parseTarget('10.0.0.1:80'), attempts: 40, lastError: 'connect ECONNREFUSED 10.0.0.1:80', rttMs: 0.4567, doneAt: 2_000.1234, readyFrom: 'sent', lateMs: 3.21, sendDelayMs: 0.0567, failedAt: 1_980.0004 },
  { target: parseTarget('http://svc/'), attempts: 3, rttMs: 3.2, doneAt: 1_500 },
];

test('probe details', () => {
  const d = probeDetails(results(), { readyAt: 2_000.1234, start: { at: 0, from: 'node' }, startKept: false });
  assert.deepEqual(d, {
    targets: ['10.0.0.1:80', 'http://svc/'],
    attempts: 43,
    lastError: 'connect ECONNREFUSED 10.0.0.1:80',
    rttMs: 3.2,
    startToReadyMs: 2_000.123,
    startFrom: 'node',
    perTarget: [
      { target: '10.0.0.1:80', attempts: 40, lastError: 'connect ECONNREFUSED 10.0.0.1:80', rttMs: 0.457, readyAfterMs: 2_000.123, readyFrom: 'sent', lateMs: 3.21, sendDelayMs: 0.057, failedAfterMs: 1_980 },
      { target: 'http://svc/', attempts: 3, rttMs: 3.2, readyAfterMs: 1_500 },
    ],
  });
  const kept = probeDetails(results(), { readyAt: 2_500, start: { at: 500, from: 'exec' }, startKept: true });
  assert.equal(kept.startToReadyMs, 2_000);
  assert.equal(kept.startKept, true);
  assert.equal(kept.startFrom, 'exec');
  // The controller's parser keeps it (a field it did not declare would be dropped).
  assert.equal(ProbeDetails.parse(kept).startFrom, 'exec');
  const long = probeDetails([{ target: parseTarget('a:1'), attempts: 1, lastError: 'x'.repeat(1000) }], { startKept: false });
  assert.equal(long.lastError!.length, 300);
  assert.equal(long.rttMs, undefined);
});

test('healthy pod: one merge patch with start, ready and details; clears an old failure', () => {
  const details = probeDetails(results(), { readyAt: 2_000, startKept: false });
  const p = readyPatch({ start: START, ready: READY, details });
  assert.deepEqual(Object.keys(p), ['metadata']);
  assert.deepEqual(Object.keys(p.metadata), ['annotations']);
  const a = p.metadata.annotations;
  assert.equal(a[ANNOTATION_START], START);
  assert.equal(a[ANNOTATION_DP_READY], READY);
  assert.equal(a[ANNOTATION_FAILURE], null);
  assert.deepEqual(ProbeDetails.parse(JSON.parse(a[ANNOTATION_PROBE]!)), details);
  // Every key is ours.
  for (const k of Object.keys(a)) assert.ok(k.startsWith('perf.github.com/'), k);
});

test('ready after the start went out alone does not repeat the start', () => {
  const p = readyPatch({ ready: READY, details: probeDetails(results(), { readyAt: 2_000, startKept: false }) });
  assert.equal(ANNOTATION_START in p.metadata.annotations, false);
  assert.deepEqual(startPatch(START), { metadata: { annotations: { [ANNOTATION_START]: START } } });
});

test('the start patch carries the probe details so far, naming the targets still waited for', () => {
  const p = startPatch(START, probeDetails(results(), { startKept: false }));
  const details = ProbeDetails.parse(JSON.parse(p.metadata.annotations[ANNOTATION_PROBE]!));
  assert.ok(details.targets.length > 0);
  assert.equal(ANNOTATION_DP_READY in p.metadata.annotations, false);
});

test('failure patch carries a parseable ReporterFailure', () => {
  const failure = { reason: 'ProbeDeadline' as const, message: 'no success within 60s', ts: READY, probe: probeDetails(results(), { startKept: false }) };
  const p = failurePatch({ start: START, failure });
  assert.equal(p.metadata.annotations[ANNOTATION_START], START);
  assert.deepEqual(ReporterFailure.parse(JSON.parse(p.metadata.annotations[ANNOTATION_FAILURE]!)), failure);
  assert.equal(ANNOTATION_DP_READY in p.metadata.annotations, false);
  assert.throws(() => failurePatch({ failure: { ...failure, ts: 'now' } }));
});
