import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HOLD_REQUEST_MS, QUIET_AFTER_SUCCESS_MS, runProber, type ProberOptions } from '../../src/reporter/prober.ts';
import { NotAttempted, type ProbeFn } from '../../src/reporter/probes.ts';
import { DEFAULT_SCHEDULE } from '../../src/reporter/schedule.ts';
import { parseTarget, type Target } from '../../src/reporter/targets.ts';
import { FakeClock } from './fake-clock.ts';

/**
 * A simulated path: before `worksAt` an attempt either is refused at once or hangs (a
 * black hole); from `worksAt` on, an attempt succeeds after `rtt`. With `lookupMs`, an
 * attempt first spends that long resolving a name, and the path is judged when its
 * connection is asked for, as a SYN is.
 */
function simulated(clock: FakeClock, path: Record<string, { worksAt: number; rtt?: number | ((start: number) => number); before: 'refuse' | 'hang'; resetAfterConnect?: (start: number) => boolean; lookupMs?: number; holds?: boolean; upAfterMs?: number }>) {
  const log = { starts: [] as number[], inFlight: 0, maxInFlight: 0, abortedAt: [] as number[], holds: [] as Array<number | undefined> };
  const probe: ProbeFn = (target: Target, opts) => {
    const p = path[target.raw]!;
    const start = clock.now();
    log.starts.push(start);
    log.holds.push(opts.holdRequestMs);
    log.inFlight++;
    log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
    // Counted out the moment it is aborted or settles, as a destroyed socket is.
    let counted = true;
    const out = () => { if (counted) { counted = false; log.inFlight--; } };
    return new Promise<{ sentAt: number; doneAt: number; rttMs: number }>((resolve, reject) => {
      opts.signal.addEventListener('abort', () => {
        out();
        log.abortedAt.push(clock.now());
        reject(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      }, { once: true });
      const send = () => {
        opts.onSending?.(clock.now());
        const sentAt = clock.now();
        if (sentAt >= p.worksAt) {
          // The connection is up at once (or `upAfterMs` after the SYN, a timer of its own); the answer takes the rtt.
          const up = () => {
            opts.onConnected?.();
            // With `holds`, as an http(s) attempt: the request waits out the hold it was asked for, from the SYN.
            const rtt = (typeof p.rtt === 'function' ? p.rtt(start) : p.rtt ?? 1) + (p.holds ? Math.max(0, sentAt + (opts.holdRequestMs ?? 0) - clock.now()) : 0);
            void clock.sleep(rtt, opts.signal).then(() => {
              if (opts.signal.aborted) return;
              if (p.resetAfterConnect?.(start)) reject(new Error(`read ECONNRESET ${target.raw}`));
              else resolve({ sentAt, doneAt: clock.now(), rttMs: clock.now() - start });
            });
          };
          if (p.upAfterMs === undefined) up();
          else void clock.sleep(p.upAfterMs, opts.signal).then(() => { if (!opts.signal.aborted) up(); });
        } else if (p.before === 'refuse') {
          reject(new Error(`connect ECONNREFUSED ${target.raw}`));
        } // 'hang': only an abort ends it
      };
      if (p.lookupMs === undefined) send();
      else void clock.sleep(p.lookupMs, opts.signal).then(() => { if (!opts.signal.aborted) send(); });
    }).finally(out);
  };
  return { probe, log };
}

type PathSpec = Parameters<typeof simulated>[1][string];

/** Runs the prober on one simulated path that works from 100 (1 ms answers unless `path` says otherwise): the run, and when it handed its result on. */
async function healedAt100(target: string, advanceMs: number, path: Partial<PathSpec> = {}) {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { [target]: { worksAt: 100, before: 'hang', rtt: 1, ...path } });
  let resolvedAt: number | undefined;
  const running = runProber(options(clock, probe, [target], { maxInFlight: 100 })).then((r) => { resolvedAt = clock.now(); return r; });
  await clock.advance(advanceMs);
  return { run: await running, resolvedAt, log };
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
  // Attempt starts near 2 s are 30 ms apart; success = the next start after 2005.
  assert.ok(run.readyAt >= 2_005 && run.readyAt <= 2_005 + 30, `readyAt ${run.readyAt}`);
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
  assert.ok(run.readyAt <= 700 + 20, `readyAt ${run.readyAt}`);
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
  assert.ok(a!.doneAt! >= 100 && a!.doneAt! <= 120);
  assert.ok(b!.doneAt! >= 1_500 && b!.doneAt! <= 1_500 + 25);
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
  assert.ok(run.readyAt - 10_007 <= 20, `ready ${run.readyAt - 10_007} ms after the path opened`);
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
  // The deadline's sleep and the schedule's: ~45 attempts are waiting, none with a timer.
  assert.equal(clock.pendingTimers(), 2);
  assert.ok(log.inFlight >= 44 && log.inFlight <= 46, `${log.inFlight} in flight`);
  // Each was abandoned exactly at its planned start + 900 ms (no connection), the instant of a later tick.
  const starts = new Set(log.starts);
  assert.ok(log.abortedAt.length > 0 && log.abortedAt.every((t) => starts.has(t - 900)), 'an expiry off the schedule grid');
  // Expired before the next attempt starts: 900 ms of attempts at 20 ms, and no replacement.
  assert.equal(log.maxInFlight, 45);
  await clock.advance(2_000);
  assert.equal((await running).outcome, 'deadline');
});

