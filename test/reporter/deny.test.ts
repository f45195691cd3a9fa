// The policy check in the reporter: the confirmation rule (pure), the deny prober on a fake
// clock with a fake probe, the configuration, and a whole run's writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, PolicyProbe, ReporterFailure,
} from '../../src/contract.ts';
import type { AnnotationPatch } from '../../src/reporter/annotations.ts';
import { decide } from '../../src/reporter/annotations.ts';
import { loadConfig } from '../../src/reporter/config.ts';
import { DenyConfirmer } from '../../src/reporter/deny-confirm.ts';
import { classify, startDenyProber } from '../../src/reporter/deny-prober.ts';
import { silentLogger } from '../../src/reporter/log.ts';
import type { PodApi } from '../../src/reporter/pod-writer.ts';
import type { ProbeFn } from '../../src/reporter/probes.ts';
import { NotAttempted } from '../../src/reporter/probes.ts';
import { run } from '../../src/reporter/run.ts';
import { parseDenyTargets } from '../../src/reporter/targets.ts';
import { isDpreadyError } from '../../src/errors.ts';
import { DEFAULT_SCHEDULE } from '../../src/reporter/schedule.ts';
import { FakeClock, WALL0 } from './fake-clock.ts';

const iso = (mono: number) => new Date(WALL0 + mono).toISOString();
const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

test('confirmer: the instant is the first round of the confirmed run, and an answer breaks a run', () => {
  const c = new DenyConfirmer(1, 3);
  c.datapathReady(0);
  const r = [0, 10, 20, 30, 40, 50].map((t) => c.open(t));
  c.settle(r[0]!, 'a', 'denied');
  c.settle(r[1]!, 'a', 'answered');
  assert.deepEqual(c.answering, { target: 'a', at: 10 });
  c.settle(r[2]!, 'a', 'denied');
  c.settle(r[3]!, 'a', 'denied');
  assert.equal(c.enforcedAt, undefined, 'two denied rounds are not three');
  c.settle(r[4]!, 'a', 'denied');
  assert.equal(c.enforcedAt, 20, 'the run started at 20, not at its end (40)');
  assert.equal(c.answering, undefined);
  assert.deepEqual(c.lastAnswer, { target: 'a', at: 10 }, 'the last answer is kept once enforced');
});

test('confirmer: rounds are judged in start order, whatever order they settle in', () => {
  const c = new DenyConfirmer(1, 2);
  c.datapathReady(0);
  const [a, b, d] = [0, 10, 20].map((t) => c.open(t));
  c.settle(b!, 'x', 'denied');
  c.settle(d!, 'x', 'denied');
  assert.equal(c.enforcedAt, undefined, 'round 0 (a silent drop, say) is still pending');
  c.settle(a!, 'x', 'answered');
  assert.equal(c.enforcedAt, 10);
});

test('confirmer: every target must be unanswered in a round; an inconclusive attempt breaks the run without naming anyone', () => {
  const c = new DenyConfirmer(2, 2);
  c.datapathReady(0);
  const rounds = [0, 10, 20, 30].map((t) => c.open(t));
  c.settle(rounds[0]!, 'a', 'denied');
  c.settle(rounds[0]!, 'b', 'answered');
  assert.deepEqual(c.answering, { target: 'b', at: 0 });
  c.settle(rounds[1]!, 'a', 'denied');
  c.settle(rounds[1]!, 'b', 'inconclusive');
  assert.equal(c.runLength, 0);
  for (const r of rounds.slice(2)) { c.settle(r, 'a', 'denied'); c.settle(r, 'b', 'denied'); }
  assert.equal(c.enforcedAt, 20);
});

test('confirmer: silence before the first datapath success proves nothing', () => {
  const c = new DenyConfirmer(1, 2);
  const rounds = [0, 10, 20, 30].map((t) => c.open(t));
  for (const r of rounds) c.settle(r, 'a', 'denied');
  assert.equal(c.enforcedAt, undefined, 'the datapath instant is not known yet');
  c.datapathReady(15);
  assert.equal(c.enforcedAt, 20, 'rounds at 0 and 10 started before the datapath worked');
});

