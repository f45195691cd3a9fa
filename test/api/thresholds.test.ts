import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDpreadyError } from '../../src/errors.ts';
import { evaluate, parseThreshold } from '../../src/api/thresholds.ts';

describe('parseThreshold', () => {
  it('reads SOURCE.STAT OP VALUE, durations and bare ms for latencies, shorthands', () => {
    assert.deepEqual(parseThreshold('time-to-datapath-ready.p99<5s'),
      { text: 'time-to-datapath-ready.p99<5s', source: 'time-to-datapath-ready', stat: 'p99', kind: 'latency', op: '<', value: 5000 });
    assert.equal(parseThreshold('time-to-start.p50 <= 1m30s').value, 90_000);
    assert.equal(parseThreshold('time-to-start.max<250').value, 250);
    assert.deepEqual(parseThreshold('failed==0'), { text: 'failed==0', source: 'time-to-datapath-ready', stat: 'totalFailed', kind: 'count', op: '==', value: 0 });
    assert.deepEqual(parseThreshold(' pod-health.successPct >= 99.5% '),
      { text: 'pod-health.successPct >= 99.5%', source: 'pod-health', stat: 'successPct', kind: 'percent', op: '>=', value: 99.5 });
    assert.equal(parseThreshold('phase.ready-to-datapath.p95<2s', ['ready-to-datapath']).source, 'phase:ready-to-datapath');
  });

  const bad: Array<[string, RegExp]> = [
    ['p99<5s', /unknown name "p99"/],
    ['time-to-datapath-ready.p99', /expected SOURCE\.STAT OP VALUE/],
    ['time-to-datapath-ready.p99 =< 5s', /expected SOURCE\.STAT OP VALUE|is not a latency/],
    ['time-to-ready.p99<5s', /unknown source "time-to-ready"/],
    ['time-to-start.p42<5s', /time-to-start has no "p42"/],
    ['time-to-start.p99<soon', /"soon" is not a latency/],
    ['failed==0.5', /"0.5" is not a count/],
    ['failed==1s', /"1s" is not a count/],
    ['pod-health.successPct>high', /not a percentage/],
    ['phase.nope.p99<1s', /unknown phase "nope"/],
    ['', /expected SOURCE\.STAT OP VALUE/],
  ];
  for (const [text, msg] of bad) {
    it(`refuses ${JSON.stringify(text)} with DPR_BAD_THRESHOLD (exit 2)`, () => {
      assert.throws(() => parseThreshold(text, ['ready']), (err) => isDpreadyError(err, 'DPR_BAD_THRESHOLD') && err.exitCode === 2 && msg.test(err.message) && err.message.startsWith('--threshold='));
    });
  }
});

describe('evaluate', () => {
  const figures = {
    'time-to-datapath-ready': { count: 10, p99: 6200, totalFailed: 0, timedOut: 0, pending: 0 },
    'time-to-start': { count: 0, p99: 0 },
    'pod-health': { successPct: 100, failedPods: 0 },
  };
  it('passes and breaches, each with a message naming the figure and the bound', () => {
    const v = evaluate([parseThreshold('time-to-datapath-ready.p99<5s'), parseThreshold('failed==0'), parseThreshold('pod-health.successPct>=99')], figures);
    assert.deepEqual(v.map((x) => [x.ok, x.actual]), [[false, 6200], [true, 0], [true, 100]]);
    assert.equal(v[0]!.message, 'time-to-datapath-ready.p99<5s: time-to-datapath-ready.p99 = 6.2s, not < 5s');
    assert.equal(v[1]!.message, 'failed==0: time-to-datapath-ready.totalFailed = 0');
  });
  it('a latency bound over no data is a breach, not a vacuous pass', () => {
    const [v] = evaluate([parseThreshold('time-to-start.p99<5s')], figures);
    assert.deepEqual([v!.ok, v!.message], [false, 'time-to-start.p99<5s: time-to-start.p99 has no data (count 0)']);
  });
  it('every operator', () => {
    const at = (op: string) => evaluate([parseThreshold(`failed${op}3`)], { 'time-to-datapath-ready': { totalFailed: 3 } })[0]!.ok;
    assert.deepEqual(['<', '<=', '>', '>=', '==', '!='].map(at), [false, true, false, true, true, false]);
  });
});