test('a success is recorded at the start of its attempt when it completed within 1 s: the answer\'s round trip is not the path\'s', async () => {
  const clock = new FakeClock();
  // The path opens at 700 ms; the answer then takes 40 ms (a slow server, or a busy node).
  const { probe } = simulated(clock, { 'a:1': { worksAt: 700, before: 'hang', rtt: 40 } });
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 100 }));
  await clock.advance(2_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  // The attempt that went out at 700 (on the 20 ms grid) got through: 700, not 740.
  assert.equal(run.readyAt, 700);
  assert.equal(run.results[0]!.readyFrom, 'sent');
  assert.equal(run.results[0]!.rttMs, 40);
});

test('a success that took 1 s or more is recorded when it completed: a packet of it may have been resent', async () => {
  const clock = new FakeClock();
  const { probe } = simulated(clock, { 'a:1': { worksAt: 500, before: 'refuse', rtt: 1_200 } });
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 100 }));
  await clock.advance(3_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  const r = run.results[0]!;
  assert.equal(r.readyFrom, 'done');
  assert.equal(r.rttMs, 1_200);
  // The attempt that went out at 500 answered at 1,700: that is the instant, not 500.
  assert.equal(run.readyAt, 1_700);
});

test('a name is looked up before its connection: the instant is when the connection was asked for, not the attempt\'s start', async () => {
  // The path opens at 100. The attempt of the tick at 80 spends 25 ms on its lookup and sends its
  // SYN at 105, which gets through. Its start (80) is a time the path did not work yet.
  const { run } = await healedAt100('a:1', 1_000, { lookupMs: 25 });
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 105);
  assert.equal(run.results[0]!.readyFrom, 'sent');
  // The round trip is still the whole attempt's, lookup included.
  assert.equal(run.results[0]!.rttMs, 26);
});

