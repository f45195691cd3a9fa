import assert from 'node:assert/strict';
import { test } from 'node:test';
import { burstNamespaces, medianOf } from '../../bench/burst-runs.ts';

test('the burst marks judge each figure\'s median over the runs, separately', () => {
  const run = (cpu: number, rss: number, p99: number) => ({ resultP99Ms: p99, conditionP99Ms: p99 + 1, cpuMsPerPod: cpu, rssSettledMiB: rss, rssIdleMiB: rss - 10, writesPerPod: 2 });
  const m = medianOf([run(3.4, 90, 800), run(2.1, 120, 700), run(2.9, 95, 5000)]);
  assert.deepEqual(m, { runs: 3, resultP99Ms: 800, conditionP99Ms: 801, cpuMsPerPod: 2.9, rssSettledMiB: 95, rssIdleMiB: 85, writesPerPod: 2 });
  assert.equal(medianOf([run(3, 1, 1)]).cpuMsPerPod, 3);
  assert.equal(medianOf([run(4, 1, 1), run(2, 1, 1)]).cpuMsPerPod, 2, 'the lower middle of an even count');
  assert.deepEqual(burstNamespaces('bench-burst', 3), ['bench-burst', 'bench-burst-2', 'bench-burst-3']);
});
