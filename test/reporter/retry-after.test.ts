// The controller's report endpoint answers 429 with Retry-After when too many token reviews are
// in flight (src/webhook/token-reviews.ts): the reporter waits at least that long before its
// next try, instead of its own (shorter) backoff.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryAfterMs } from '../../src/reporter/controller-api.ts';
import { PodApiError, withRetry } from '../../src/reporter/pod-writer.ts';
import { FakeClock } from './fake-clock.ts';

test('a 429 with Retry-After: the next try waits for it, not for the 100 ms backoff', async () => {
  const clock = new FakeClock();
  const calls: number[] = [];
  const p = withRetry('patch annotations', async () => {
    calls.push(clock.now());
    if (calls.length < 3) throw new PodApiError('controller HTTP 429: too many token reviews in flight', true, 429, 2_000);
    return 'written';
  }, { clock, until: 60_000, callTimeoutMs: 10_000, random: () => 0 });
  await clock.advance(10_000);
  assert.equal(await p, 'written');
  assert.deepEqual(calls, [0, 2_000, 4_000]);
});

test('Retry-After is read as seconds and capped; other forms are ignored', () => {
  assert.equal(retryAfterMs('1'), 1_000);
  assert.equal(retryAfterMs(' 3 '), 3_000);
  assert.equal(retryAfterMs('9999'), 30_000);
  assert.equal(retryAfterMs(null), undefined);
  assert.equal(retryAfterMs('Fri, 04 Dec 2026 17:00:00 GMT'), undefined);
  assert.equal(retryAfterMs('-1'), undefined);
});
