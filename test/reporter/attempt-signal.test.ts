// AttemptStop stands in for an AbortController per probe attempt: the probes rely on it acting
// as one (the reason is set before any listener runs, each listener runs once, a removed one
// never, a second abort does nothing).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AttemptStop } from '../../src/reporter/attempt-signal.ts';

test('AttemptStop: listeners run once, in order, after aborted and reason are set; a removed one does not run', () => {
  const stop = new AttemptStop();
  const seen: string[] = [];
  const removed = () => seen.push('removed');
  stop.addEventListener('abort', () => seen.push(`first ${String(stop.aborted)} ${(stop.reason as Error).message}`));
  stop.addEventListener('abort', removed);
  stop.addEventListener('abort', () => seen.push('second'));
  stop.removeEventListener('abort', removed);
  assert.equal(stop.aborted, false);
  stop.abort(new Error('timed out'));
  stop.abort(new Error('again'));
  assert.deepEqual(seen, ['first true timed out', 'second']);
  assert.equal((stop.reason as Error).message, 'timed out', 'the first reason stands');
});

test('AttemptStop: a listener added after the abort is not called (the attempt checks aborted first, as with AbortSignal)', () => {
  const stop = new AttemptStop();
  stop.abort(new Error('settled'));
  let called = false;
  stop.addEventListener('abort', () => { called = true; });
  stop.abort(new Error('again'));
  assert.equal(called, false);
});

test('AttemptStop: a listener removed by an earlier one during the abort is not called, as with EventTarget', () => {
  const stop = new AttemptStop();
  const seen: number[] = [];
  const third = () => seen.push(3);
  stop.addEventListener('abort', () => { seen.push(1); stop.removeEventListener('abort', third); });
  stop.addEventListener('abort', () => seen.push(2));
  stop.addEventListener('abort', third);
  stop.abort(new Error('x'));
  assert.deepEqual(seen, [1, 2]);
  // The same check against AbortController, which AttemptStop stands in for.
  const ac = new AbortController();
  const acSeen: number[] = [];
  const acThird = () => acSeen.push(3);
  ac.signal.addEventListener('abort', () => { acSeen.push(1); ac.signal.removeEventListener('abort', acThird); });
  ac.signal.addEventListener('abort', () => acSeen.push(2));
  ac.signal.addEventListener('abort', acThird);
  ac.abort();
  assert.deepEqual(acSeen, seen);
});