test('a connection not up by 900 ms is abandoned before the kernel resends its SYN; a connected attempt, and a lookup, run to the attempt timeout', async () => {
  const clock = new FakeClock();
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: Infinity, before: 'hang' } });
  const schedule = { initialMs: 1_000, growth: 0, capMs: 1_000 };
  const running = runProber(options(clock, probe, ['a:1'], { schedule, deadline: 1_500 }));
  await clock.advance(3_000);
  const run = await running;
  assert.deepEqual(log.abortedAt, [900, 1_500]);
  assert.match(run.results[0]!.lastError!, /no connection within 900 ms/);

  // Connected at once, answered after 1.5 s: not cut at 900 ms.
  const clock2 = new FakeClock();
  const slow = simulated(clock2, { 'a:1': { worksAt: 0, before: 'hang', rtt: 1_500 } });
  const answered = runProber(options(clock2, slow.probe, ['a:1'], { schedule }));
  await clock2.advance(2_000);
  const r = await answered;
  assert.ok(r.outcome === 'ready');
  assert.equal(r.results[0]!.rttMs, 1_500);

  // A DNS target has no SYN: its lookup runs to the attempt timeout (2 s).
  const clock3 = new FakeClock();
  const dns = simulated(clock3, { 'dns://svc.example': { worksAt: Infinity, before: 'hang' } });
  const looking = runProber(options(clock3, dns.probe, ['dns://svc.example'], { schedule, deadline: 2_500 }));
  await clock3.advance(3_000);
  await looking;
  // Started at 0, 1,000 and 2,000: the first expires at 2,000, the others end with the deadline.
  assert.deepEqual(dns.log.abortedAt, [2_000, 2_500, 2_500]);
});

test('the successful attempt says how late its tick fired against the schedule: the busy node\'s share of the error', async () => {
  const clock = new FakeClock();
  // Every tick fires 7 ms late, as on a node whose cores are busy.
  const late: FakeClock = Object.assign(Object.create(clock) as FakeClock, { sleep: (ms: number, signal?: AbortSignal) => clock.sleep(ms + 7, signal) });
  const { probe } = simulated(clock, { 'a:1': { worksAt: 100, before: 'hang' } });
  const running = runProber(options(late, probe, ['a:1'], { maxInFlight: 100 }));
  await clock.advance(1_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  // The attempt planned for 100 went out at 107: recorded then, 7 ms of it lateness.
  assert.equal(run.readyAt, 107);
  assert.equal(run.results[0]!.lateMs, 7);
});

test('the successful attempt says how long after its start its packet went (a lookup, a wait for a core before connect(2)): part of the error', async () => {
  const clock = new FakeClock();
  // A 5 ms lookup before every attempt's SYN.
  const { probe } = simulated(clock, { 'a:1': { worksAt: 100, before: 'hang', lookupMs: 5 } });
  const running = runProber(options(clock, probe, ['a:1'], { maxInFlight: 100 }));
  await clock.advance(1_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  // The attempt started at 100 sent its SYN at 105: recorded then, 5 ms of it the delay, none lateness.
  assert.equal(run.readyAt, 105);
  assert.equal(run.results[0]!.sendDelayMs, 5);
  assert.equal(run.results[0]!.lateMs, 0);
});

test('each success carries its own error bar: the latest attempt sent before it that failed, so the path\'s true instant lies between the two', async () => {
  // Dropped until 107: the attempt at 100 is still waiting for its SYN's answer when the one at
  // 120 succeeds, so the path did not work at 100.
  const dropped = await healedAt100('a:1', 1_000, { worksAt: 107 });
  assert.ok(dropped.run.outcome === 'ready');
  assert.equal(dropped.run.readyAt, 120);
  assert.equal(dropped.run.results[0]!.failedAt, 100);

  // Refused until 107: the refusal at 100 is the lower end.
  const refused = await healedAt100('a:1', 1_000, { worksAt: 107, before: 'refuse' });
  assert.ok(refused.run.outcome === 'ready');
  assert.equal(refused.run.readyAt, 120);
  assert.equal(refused.run.results[0]!.failedAt, 100);

  // A 5 ms lookup before each SYN, path working from 103: the attempt started at 80 sent at 85
  // and was dropped, the one started at 100 sent at 105 and got through. The bracket is the two
  // packets' instants, not the attempts' starts: (85, 105] holds 103.
  const lookedUp = await healedAt100('a:1', 1_000, { worksAt: 103, lookupMs: 5 });
  assert.ok(lookedUp.run.outcome === 'ready');
  assert.equal(lookedUp.run.readyAt, 105);
  assert.equal(lookedUp.run.results[0]!.failedAt, 85);

  // Working from the first attempt: nothing failed, no lower end.
  const atOnce = await healedAt100('a:1', 1_000, { worksAt: 0 });
  assert.ok(atOnce.run.outcome === 'ready');
  assert.equal(atOnce.run.results[0]!.failedAt, undefined);
});

test('a DNS lookup still in flight when a later one succeeds is no proof the path failed: only ended failures bound a dns target', async () => {
  const clock = new FakeClock();
  // Lookups hang until 100 (up to the 2 s attempt timeout), then answer.
  const { probe } = simulated(clock, { 'dns://svc.example': { worksAt: 100, before: 'hang' } });
  const running = runProber(options(clock, probe, ['dns://svc.example'], { maxInFlight: 100 }));
  await clock.advance(3_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 100);
  // A tcp target in the same place would say 80 (see above); a slow lookup is not a dropped one.
  assert.equal(run.results[0]!.failedAt, undefined);
});

test('a timer that fires a little early, as Node\'s do, costs no second wake-up, and the attempt still starts on its tick', async () => {
  const clock = new FakeClock();
  // Node's timers count whole ms from the loop's cached clock: a 20 ms timer can fire 1.5 ms
  // before the instant asked for. A short sleep is on time here, so a prober that slept again
  // for the remainder would show a second wake-up per attempt; one that started at the wake
  // would send each SYN 1.5 ms off the grid (the blocking wait moves this clock on instead).
  let sleeps = 0;
  const early: FakeClock = Object.assign(Object.create(clock) as FakeClock, {
    sleep: (ms: number, signal?: AbortSignal) => { sleeps++; return clock.sleep(ms >= 10 ? ms - 1.5 : ms, signal); },
  });
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: Infinity, before: 'hang' } });
  const running = runProber(options(early, probe, ['a:1'], { maxInFlight: 200, deadline: 990 }));
  await clock.advance(1_100);
  assert.equal((await running).outcome, 'deadline');
  // 50 a second, each on its tick of the 20 ms grid.
  assert.equal(log.starts.length, 50);
  assert.deepEqual(log.starts, log.starts.map((_, i) => i * 20));
  // The deadline's sleep, one for each attempt after the first (which starts at once), and the
  // one the deadline cut short.
  assert.equal(sleeps, 1 + 49 + 1);
  // Expiries are done on those same wake-ups, within the slack of their time (the rest are
  // released when the deadline ends the run).
  const expired = log.abortedAt.filter((t) => t < 988);
  assert.ok(expired.length > 0 && expired.every((t) => log.starts.some((s) => t - s >= 898 && t - s <= 900)), expired.join(' '));
});

