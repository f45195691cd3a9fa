import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from '../../src/controller/work-queue.ts';
import { backoffDelay } from '../../src/backoff.ts';
import { FakeClock, flush } from '../support/fake-clock.ts';

function queue(clock: FakeClock, process: (key: string) => Promise<void>, concurrency = 2) {
  const q = new WorkQueue({ concurrency, process, clock, baseBackoffMs: 100, maxBackoffMs: 1_000, random: () => 1 });
  q.start();
  return q;
}

test('a key added many times while queued is processed once', async () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const q = new WorkQueue({ concurrency: 1, clock, process: async (k) => { seen.push(k); } });
  for (let i = 0; i < 5; i++) q.add('a');
  q.add('b');
  q.start();
  await q.idle();
  assert.deepEqual(seen, ['a', 'b']);
});

test('a key is never processed twice at once; an add during processing runs it again after', async () => {
  const clock = new FakeClock();
  let running = 0; let maxRunning = 0; let runs = 0;
  let release!: () => void;
  const q = queue(clock, async () => {
    running++; runs++; maxRunning = Math.max(maxRunning, running);
    if (runs === 1) await new Promise<void>((r) => { release = r; });
    running--;
  }, 4);
  q.add('a');
  await flush();
  q.add('a');
  q.add('a');
  await flush();
  assert.equal(runs, 1);
  release();
  await q.idle();
  assert.equal(runs, 2);
  assert.equal(maxRunning, 1);
});

test('concurrency is bounded', async () => {
  const clock = new FakeClock();
  let running = 0; let maxRunning = 0;
  const q = queue(clock, async () => { running++; maxRunning = Math.max(maxRunning, running); await flush(); running--; }, 3);
  for (let i = 0; i < 20; i++) q.add(`k${i}`);
  await q.idle();
  assert.equal(maxRunning, 3);
});

test('failures retry with capped exponential backoff, and success resets it', async () => {
  const clock = new FakeClock();
  const attempts: number[] = [];
  let fail = 5;
  const q = queue(clock, async () => { attempts.push(clock.now()); if (fail-- > 0) throw new Error('boom'); });
  q.add('a');
  await clock.advance(10_000);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
  assert.deepEqual(gaps, [100, 200, 400, 800, 1_000]);
  assert.equal(attempts.length, 6);
});

test('addAfter schedules once, the earliest schedule wins, and forget cancels it', async () => {
  const clock = new FakeClock();
  const seen: number[] = [];
  const q = queue(clock, async () => { seen.push(clock.now()); });
  const t0 = clock.now();
  q.addAfter('a', 5_000);
  q.addAfter('a', 2_000);
  q.addAfter('a', 9_000);
  await clock.advance(10_000);
  assert.deepEqual(seen, [t0 + 2_000]);
  q.addAfter('b', 1_000);
  q.forget('b');
  await clock.advance(2_000);
  assert.equal(seen.length, 1);
});

test('a paused queue holds keys until it runs again, and shutdown waits for work in flight', async () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const q = queue(clock, async (k) => { seen.push(k); });
  q.pause();
  q.add('a');
  await flush();
  assert.deepEqual(seen, []);
  q.start();
  await q.idle();
  assert.deepEqual(seen, ['a']);
  let done = false;
  q.add('slow');
  const slow = new WorkQueue({ concurrency: 1, clock, process: async () => { await flush(); done = true; } });
  slow.start();
  slow.add('x');
  await slow.shutdown();
  assert.equal(done, true);
  slow.add('y');
  assert.equal(slow.depth, 0, 'a shut-down queue takes no new work');
});

test('backoffDelay stays within [base/2, cap], even after very many failures', () => {
  for (let failures = 1; failures < 2_000; failures += 37) {
    for (const r of [0, 0.5, 0.999]) {
      const d = backoffDelay(failures, { baseMs: 200, capMs: 30_000, random: () => r });
      assert.ok(d >= 100 && d < 30_000, `${failures} ${r} ${d}`);
    }
  }
});

test('reset() forgets queued keys, schedules and retry counts; a key in flight finishes', async () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  let release!: () => void;
  const q = new WorkQueue({ concurrency: 1, clock, process: async (k) => {
    seen.push(k);
    if (k === 'a') await new Promise<void>((r) => { release = r; });
  } });
  q.start();
  q.add('a');
  q.add('b');
  q.addAfter('c', 1_000);
  await flush();
  q.reset();
  assert.equal(q.scheduled, 0);
  release();
  await q.idle();
  await clock.advance(2_000);
  assert.deepEqual(seen, ['a']);
});

test('metrics hooks: the time a key waited in the queue, and each processing with its result', async () => {
  const clock = new FakeClock();
  const waited: Array<[string, number]> = [];
  const processed: Array<[string, number, boolean]> = [];
  const q = new WorkQueue({
    concurrency: 1, clock, baseBackoffMs: 100, maxBackoffMs: 100, random: () => 1,
    process: async (k) => { if (k === 'bad') throw new Error('no'); },
    onDequeue: (k, ms) => waited.push([k, ms]),
    onProcessed: (k, ms, ok) => processed.push([k, ms, ok]),
  });
  q.add('a');
  q.add('bad');
  await clock.advance(250);
  q.start();
  await q.idle();
  assert.deepEqual(waited, [['a', 250], ['bad', 250]]);
  assert.deepEqual(processed, [['a', 0, true], ['bad', 0, false]]);
  await q.shutdown();
});