test('confirmer: a denied round is dated when its SYNs had all been sent; an answered one by its start', () => {
  const c = new DenyConfirmer(2, 2);
  c.datapathReady(0);
  const [a, b, d] = [0, 20, 40].map((t) => c.open(t));
  c.settle(a!, 'x', 'answered');
  c.settle(a!, 'y', 'answered');
  c.sent(b!, 95); // waited for a core before its first connect()
  c.sent(b!, 90);
  for (const r of [b!, d!]) { c.settle(r, 'x', 'denied'); c.settle(r, 'y', 'denied'); }
  assert.equal(c.enforcedAt, 95, 'the later of the round\'s two SYNs, not its start (20)');
  assert.deepEqual(c.lastAnswer, { target: 'x', at: 0 });
});

test('classify: refused, unreachable and silence deny; a name that does not resolve is inconclusive; an HTTP error status answered', () => {
  assert.equal(classify(refused()), 'denied');
  assert.equal(classify(Object.assign(new Error('x'), { code: 'EHOSTUNREACH' })), 'denied');
  assert.equal(classify(Object.assign(new Error('x'), { code: 'ENOTFOUND' })), 'inconclusive');
  assert.equal(classify(new NotAttempted('lookup limit')), 'inconclusive');
  assert.equal(classify(new Error('HTTP 403 from http://x')), 'answered');
  assert.equal(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'answered');
});

/** A deny target that answers until `deniedAt`, then is refused (or dropped: never settles). */
function denyTarget(clock: FakeClock, deniedAt: number, how: 'refuse' | 'drop' = 'refuse') {
  const fn = (async (_t, opts) => {
    fn.calls++;
    const start = clock.now();
    if (start < deniedAt) { await clock.sleep(1); return { sentAt: start, doneAt: clock.now(), rttMs: 1 }; }
    if (how === 'refuse') throw refused();
    return new Promise((_resolve, reject) => opts.signal.addEventListener('abort', () => reject(opts.signal.reason as Error), { once: true }));
  }) as ProbeFn & { calls: number };
  fn.calls = 0;
  return fn;
}

const targets = parseDenyTargets('tcp://10.0.0.9:8080');
const proberOpts = { targets, window: 3, schedule: DEFAULT_SCHEDULE, attemptTimeoutMs: 2_000, maxInFlight: 100 };

test('deny prober: a refusing policy from 500 ms is confirmed at the first refused round, within one 20 ms interval', async () => {
  const clock = new FakeClock();
  const probe = denyTarget(clock, 500);
  const d = startDenyProber({ ...proberOpts, deadline: 60_000, clock, probe });
  d.datapathReady(100);
  await clock.advance(1_000);
  const out = await d.done;
  assert.equal(out.outcome, 'enforced');
  const at = (out as { enforcedAt: number }).enforcedAt;
  assert.ok(at >= 500 && at < 520, `enforced at ${at}`);
  assert.ok(d.attempts() <= 30, `${d.attempts()} attempts, then probing stops`);
});

test('deny prober: a silent drop is confirmed once the attempts time out, and the instant is still the first dropped round', async () => {
  const clock = new FakeClock();
  const probe = denyTarget(clock, 300, 'drop');
  const d = startDenyProber({ ...proberOpts, deadline: 60_000, clock, probe });
  d.datapathReady(0);
  await clock.advance(2_000);
  await clock.advance(500);
  const out = await d.done;
  assert.equal(out.outcome, 'enforced');
  const at = (out as { enforcedAt: number }).enforcedAt;
  assert.ok(at >= 300 && at < 320, `enforced at ${at}`);
  assert.ok(d.attempts() <= 100 + 30, `in flight bounded: ${d.attempts()} attempts`);
});

test('deny prober: a round that waited 90 ms for a core before its SYN is dated when the SYN went, not before the rule', async () => {
  const clock = new FakeClock();
  const RULE = 500;
  const probe = (async (_t, opts) => {
    // The round that starts just before the rule gets its connect() in only after it.
    if (clock.now() >= RULE - 20 && clock.now() < RULE) await clock.sleep(90);
    const sent = clock.now();
    opts.onSent?.(sent);
    if (sent < RULE) { await clock.sleep(1); return { sentAt: sent, doneAt: clock.now(), rttMs: 1 }; }
    throw refused();
  }) as ProbeFn;
  const d = startDenyProber({ ...proberOpts, deadline: 60_000, clock, probe });
  d.datapathReady(100);
  await clock.advance(1_000);
  const out = await d.done;
  assert.equal(out.outcome, 'enforced');
  const at = (out as { enforcedAt: number }).enforcedAt;
  assert.ok(at >= RULE && at <= RULE + 90, `enforced at ${at}, the late round's SYN (its start was before the rule at ${RULE})`);
});