test('answers out of order: the earliest attempt that succeeds is the instant, not the first answer to come back', async () => {
  // The path opens at 100. The attempt sent at 100 connects but its answer takes 40 ms (a busy
  // target, or a busy event loop); the one sent at 120 answers in 1 ms, before it. Taking the
  // first answer would put the path's start 20 ms late.
  const rtt = (start: number) => (start === 100 ? 40 : 1);
  const { run, log } = await healedAt100('a:1', 1_000, { rtt });
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 100);
  assert.equal(run.results[0]!.rttMs, 40);
  // Nothing is sent while the older attempt's answer is awaited (starts 100, 120 and no more).
  assert.deepEqual(log.starts.filter((t) => t >= 100), [100, 120]);

  // The older connected attempt fails after all (reset): the newer success stands.
  const { run: run2 } = await healedAt100('a:1', 1_000, { rtt, resetAfterConnect: (start) => start === 100 });
  assert.ok(run2.outcome === 'ready');
  assert.equal(run2.readyAt, 120);
  assert.match(run2.results[0]!.lastError!, /ECONNRESET/);
});

test('after a success the run stays quiet for QUIET_AFTER_SUCCESS_MS: no new attempt, the others closed and the result handed on only then', async () => {
  // Pods on one node see the same heal; each one's work after its success (closing its
  // attempts, the patch, the handover) must not land on its neighbours' next ticks.
  const { run, resolvedAt, log } = await healedAt100('a:1', 1_000);
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 100);
  assert.equal(resolvedAt, 100 + QUIET_AFTER_SUCCESS_MS);
  assert.ok(log.starts.every((t) => t <= 100), `no attempt after the success: ${log.starts.join(' ')}`);
  // The successful attempt's own socket goes when it settles (101); the five still hanging from
  // before the heal (0-80) are closed at the end of the quiet, not then.
  assert.deepEqual(log.abortedAt, [101, 140, 140, 140, 140, 140]);
});

