import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_PROBE, ANNOTATION_START, ProbeDetails, ReporterFailure,
} from '../../src/contract.ts';
import type { AnnotationPatch } from '../../src/reporter/annotations.ts';
import { loadConfig } from '../../src/reporter/config.ts';
import { QUIET_AFTER_SUCCESS_MS } from '../../src/reporter/prober.ts';
import { silentLogger } from '../../src/reporter/log.ts';
import type { PodApi } from '../../src/reporter/pod-writer.ts';
import type { ProbeFn } from '../../src/reporter/probes.ts';
import { run, WARM_UP_AFTER_MS, type RunDeps } from '../../src/reporter/run.ts';
import { FakeClock, WALL0 } from './fake-clock.ts';

const iso = (mono: number) => new Date(WALL0 + mono).toISOString();

/** A pod API that applies merge patches to an in-memory pod and records when each landed. */
function fakePod(clock: FakeClock, initial: Record<string, string> = {}) {
  const annotations: Record<string, string> = { ...initial };
  const patches: { at: number; body: AnnotationPatch }[] = [];
  const failures: { op: 'get' | 'patch'; code: number }[] = [];
  let gets = 0;
  const fail = (op: 'get' | 'patch') => {
    const i = failures.findIndex((f) => f.op === op);
    if (i < 0) return;
    const { code } = failures.splice(i, 1)[0]!;
    throw Object.assign(new Error(`HTTP ${code}`), { code });
  };
  const api: PodApi = {
    async getAnnotations() { gets++; fail('get'); return { ...annotations }; },
    async patch(body) {
      fail('patch');
      for (const [k, v] of Object.entries(body.metadata.annotations)) {
        if (v === null) delete annotations[k];
        else annotations[k] = v;
      }
      patches.push({ at: clock.now(), body });
    },
  };
  return { api, annotations, patches, failures, gets: () => gets };
}

/** The path works from `worksAt` (ms): attempts before it are refused at once. */
function pathWorksAt(clock: FakeClock, worksAt: number): ProbeFn & { calls: number } {
  const fn = (async () => {
    fn.calls++;
    const start = clock.now();
    if (start < worksAt) throw new Error('connect ECONNREFUSED');
    await clock.sleep(1);
    return { sentAt: start, doneAt: clock.now(), rttMs: clock.now() - start };
  }) as unknown as ProbeFn & { calls: number };
  fn.calls = 0;
  return fn;
}

function deps(clock: FakeClock, pod: ReturnType<typeof fakePod>, probe: ProbeFn, env: Record<string, string> = {}): RunDeps {
  const config = loadConfig({ MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'n', PROBE_TARGET: '10.0.0.1:80', ...env });
  return { config, clock, probe, podApi: async () => pod.api, log: silentLogger, random: () => 0.5 };
}

test('healthy pod: one write carries start, ready and details', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock, { unrelated: 'kept' });
  const running = run(deps(clock, pod, pathWorksAt(clock, 300)));
  await clock.advance(2_000);
  const r = await running;
  assert.equal(r.outcome, 'ready');
  assert.equal(r.exitCode, 0);
  assert.equal(pod.patches.length, 1);
  const a = pod.annotations;
  assert.equal(a.unrelated, 'kept');
  assert.equal(a[ANNOTATION_START], iso(0));
  // Ready is the start of the attempt that got through (it answered 1 ms later); the patch goes
  // out QUIET_AFTER_SUCCESS_MS after that instant, so neighbours healing at once get their ticks first.
  const readyAt = pod.patches[0]!.at - QUIET_AFTER_SUCCESS_MS;
  assert.equal(a[ANNOTATION_DP_READY], iso(readyAt));
  assert.ok(readyAt >= 300 && readyAt <= 320, `ready at ${readyAt}`);
  const details = ProbeDetails.parse(JSON.parse(a[ANNOTATION_PROBE]!));
  assert.equal(details.startToReadyMs, readyAt);
  // It answered 1 ms after it started, between two ticks, while the reporter slept on its thread
  // (no receive check, no deny target; prober.ts, SLEEP_ON_THREAD): handled at the next tick.
  assert.equal(details.rttMs, 20);
  assert.equal(details.perTarget![0]!.readyFrom, 'sent');
  assert.equal(details.lastError, 'connect ECONNREFUSED');
  assert.equal(ANNOTATION_FAILURE in a, false);
});

