// The success path run once ahead (src/reporter/warm-up.ts), with the real probes against a real
// loopback listener: it must succeed through the same code a real success takes, for each tcp
// and http kind, leave no listener behind, and say why when it cannot.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { systemClock } from '../../src/reporter/clock.ts';
import { probeOnce, type ProbeFn } from '../../src/reporter/probes.ts';
import { parseTarget } from '../../src/reporter/targets.ts';
import { warmUpSuccessPath } from '../../src/reporter/warm-up.ts';

// A closed handle leaves the list once its close callback has run, in a later turn of the loop.
const listeners = async () => {
  await new Promise((r) => setTimeout(r, 20));
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
};

test('warm-up: one real success per tcp and http kind, through probeOnce, and no listener left', async () => {
  const successes: string[] = [];
  const probe: ProbeFn = async (target, opts) => {
    const ok = await probeOnce(target, opts);
    successes.push(target.kind);
    return ok;
  };
  const before = await listeners();
  const targets = ['http://10.0.0.1/healthz', 'tcp://10.0.0.2:5432', 'http://10.0.0.3:8080/', 'https://10.0.0.4/', 'dns://db.example'].map(parseTarget);
  const w = await warmUpSuccessPath(targets, probe, systemClock);
  assert.deepEqual(w.kinds, ['http', 'tcp']);
  assert.deepEqual(successes.sort(), ['http', 'tcp'], 'each kind succeeded once, with the real probe');
  assert.ok(w.ms > 0 && w.ms < 2_000, `took ${w.ms} ms`);
  assert.equal(await listeners(), before, 'the loopback listener is closed');
});

test('warm-up: https and dns targets have nothing to warm up, and no listener is opened', async () => {
  let calls = 0;
  const probe: ProbeFn = (target, opts) => { calls++; return probeOnce(target, opts); };
  const w = await warmUpSuccessPath(['https://10.0.0.4/', 'dns://db.example'].map(parseTarget), probe, systemClock);
  assert.deepEqual(w, { kinds: [], ms: 0 });
  assert.equal(calls, 0);
});

test('warm-up: a probe that never succeeds rejects with the reason, and the listener is closed', async () => {
  const before = await listeners();
  const probe: ProbeFn = () => Promise.reject(new Error('connect EPERM (a seccomp profile, say)'));
  await assert.rejects(warmUpSuccessPath([parseTarget('tcp://10.0.0.2:80')], probe, systemClock),
    /the loopback listener did not answer \(connect EPERM \(a seccomp profile, say\)\)/);
  assert.equal(await listeners(), before);
});