test('attempts hold their request HOLD_REQUEST_MS after the SYN (a quarter of a short attempt timeout at most); the result is handed on no later for it', async () => {
  // The success's own exchange must not land on its neighbours' next ticks either (prober.ts).
  const { run, resolvedAt, log } = await healedAt100('http://a/', 1_000, { holds: true });
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 100);
  assert.ok(log.holds.every((h) => h === HOLD_REQUEST_MS), `holds asked: ${[...new Set(log.holds)].join(' ')}`);
  assert.ok(HOLD_REQUEST_MS < QUIET_AFTER_SUCCESS_MS);
  assert.equal(resolvedAt, 100 + QUIET_AFTER_SUCCESS_MS);
  // The tick at 120 fell within the hold of the connection that came up at 100: skipped.
  assert.ok(log.starts.every((t) => t <= 100), `attempts at ${log.starts.join(' ')}`);

  const clock = new FakeClock();
  const { probe, log: short } = simulated(clock, { 'http://b/': { worksAt: 0, before: 'hang', holds: true } });
  const running = runProber(options(clock, probe, ['http://b/'], { attemptTimeoutMs: 40 }));
  await clock.advance(1_000);
  const r = await running;
  assert.ok(r.outcome === 'ready');
  assert.deepEqual(short.holds, [10]);
});

test('a held attempt that fails after all: the ticks its hold skipped resume on the grid', async () => {
  // The first connection (the attempt of 100) is reset after its hold; the next tick after the hold is 140.
  const { run, log } = await healedAt100('http://a/', 1_000, { holds: true, resetAfterConnect: (start) => start === 100 });
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 140);
  assert.deepEqual(log.starts.filter((t) => t >= 100), [100, 140]);
});

test('a lookup that succeeds does not wait for older lookups still pending: a dropped query cannot be told from a slow one', async () => {
  // The resolver drops queries until 100; the one sent at 100 answers in 1 ms. The lookups
  // sent before are still pending (they run to the attempt timeout, 2 s); waiting for them
  // would hold the result that long.
  const { run, resolvedAt } = await healedAt100('dns://svc.example', 3_000);
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 100);
  assert.equal(resolvedAt, 100 + QUIET_AFTER_SUCCESS_MS);
});

/** `clock` seen through a wrapper that counts its timers (sleep calls): a sleep on the thread is none. */
function countingSleeps(clock: FakeClock): FakeClock & { sleeps: number } {
  const counting = Object.assign(Object.create(clock) as FakeClock, {
    sleeps: 0,
    sleep: (ms: number, signal?: AbortSignal) => { counting.sleeps++; return clock.sleep(ms, signal); },
  });
  return counting;
}