test('deny prober: never denied, the deadline names the target still answering; the interval grows while it answers', async () => {
  const clock = new FakeClock();
  const probe = denyTarget(clock, Infinity);
  const seen: string[] = [];
  const d = startDenyProber({ ...proberOpts, deadline: 10_000, clock, probe, onAnswering: (a) => seen.push(a.target) });
  d.datapathReady(0);
  await clock.advance(10_100);
  const out = await d.done;
  assert.equal(out.outcome, 'deadline');
  assert.equal((out as { answering?: { target: string } }).answering?.target, 'tcp://10.0.0.9:8080');
  assert.deepEqual(seen, ['tcp://10.0.0.9:8080'], 'told once per target, not once per round');
  // Fixed 20 ms would be 500 attempts in 10 s; the growing interval (1.5 % of the time answered) makes it far fewer.
  assert.ok(d.attempts() < 250, `${d.attempts()} attempts in 10 s`);
});

test('config: PROBE_DENY_TARGET and PROBE_DENY_CONFIRM, with errors naming the variable', () => {
  const base = { MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'n', PROBE_TARGET: '10.0.0.1:80' };
  const c = loadConfig({ ...base, PROBE_DENY_TARGET: 'tcp://forbidden.ns.svc:8080,http://10.0.0.2/x' });
  assert.deepEqual(c.denyTargets?.map((t) => t.raw), ['tcp://forbidden.ns.svc:8080', 'http://10.0.0.2/x']);
  assert.equal(c.denyConfirm, 3);
  assert.equal(loadConfig(base).denyTargets, undefined);
  const bad = (env: Record<string, string>, code: string, re: RegExp) => assert.throws(() => loadConfig({ ...base, ...env }),
    (err: unknown) => isDpreadyError(err) && err.code === code && re.test(err.message));
  bad({ PROBE_DENY_TARGET: '10.0.0.1' }, 'DPR_BAD_TARGET', /^PROBE_DENY_TARGET entry "10.0.0.1": no port/);
  bad({ PROBE_DENY_TARGET: 'dns://x.example' }, 'DPR_BAD_TARGET', /PROBE_DENY_TARGET entry "dns:\/\/x.example": a dns:\/\/ entry cannot be denied/);
  bad({ PROBE_DENY_TARGET: '' }, 'DPR_BAD_TARGET', /PROBE_DENY_TARGET="": empty/);
  bad({ PROBE_DENY_CONFIRM: '0' }, 'DPR_BAD_CONFIG', /PROBE_DENY_CONFIRM="0": expected a whole number of attempts from 1 to 100/);
  bad({ PROBE_DENY_CONFIRM: 'three' }, 'DPR_BAD_CONFIG', /PROBE_DENY_CONFIRM="three"/);
});

test('restart: ready recorded but the policy not yet: probe for the policy only; both recorded: done', () => {
  const ready = { [ANNOTATION_DP_READY]: iso(10) };
  assert.deepEqual(decide(ready, false, true), { action: 'probe', keepReady: iso(10), invalid: [] });
  assert.deepEqual(decide({ ...ready, [ANNOTATION_POLICY_ENFORCED]: iso(20) }, false, true), { action: 'done', ready: iso(10) });
  assert.deepEqual(decide(ready, false, false), { action: 'done', ready: iso(10) });
});

function fakePod(clock: FakeClock) {
  const annotations: Record<string, string> = {};
  const patches: { at: number; body: AnnotationPatch }[] = [];
  const api: PodApi = {
    async getAnnotations() { return { ...annotations }; },
    async patch(body) {
      for (const [k, v] of Object.entries(body.metadata.annotations)) {
        if (v === null) delete annotations[k];
        else annotations[k] = v;
      }
      patches.push({ at: clock.now(), body });
    },
  };
  return { api, annotations, patches };
}

/** Datapath target 10.0.0.1 works from `worksAt`; deny target 10.0.0.9 answers until `deniedAt`, each answer `denyRttMs` after its attempt. */
function network(clock: FakeClock, worksAt: number, deniedAt: number, denyRttMs = 1): ProbeFn {
  return async (t) => {
    const start = clock.now();
    if (start < worksAt) throw refused();
    const isDeny = t.raw.includes('10.0.0.9');
    if (isDeny && start >= deniedAt) throw refused();
    await clock.sleep(isDeny ? denyRttMs : 1);
    return { sentAt: start, doneAt: clock.now(), rttMs: clock.now() - start };
  };
}

