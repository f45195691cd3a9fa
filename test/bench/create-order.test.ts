import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { creationOrder, type Slot } from '../../bench/create-order.ts';

/** Mean position (0 = first created, 1 = last) of the slots `pick` selects. */
function meanAt(order: Slot[], pick: (s: Slot) => boolean): number {
  const at = order.flatMap((s, i) => (pick(s) ? [i / (order.length - 1)] : []));
  return at.reduce((a, b) => a + b, 0) / at.length;
}

describe('realnode creation order', () => {
  it('creates every pod of every group once, and a baseline after every second reporter', () => {
    const order = creationOrder([20, 10], 2);
    assert.equal(order.length, 30 + 15);
    for (const [g, n] of [[0, 20], [1, 10]] as const) {
      assert.deepEqual(order.flatMap((s) => ('group' in s && s.group === g ? [s.index] : [])), Array.from({ length: n }, (_, i) => i));
    }
    assert.deepEqual(order.flatMap((s) => ('baseline' in s ? [s.index] : [])), Array.from({ length: 15 }, (_, i) => i));
    // Never more than two reporters in a row without a baseline.
    let run = 0;
    for (const s of order) { run = 'baseline' in s ? 0 : run + 1; assert.ok(run <= 2); }
  });

  it('spreads each mode over the whole window, as the baselines are: they start under the same load on average', () => {
    // 20 report + 10 init pods, the report/init window of the realnode part.
    const order = creationOrder([20, 10], 2);
    const baseline = meanAt(order, (s) => 'baseline' in s);
    for (const g of [0, 1]) {
      const mean = meanAt(order, (s) => 'group' in s && s.group === g);
      assert.ok(Math.abs(mean - baseline) < 0.05, `group ${g}: mean position ${mean.toFixed(2)} against the baselines' ${baseline.toFixed(2)}`);
    }
    // And the late third of the window holds its share of each group, not only the larger one.
    const late = order.slice(Math.floor(order.length * 2 / 3));
    assert.ok(late.filter((s) => 'group' in s && s.group === 1).length >= 3, 'init pods in the last third');
  });

  it('keeps one group alone in order', () => {
    assert.deepEqual(creationOrder([3], 2), [{ group: 0, index: 0 }, { group: 0, index: 1 }, { baseline: true, index: 0 }, { group: 0, index: 2 }]);
  });
});
