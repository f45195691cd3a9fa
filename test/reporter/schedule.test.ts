import assert from 'node:assert/strict';
import { test } from 'node:test';

import { admit, DEFAULT_SCHEDULE, intervalAt, plannedStarts } from '../../src/reporter/schedule.ts';

test('interval: floor, then a fixed fraction of time waited, then the cap', () => {
  assert.equal(intervalAt(0, DEFAULT_SCHEDULE), 20);
  assert.equal(intervalAt(1_000, DEFAULT_SCHEDULE), 20);
  assert.equal(intervalAt(2_000, DEFAULT_SCHEDULE), 30);
  assert.equal(intervalAt(10_000, DEFAULT_SCHEDULE), 150);
  assert.equal(intervalAt(60_000, DEFAULT_SCHEDULE), 900);
  assert.equal(intervalAt(200_000, DEFAULT_SCHEDULE), 2_000);
  assert.equal(intervalAt(-5, DEFAULT_SCHEDULE), 20);
});

test('an explicit PROBE_INTERVAL below the floor makes a fixed interval', () => {
  const s = { ...DEFAULT_SCHEDULE, capMs: 10 };
  assert.equal(intervalAt(0, s), 10);
  assert.equal(intervalAt(100_000, s), 10);
});

test('growth 0 is the existing reporter\'s fixed interval at the floor', () => {
  const s = { initialMs: 2_000, growth: 0, capMs: 2_000 };
  assert.deepEqual(plannedStarts(s, 7_000), [0, 2_000, 4_000, 6_000]);
});

test('relative quantisation error stays at the growth fraction once past the floor', () => {
  for (const t of [1_500, 5_000, 30_000, 120_000]) {
    assert.ok(intervalAt(t, DEFAULT_SCHEDULE) / t <= DEFAULT_SCHEDULE.growth + 1e-12, `at ${t}`);
  }
});

test('load of a never-working datapath is bounded', () => {
  const minute = plannedStarts(DEFAULT_SCHEDULE, 60_000).length;
  const tenMinutes = plannedStarts(DEFAULT_SCHEDULE, 600_000).length;
  // ~67 at the floor, ~67 per e-fold after (~255 from 1.33 s to 60 s), then one per 2 s cap.
  assert.ok(minute > 300 && minute < 340, `attempts in the first minute: ${minute}`);
  assert.ok(tenMinutes - minute < 330, `attempts in minutes 2-10: ${tenMinutes - minute}`);
  assert.ok(plannedStarts(DEFAULT_SCHEDULE, 2_000).length < 100);
  const starts = plannedStarts(DEFAULT_SCHEDULE, 600_000);
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 20 - 1e-9);
  // Intervals never shrink.
  for (let i = 2; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= starts[i - 1]! - starts[i - 2]! - 1e-9);
});

test('at the in-flight limit the oldest attempt makes way', () => {
  assert.equal(admit(0, 8), 'start');
  assert.equal(admit(7, 8), 'start');
  assert.equal(admit(8, 8), 'replace-oldest');
});
