import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runProber, type ProberOptions } from '../../src/reporter/prober.ts';
import { NotAttempted, type ProbeFn } from '../../src/reporter/probes.ts';
import { DEFAULT_SCHEDULE } from '../../src/reporter/schedule.ts';
import { parseTarget, type Target } from '../../src/reporter/targets.ts';
import { FakeClock } from './fake-clock.ts';

/**
 * A simulated path: before `worksAt` an attempt either is refused at once or hangs (a
 * black hole); from `worksAt` on, an attempt succeeds after `rtt`.
 */
function simulated(clock: FakeClock, path: Record<string, { worksAt: number; rtt?: number; before: 'refuse' | 'hang' }>) {
  const log = { starts: [] as number[], inFlight: 0, maxInFlight: 0, abortedAt: [] as number[] };
  const probe: ProbeFn = (target: Target, opts) => {
    const p = path[target.raw]!;
    const start = clock.now();
    log.starts.push(start);
    log.inFlight++;
    log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
    // Counted out the moment it is aborted or settles, as a destroyed socket is.
    let counted = true;
    const out = () => { if (counted) { counted = false; log.inFlight--; } };
    return new Promise<{ doneAt: number; rttMs: number }>((resolve, reject) => {
      opts.signal.addEventListener('abort', () => {
        out();
        log.abortedAt.push(clock.now());
        reject(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      }, { once: true });
      if (start >= p.worksAt) {
        void clock.sleep(p.rtt ?? 1, opts.signal).then(() => {
          if (!opts.signal.aborted) resolve({ doneAt: clock.now(), rttMs: clock.now() - start });
        });
      } else if (p.before === 'refuse') {
        reject(new Error(`connect ECONNREFUSED ${target.raw}`));
      } // 'hang': only an abort ends it
    }).finally(out);
  };
  return { probe, log };
}

function options(clock: FakeClock, probe: ProbeFn, targets: string[], extra: Partial<ProberOptions> = {}): ProberOptions {
  return {
    targets: targets.map(parseTarget), schedule: DEFAULT_SCHEDULE, attemptTimeoutMs: 2_000, maxInFlight: 8,
    deadline: 60_000, clock, probe, ...extra,
  };
}

test('first success is detected within one interval of the path starting to work', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: 2_005, before: 'refuse' } });
  const running = runProber(options(clock, probe, ['a:1']));
  await clock.advance(3_000);
  const run = await running;
  assert.equal(run.outcome, 'ready');
  assert.ok(run.outcome === 'ready');
  // Attempt starts near 2 s are 30 ms apart; success = next start after 2005 + 1 ms rtt.
  assert.ok(run.readyAt >= 2_006 && run.readyAt <= 2_005 + 30 + 1, `readyAt ${run.readyAt}`);
  const r = run.results[0]!;
  assert.equal(r.attempts, log.starts.length);
  assert.match(r.lastError!, /ECONNREFUSED/);
  assert.equal(r.rttMs, 1);
  // No attempt starts after success.
  assert.ok(log.starts.every((s) => s <= run.readyAt));
});

test('hung attempts overlap: a black-holed path that recovers is seen at the next tick', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: 700, before: 'hang' } });
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 4 }));
  await clock.advance(2_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  assert.ok(run.readyAt <= 700 + 20 + 1, `readyAt ${run.readyAt}`);
  // Bounded: never more than 4 attempts waiting at once, the oldest made way.
  assert.equal(log.maxInFlight, 4);
  assert.match(run.results[0]!.lastError!, /replaced by a newer attempt/);
  // Everything still waiting was released.
  assert.equal(log.inFlight, 0);
});

test('each attempt is abandoned at its own timeout', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: Infinity, before: 'hang' } });
  const schedule = { initialMs: 1_000, growth: 0, capMs: 1_000 };
  const running = runProber(options(clock, probe, ['a:1'], { schedule, attemptTimeoutMs: 300, deadline: 2_500 }));
  await clock.advance(3_000);
  const run = await running;
  assert.equal(run.outcome, 'deadline');
  assert.deepEqual(log.starts, [0, 1_000, 2_000]);
  assert.deepEqual(log.abortedAt, [300, 1_300, 2_300]);
  assert.equal(run.results[0]!.lastError, 'no answer within 300 ms');
});

