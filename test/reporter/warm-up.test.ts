// The warm-up against real sockets on loopback: it runs the success path of each kind once, and
// leaves nothing open behind it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';

import { systemClock } from '../../src/reporter/clock.ts';
import { probeOnce, type ProbeFn } from '../../src/reporter/probes.ts';
import { parseTarget } from '../../src/reporter/targets.ts';
import { warmUp, warmUpKinds } from '../../src/reporter/warm-up.ts';

test('warmUpKinds: tcp as tcp, http and https as http (no certificate on loopback), dns not at all', () => {
  assert.deepEqual(warmUpKinds(['10.0.0.1:80', 'https://a.example/', 'dns://kubernetes.default'].map(parseTarget)), ['tcp', 'http']);
  assert.deepEqual(warmUpKinds(['dns://kubernetes.default'].map(parseTarget)), []);
});

test('warmUp: one successful attempt of each kind against its own listener, with a hold', async () => {
  const seen: Array<{ raw: string; hold?: number; ok: boolean }> = [];
  const recording: ProbeFn = (target, opts) => probeOnce(target, opts).then(
    (ok) => { seen.push({ raw: target.raw, hold: opts.holdRequestMs, ok: true }); return ok; },
    (err: unknown) => { seen.push({ raw: target.raw, hold: opts.holdRequestMs, ok: false }); throw err; });
  await warmUp(['tcp', 'http'], recording, systemClock.now);
  assert.deepEqual(seen.map((s) => [s.raw.split(':')[0], s.hold, s.ok]), [['tcp', 1, true], ['http', 1, true]]);
});

test('warmUp: an attempt that fails is an error', async () => {
  const refusing: ProbeFn = () => Promise.reject(new Error('connect ECONNREFUSED'));
  await assert.rejects(warmUp(['http'], refusing, systemClock.now), /ECONNREFUSED/);
});

test('warmUp leaves nothing open: a process that ran it (an init container) exits on its own, after a success and after a failure', async () => {
  const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  for (const probe of ['p.probeOnce', '() => Promise.reject(new Error("refused"))']) {
    const script = `Promise.all([import(${url('../../src/reporter/warm-up.ts')}), import(${url('../../src/reporter/probes.ts')})])
      .then(([w, p]) => w.warmUp(['tcp', 'http'], ${probe}, () => performance.now()))
      .then(() => console.log('warmed'), (e) => console.log('failed: ' + e.message));`;
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', '-e', script], { timeout: 10_000 }, (err, stdout) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout }));
      child.stdin?.end();
    });
    assert.equal(out.code, 0, `${probe}: exited on its own (${out.stdout})`);
    assert.match(out.stdout, probe === 'p.probeOnce' ? /^warmed$/m : /^failed: refused$/m);
  }
});
