import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseControllerArgs } from '../../src/controller/config.ts';
import { parseSelector } from '../../src/labels/selector.ts';
import { isDpreadyError } from '../../src/errors.ts';

const validate = (s: string) => { parseSelector(s, '--label-selector'); };
const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseControllerArgs(args, env, validate);

test('defaults are documented values, not silent fallbacks of bad input', () => {
  const c = parse([]);
  assert.ok(c !== 'help');
  assert.equal(c.namespace, '');
  assert.equal(c.datapathTimeoutMs, 300_000);
  assert.equal(c.timeoutPolicy, 'fail-closed');
  assert.equal(c.listen, ':8080');
  assert.equal(c.leaderElect, false);
  assert.equal(c.leaseNamespace, 'dpready-system');
  assert.equal(c.resultTtlMs, undefined);
  assert.equal(c.resultsNamespace, 'dpready-system');
});

test('results live in the controller\'s own namespace unless --results-namespace says otherwise', () => {
  const own = parse([], { POD_NAMESPACE: 'perf-tools' });
  assert.ok(own !== 'help');
  assert.equal(own.resultsNamespace, 'perf-tools');
  const flag = parse(['--namespace=load', '--results-namespace=results'], { POD_NAMESPACE: 'perf-tools' });
  assert.ok(flag !== 'help');
  assert.deepEqual([flag.namespace, flag.resultsNamespace], ['load', 'results']);
});

test('flags are read, durations in Go form, the Lease namespace from POD_NAMESPACE', () => {
  const c = parse(['--namespace=perf', '--label-selector', 'app in (a,b),!canary', '--datapath-timeout=90s', '--timeout-policy=fail-open',
    '--result-ttl=24h', '--workers=16', '--leader-elect', '--listen=127.0.0.1:9090'], { POD_NAMESPACE: 'dpready' });
  assert.ok(c !== 'help');
  assert.deepEqual([c.namespace, c.labelSelector, c.datapathTimeoutMs, c.timeoutPolicy, c.resultTtlMs, c.workers, c.leaderElect, c.leaseNamespace, c.listen],
    ['perf', 'app in (a,b),!canary', 90_000, 'fail-open', 86_400_000, 16, true, 'dpready', '127.0.0.1:9090']);
});

const bad: Array<[string[], RegExp]> = [
  [['--datapath-timeout=soon'], /--datapath-timeout="soon"/],
  [['--datapath-timeout=10ms'], /--datapath-timeout="10ms": expected at least 1s/],
  [['--timeout-policy=maybe'], /--timeout-policy="maybe": expected fail-closed or fail-open/],
  [['--workers=0'], /--workers="0"/],
  [['--workers=2.5'], /--workers="2.5"/],
  [['--namespace=Not_A_Namespace'], /--namespace="Not_A_Namespace"/],
  [['--results-namespace=Results'], /--results-namespace="Results": expected a namespace name/],
  [['--label-selector=app in (a'], /--label-selector/],
  [['--label-selector=a=b=c'], /--label-selector/],
  [['--listen=8080'], /--listen="8080"/],
  [['--listen=:99999'], /--listen=":99999"/],
  [['--result-ttl=5s'], /--result-ttl="5s": expected at least 1m/],
  [['--log-level=loud'], /--log-level="loud"/],
  [['--no-such-flag'], /Unknown option '--no-such-flag'/],
  [['stray'], /positional/],
];

for (const [args, message] of bad) {
  test(`bad input ${args.join(' ')} is an error naming it`, () => {
    assert.throws(() => parse(args), (err: unknown) => {
      assert.ok(isDpreadyError(err), String(err));
      assert.match(err.message, message);
      assert.ok(err.exitCode === 2 || err.exitCode === 64);
      return true;
    });
  });
}

test('--datapath-timeout is bounded: a timer cannot wait that long', () => {
  assert.throws(() => parse(['--datapath-timeout=720h']), /--datapath-timeout="720h": expected at most 24h/);
});

test('leader election timings are read and must nest: retry < renew deadline < lease duration', () => {
  const c = parse(['--leader-elect', '--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=500ms']);
  assert.ok(c !== 'help');
  assert.deepEqual([c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs], [6_000, 4_000, 500]);
  assert.throws(() => parse(['--leader-elect-lease-duration=5s']), /--leader-elect-renew-deadline="10s": expected less than --leader-elect-lease-duration/);
  assert.throws(() => parse(['--leader-elect-retry-period=10s']), /--leader-elect-retry-period="10s"/);
});

test('injected reporters get the controller\'s --datapath-timeout as their PROBE_TIMEOUT (they gave up at 60 s while the gate waited 5 m)', () => {
  const c = parse(['--webhook-listen=:8443', '--reporter-image=img']);
  assert.ok(c !== 'help');
  assert.equal(c.webhook?.probeTimeout, '5m');
  const d = parse(['--webhook-listen=:8443', '--reporter-image=img', '--datapath-timeout=90s']);
  assert.ok(d !== 'help');
  assert.equal(d.webhook?.probeTimeout, '1m30s');
});