test('deadline: no attempt starts after it, and the run says so', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: Infinity, before: 'refuse' } });
  const running = runProber(options(clock, probe, ['a:1'], { deadline: 5_000 }));
  await clock.advance(6_000);
  const run = await running;
  assert.equal(run.outcome, 'deadline');
  assert.ok(Math.max(...log.starts) < 5_000);
  assert.equal(run.results[0]!.attempts, log.starts.length);
  assert.equal(clock.pendingTimers(), 0);
});

test('several targets: ready when the last one succeeds', async () => {
  const clock = new FakeClock();
  const { probe } = simulated(clock, {
    'a:1': { worksAt: 100, before: 'refuse' },
    'b:2': { worksAt: 1_500, before: 'hang', rtt: 5 },
  });
  const running = runProber(options(clock, probe, ['a:1', 'b:2']));
  await clock.advance(3_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  const [a, b] = run.results;
  assert.ok(a!.doneAt! >= 101 && a!.doneAt! <= 121);
  assert.ok(b!.doneAt! >= 1_505 && b!.doneAt! <= 1_500 + 25 + 5);
  assert.equal(run.readyAt, b!.doneAt);
  // The first target stopped probing once it succeeded.
  assert.ok(a!.attempts <= 7, `a attempts ${a!.attempts}`);
});

test('an external stop ends the run without a result', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: Infinity, before: 'hang' } });
  const stop = new AbortController();
  const running = runProber(options(clock, probe, ['a:1'], { signal: stop.signal }));
  await clock.advance(500);
  stop.abort();
  const run = await running;
  assert.equal(run.outcome, 'stopped');
  await clock.advance(10);
  assert.equal(log.inFlight, 0);
});

test('silence keeps the fast interval: a path black-holed for 10 s is seen within one floor interval, at <= 50 attempts/s', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: 10_007, before: 'hang' } });
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 100 }));
  await clock.advance(12_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  // The growing schedule would be at 150 ms by now; unanswered attempts cost the target nothing.
  assert.ok(run.readyAt - 10_007 <= 20 + 1, `ready ${run.readyAt - 10_007} ms after the path opened`);
  const perSecond = Math.max(...Array.from({ length: 10 }, (_, s) => log.starts.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length));
  assert.ok(perSecond <= 50, `${perSecond} attempts in one second`);
  assert.ok(log.maxInFlight <= 100);
});

test('answers slow it down: a target refusing for 10 s is probed on the growing schedule', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: Infinity, before: 'refuse' } });
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 100, deadline: 12_000 }));
  await clock.advance(13_000);
  await running;
  const inSecond10 = log.starts.filter((t) => t >= 10_000 && t < 11_000).length;
  // 1.5 % of ~10 s waited: ~150 ms apart, 6 or 7 attempts in that second, far below 50.
  assert.ok(inSecond10 >= 5 && inSecond10 <= 8, `${inSecond10} attempts in second 10`);
});

test('an attempt that asked nothing (the DNS lookup limit) is not an answer: the schedule stays fast', async () => {
  const clock = new FakeClock();
  const starts: number[] = [];
  // A name server that went silent: its first lookups hang, every later attempt finds the
  // lookup limit reached and sends nothing at all.
  const probe: ProbeFn = (_target, opts) => {
    starts.push(clock.now());
    if (starts.length > 3) return Promise.reject(new NotAttempted('DNS lookup of a not started: 3 earlier lookups still unanswered'));
    return new Promise((_resolve, reject) => opts.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  };
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 100, deadline: 12_000 }));
  await clock.advance(13_000);
  await running;
  const inSecond10 = starts.filter((t) => t >= 10_000 && t < 11_000).length;
  assert.ok(inSecond10 >= 45, `${inSecond10} attempts in second 10`);
});

test('a black-holed path costs one timer, not one per attempt: attempts expire on the tick that is awake anyway', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: Infinity, before: 'hang' } });
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 200, deadline: 5_000 }));
  await clock.advance(4_000);
  // The deadline's sleep and the schedule's: ~100 attempts are waiting, none with a timer.
  assert.equal(clock.pendingTimers(), 2);
  assert.ok(log.inFlight >= 95 && log.inFlight <= 101, `${log.inFlight} in flight`);
  // Each was abandoned exactly at its planned start + 2 s, the instant of a later tick.
  const starts = new Set(log.starts);
  assert.ok(log.abortedAt.length > 0 && log.abortedAt.every((t) => starts.has(t - 2_000)), 'an expiry off the schedule grid');
  // Expired before the next attempt starts: 2 s of attempts at 20 ms, and no replacement.
  assert.equal(log.maxInFlight, 100);
  await clock.advance(2_000);
  assert.equal((await running).outcome, 'deadline');
});
