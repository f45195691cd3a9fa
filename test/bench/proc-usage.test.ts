// bench/proc-usage.ts's reading of /proc/stat: the realnode part's busy and steal shares.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { busyPercent, parseCpuLine, stealPercent } from '../../bench/proc-usage.ts';

test('parseCpuLine: busy is all but idle and iowait, steal included; steal apart; a line that is not the cpu line is an error', () => {
  //                      user nice system idle iowait irq softirq steal guest guest_nice
  assert.deepEqual(parseCpuLine('cpu  100 0 50 700 30 0 20 100 0 0'), { busy: 270, steal: 100, total: 1000 });
  assert.throws(() => parseCpuLine('cpu0 1 2 3 4 5 6 7 8'), /not \/proc\/stat's cpu line/);
  assert.throws(() => parseCpuLine('cpu 1 2 3'), /not \/proc\/stat's cpu line/);
});

test('busyPercent and stealPercent: shares of all CPUs\' time between two readings', () => {
  const a = parseCpuLine('cpu 100 0 50 700 30 0 20 100 0 0');
  const b = parseCpuLine('cpu 300 0 150 1100 30 0 20 400 0 0');
  // 1,000 ticks between them: 600 busy (300 of them stolen), 400 idle.
  assert.equal(busyPercent(a, b), 60);
  assert.equal(stealPercent(a, b), 30);
});
