import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/controller/clock.ts';

// Issue 11, defect 8: Node runs a timer longer than 2^31-1 ms after 1 ms (TimeoutOverflowWarning),
// so --datapath-timeout=30d turned every pending pod's recheck into a 1 ms requeue loop.
test('a timer beyond Node\'s limit is clamped, not turned into a 1 ms timer', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const handle = systemClock.setTimeout(() => assert.fail('fired early'), 30 * 24 * 3_600_000);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => process.nextTick(r));
    systemClock.clearTimeout(handle);
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings.filter((n) => n === 'TimeoutOverflowWarning'), []);
});

test('the monotonic clock does not follow the wall clock', () => {
  const a = systemClock.monotonic();
  const b = systemClock.monotonic();
  assert.ok(b >= a);
});