function runWith(clock: FakeClock, pod: ReturnType<typeof fakePod>, probe: ProbeFn, env: Record<string, string> = {}) {
  const config = loadConfig({ MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'n', PROBE_TARGET: '10.0.0.1:80', PROBE_DENY_TARGET: 'tcp://10.0.0.9:8080', ...env });
  return run({ config, clock, probe, podApi: async () => pod.api, log: silentLogger, random: () => 0.5 });
}

test('run: the ready patch says the gate waits for the policy, one progress write names the target answering, then the enforced instant', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  // The deny target's answers take 60 ms: the first comes after the ready patch (which waits
  // QUIET_AFTER_SUCCESS_MS after the success), so a progress write names it.
  const result = runWith(clock, pod, network(clock, 100, 3_000, 60));
  await clock.advance(5_000);
  const r = await result;
  assert.equal(r.outcome, 'ready');
  assert.equal(pod.patches.length, 3, 'ready (with the policy probe), progress, enforced');
  const readyBody = pod.patches[0]!.body.metadata.annotations;
  assert.ok(ANNOTATION_DP_READY in readyBody && ANNOTATION_POLICY_PROBE in readyBody, 'one patch: the controller never sees ready without the policy check');
  const progress = PolicyProbe.parse(JSON.parse(pod.patches[1]!.body.metadata.annotations[ANNOTATION_POLICY_PROBE]!));
  assert.equal(progress.answering, 'tcp://10.0.0.9:8080');
  const enforced = Date.parse(pod.annotations[ANNOTATION_POLICY_ENFORCED]!) - WALL0;
  // Answering rounds grow the interval (1.5 % of 2.9 s ≈ 44 ms): the first refused round is at most one interval late.
  assert.ok(enforced >= 3_000 && enforced < 3_050, `enforced at ${enforced}`);
  const final = PolicyProbe.parse(JSON.parse(pod.annotations[ANNOTATION_POLICY_PROBE]!));
  assert.equal(final.answering, undefined);
  const lastAnswer = Date.parse(final.lastAnswerTs!) - WALL0;
  assert.ok(lastAnswer < 3_000 && enforced - lastAnswer <= 50, `the last answer (${lastAnswer}) is the round before the policy, within one interval of the instant (${enforced})`);
  assert.ok(Math.abs(final.startToEnforcedMs! - enforced) < 1, `monotonic ${final.startToEnforcedMs} vs annotation ${enforced}`);
});

test('run: a policy never enforced ends in a PolicyDeadline failure naming the target, exit code 3', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  const result = runWith(clock, pod, network(clock, 0, Infinity), { PROBE_TIMEOUT: '5s' });
  await clock.advance(6_000);
  const r = await result;
  assert.equal(r.outcome, 'deadline');
  assert.equal(r.exitCode, 3);
  const failure = ReporterFailure.parse(JSON.parse(pod.annotations[ANNOTATION_FAILURE]!));
  assert.equal(failure.reason, 'PolicyDeadline');
  assert.match(failure.message, /^policy not in force within 5s: tcp:\/\/10\.0\.0\.9:8080 still answered at /);
  assert.equal(failure.policy?.answering, 'tcp://10.0.0.9:8080');
  assert.ok(ANNOTATION_DP_READY in pod.annotations, 'the datapath side stays recorded');
  assert.equal(ANNOTATION_POLICY_ENFORCED in pod.annotations, false);
});

test('run: a policy in force from the start costs no progress write: ready, then enforced', async () => {
  const clock = new FakeClock();
  const pod = fakePod(clock);
  const result = runWith(clock, pod, network(clock, 200, 0));
  await clock.advance(2_000);
  await result;
  assert.equal(pod.patches.length, 2);
  const ready = Date.parse(pod.annotations[ANNOTATION_DP_READY]!) - WALL0;
  const enforced = Date.parse(pod.annotations[ANNOTATION_POLICY_ENFORCED]!) - WALL0;
  assert.ok(enforced >= ready - 1 && enforced < ready + 25, `ready ${ready}, enforced ${enforced}: not before the datapath worked`);
});