test('slow datapath: start goes out when the grace ends, ready at first success', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  const running = run(deps(clock, pod, pathWorksAt(clock, 2_500)));
  await clock.advance(4_000);
  const r = await running;
  assert.equal(r.outcome, 'ready');
  assert.equal(pod.patches.length, 2);
  assert.equal(pod.patches[0]!.at, 1_000);
  const first = pod.patches[0]!.body.metadata.annotations;
  assert.deepEqual(Object.keys(first).sort(), [ANNOTATION_PROBE, ANNOTATION_START].sort());
  assert.equal(first[ANNOTATION_START], iso(0));
  // The start goes out with the attempts so far, so the controller can name what is awaited.
  const sofar = ProbeDetails.parse(JSON.parse(first[ANNOTATION_PROBE]!));
  assert.ok(sofar.attempts > 0 && sofar.targets.length > 0 && sofar.startToReadyMs === undefined);
  assert.equal(ANNOTATION_START in pod.patches[1]!.body.metadata.annotations, false);
  assert.equal(pod.annotations[ANNOTATION_DP_READY], iso(pod.patches[1]!.at - QUIET_AFTER_SUCCESS_MS));
});

test('warm-up: a reporter still probing WARM_UP_AFTER_MS after its start warms up once; one whose path works before then never does; a failed warm-up changes nothing', async () => {
  for (const { worksAt, fails, expect } of [
    { worksAt: 2_500, fails: false, expect: [WARM_UP_AFTER_MS] },
    { worksAt: 300, fails: false, expect: [] },
    { worksAt: 2_500, fails: true, expect: [WARM_UP_AFTER_MS] },
  ]) {
    const clock = new FakeClock();
    const pod = fakePod(clock);
    const warmedAt: number[] = [];
    const running = run({
      ...deps(clock, pod, pathWorksAt(clock, worksAt)),
      warmUp: async (targets) => {
        warmedAt.push(clock.now());
        assert.deepEqual(targets.map((t) => t.raw), ['10.0.0.1:80']);
        if (fails) throw new Error('listen EADDRNOTAVAIL');
      },
    });
    await clock.advance(5_000);
    const r = await running;
    assert.equal(r.outcome, 'ready', `path works at ${worksAt}`);
    assert.deepEqual(warmedAt, expect, `path works at ${worksAt}`);
    assert.equal(pod.annotations[ANNOTATION_DP_READY], iso(pod.patches.at(-1)!.at - QUIET_AFTER_SUCCESS_MS));
  }
});

test('deadline: start, then a failure annotation with the reason, then exit code 3', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  const running = run(deps(clock, pod, pathWorksAt(clock, Infinity), { PROBE_TIMEOUT: '5' }));
  await clock.advance(6_000);
  const r = await running;
  assert.equal(r.outcome, 'deadline');
  assert.equal(r.exitCode, 3);
  assert.equal(pod.patches.length, 2);
  assert.equal(pod.patches[1]!.at, 5_000);
  const failure = ReporterFailure.parse(JSON.parse(pod.annotations[ANNOTATION_FAILURE]!));
  assert.equal(failure.reason, 'ProbeDeadline');
  assert.match(failure.message, /no success within 5s from 10\.0\.0\.1:80 after \d+ attempts; last error: connect ECONNREFUSED/);
  assert.equal(failure.ts, iso(5_000));
  assert.ok(failure.probe!.attempts > 100);
  assert.equal(ANNOTATION_DP_READY in pod.annotations, false);
});

test('a start stamped by dpready-start before Node began: the start annotation, and the origin of the deadline, the grace and startToReadyMs', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  // The container's exec 300 ms before this process's start (Node's start-up on a loaded node).
  const running = run({ ...deps(clock, pod, pathWorksAt(clock, Infinity), { PROBE_TIMEOUT: '5' }), start: { at: -300, from: 'exec' } });
  await clock.advance(6_000);
  const r = await running;
  assert.equal(r.outcome, 'deadline');
  // The grace (1 s) and the deadline (5 s) count from the exec, not from Node's start.
  assert.equal(pod.patches[0]!.at, 700);
  assert.equal(pod.patches[1]!.at, 4_700);
  assert.equal(pod.annotations[ANNOTATION_START], iso(-300));
  assert.equal(ReporterFailure.parse(JSON.parse(pod.annotations[ANNOTATION_FAILURE]!)).probe!.startFrom, 'exec');

  const clock2 = new FakeClock();
  const pod2 = fakePod(clock2);
  const healthy = run({ ...deps(clock2, pod2, pathWorksAt(clock2, 200)), start: { at: -300, from: 'exec' } });
  await clock2.advance(1_000);
  assert.equal((await healthy).outcome, 'ready');
  const details = ProbeDetails.parse(JSON.parse(pod2.annotations[ANNOTATION_PROBE]!));
  assert.equal(pod2.annotations[ANNOTATION_START], iso(-300));
  assert.equal(details.startToReadyMs, pod2.patches[0]!.at - QUIET_AFTER_SUCCESS_MS + 300);
  assert.equal(details.startFrom, 'exec');
});