test('sleepOnThread: a silent path\'s ticks sleep on the thread, and a connection that comes up between ticks is handled at the next one, still recorded at its SYN', async () => {
  // Twenty pods see one heal; each completion handled as it came was a wake-up of its own in
  // the interval where the neighbours' first ticks after the heal fall due (SLEEP_ON_THREAD).
  const clock = new FakeClock();
  const counting = countingSleeps(clock);
  // Up half a ms after its SYN, done then (a tcp target).
  const { probe, log } = simulated(clock, { 'a:1': { worksAt: 100, before: 'hang', upAfterMs: 0.5, rtt: 0 } });
  let resolvedAt: number | undefined;
  const running = runProber(options(counting, probe, ['a:1'], { maxInFlight: 100, sleepOnThread: true })).then((r) => { resolvedAt = clock.now(); return r; });
  await clock.advance(1_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 100);
  // Handled at the tick of 120, which then starts no attempt: its round trip reads 20 ms.
  assert.equal(run.results[0]!.rttMs, 20);
  assert.deepEqual(log.starts, [0, 20, 40, 60, 80, 100]);
  // No timer for the six ticks: the deadline's, then the quiet's and the sleep after the success.
  assert.ok(counting.sleeps <= 3, `${counting.sleeps} timers`);
  assert.equal(resolvedAt, 100 + QUIET_AFTER_SUCCESS_MS);

  // Without it, the completion is handled as it comes.
  const plain = new FakeClock();
  const { probe: p2 } = simulated(plain, { 'a:1': { worksAt: 100, before: 'hang', upAfterMs: 0.5, rtt: 0 } });
  const r2 = runProber(options(plain, p2, ['a:1'], { maxInFlight: 100 }));
  await plain.advance(1_000);
  const run2 = await r2;
  assert.ok(run2.outcome === 'ready');
  assert.equal(run2.results[0]!.rttMs, 0.5);
});

test('sleepOnThread: once a connection is up its exchange runs on the event loop, not on the ticks; an answering path sleeps there too', async () => {
  const clock = new FakeClock();
  // An http target: up half a ms after the SYN at 100, the request held to 125 (from the SYN), answered 1 ms later.
  const { probe, log } = simulated(clock, { 'http://a/': { worksAt: 100, before: 'hang', upAfterMs: 0.5, rtt: 1, holds: true } });
  let resolvedAt: number | undefined;
  const running = runProber(options(clock, probe, ['http://a/'], { maxInFlight: 100, sleepOnThread: true })).then((r) => { resolvedAt = clock.now(); return r; });
  await clock.advance(1_000);
  const run = await running;
  assert.ok(run.outcome === 'ready');
  assert.equal(run.readyAt, 100);
  // Seen up at the tick of 120; the rest of its hold (to 125) and its answer then ran on their own timers: done at 126, not at a tick.
  assert.equal(run.results[0]!.rttMs, 26);
  assert.deepEqual(log.starts, [0, 20, 40, 60, 80, 100]);
  assert.equal(resolvedAt, 100 + QUIET_AFTER_SUCCESS_MS);

  // A refusing target: the interval grows past the floor, and the prober sleeps on the event loop.
  const refusing = new FakeClock();
  const counting = countingSleeps(refusing);
  const { probe: p2, log: log2 } = simulated(refusing, { 'a:1': { worksAt: Infinity, before: 'refuse' } });
  const r2 = runProber(options(counting, p2, ['a:1'], { sleepOnThread: true, deadline: 10_000 }));
  await refusing.advance(11_000);
  assert.equal((await r2).outcome, 'deadline');
  // Every wait of the run was a timer but the deadline's, once the answers had grown the interval past the floor.
  const beyondFloor = log2.starts.slice(1).filter((t, i) => t - log2.starts[i]! > 20 + 2).length;
  assert.ok(beyondFloor > 0 && counting.sleeps >= beyondFloor, `${counting.sleeps} timers, ${beyondFloor} waits above the floor`);

  // A floor set above the default (PROBE_INITIAL_INTERVAL=1s): never a second on the thread.
  const slow = new FakeClock();
  let onThread = 0;
  const watched: FakeClock = Object.assign(Object.create(slow) as FakeClock, {
    sleepOnThread: (until: number) => { onThread++; return slow.sleepOnThread(until); },
  });
  const { probe: p3, log: log3 } = simulated(slow, { 'a:1': { worksAt: Infinity, before: 'hang' } });
  const r3 = runProber(options(watched, p3, ['a:1'], { sleepOnThread: true, deadline: 5_500, schedule: { ...DEFAULT_SCHEDULE, initialMs: 1_000 } }));
  await slow.advance(6_000);
  assert.equal((await r3).outcome, 'deadline');
  assert.deepEqual(log3.starts, [0, 1_000, 2_000, 3_000, 4_000, 5_000]);
  assert.equal(onThread, 0);
});