test('a later success clears a failure left by an earlier run and keeps its start', async () => {
  const clock = new FakeClock();
  const earlier = '2025-01-01T11:59:00.000Z';
  const pod = fakePod(clock, { [ANNOTATION_START]: earlier, [ANNOTATION_FAILURE]: '{"reason":"ProbeDeadline"}' });
  const running = run(deps(clock, pod, pathWorksAt(clock, 2_000)));
  await clock.advance(3_000);
  const r = await running;
  assert.equal(r.outcome, 'ready');
  // The kept start is never rewritten: one patch, ready only.
  assert.equal(pod.patches.length, 1);
  assert.equal(pod.annotations[ANNOTATION_START], earlier);
  assert.equal(ANNOTATION_FAILURE in pod.annotations, false);
  assert.equal(ProbeDetails.parse(JSON.parse(pod.annotations[ANNOTATION_PROBE]!)).startKept, true);
});

test('re-run after success neither probes on nor writes', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock, { [ANNOTATION_START]: iso(-5_000), [ANNOTATION_DP_READY]: iso(-3_000) });
  const probe = pathWorksAt(clock, 0);
  const running = run(deps(clock, pod, probe));
  await clock.advance(5_000);
  const r = await running;
  assert.equal(r.outcome, 'already-ready');
  assert.equal(r.exitCode, 0);
  assert.equal(pod.patches.length, 0);
  // Probing starts before the GET answers (accuracy), but stops as soon as it does.
  assert.ok(probe.calls <= 1, `probe calls ${probe.calls}`);
  assert.equal(clock.pendingTimers(), 0);
});

test('transient API errors are retried with backoff', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  pod.failures.push({ op: 'get', code: 500 }, { op: 'get', code: 429 }, { op: 'patch', code: 503 });
  const running = run(deps(clock, pod, pathWorksAt(clock, 100)));
  await clock.advance(5_000);
  const r = await running;
  assert.equal(r.outcome, 'ready');
  assert.equal(pod.gets(), 3);
  assert.equal(pod.patches.length, 1);
  // Backoff with random()=0.5: 150 ms after the first failure, 300 after the second; then
  // the ready patch (success at ~101 ms) fails once and is resent 150 ms later.
  assert.ok(pod.patches[0]!.at >= 450 + 150 && pod.patches[0]!.at < 1_000, `patched at ${pod.patches[0]!.at}`);
  assert.equal(pod.annotations[ANNOTATION_START], iso(0));
});

test('a definite refusal is not retried: API failure, exit code 4', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  pod.failures.push({ op: 'patch', code: 403 });
  const running = run(deps(clock, pod, pathWorksAt(clock, 100)));
  await clock.advance(2_000);
  const r = await running;
  assert.equal(r.outcome, 'api-failure');
  assert.equal(r.exitCode, 4);
  assert.match(r.error!, /DPR_API_FAILURE: patch ready: HTTP 403 \(not retried\)/);
});

test('an unreachable API server fails within the deadline plus the API grace', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  for (let i = 0; i < 1_000; i++) pod.failures.push({ op: 'get', code: 503 });
  const running = run(deps(clock, pod, pathWorksAt(clock, 100), { PROBE_TIMEOUT: '3' }));
  await clock.advance(20_000);
  const r = await running;
  assert.equal(r.outcome, 'api-failure');
  assert.match(r.error!, /get pod: HTTP 503 \(gave up after \d+ attempts at the deadline\)/);
  assert.equal(clock.pendingTimers(), 0);
});

test('SIGTERM while probing: stop, write nothing more', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  const term = new AbortController();
  const running = run({ ...deps(clock, pod, pathWorksAt(clock, Infinity)), signal: term.signal });
  await clock.advance(1_500);
  term.abort();
  await clock.advance(100);
  const r = await running;
  assert.equal(r.outcome, 'stopped');
  assert.equal(r.exitCode, 0);
  assert.equal(pod.patches.length, 1); // the start, at the end of the grace
});
