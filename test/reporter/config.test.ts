import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { isDpreadyError } from '../../src/errors.ts';
import { monotonicOriginMs } from '../../src/reporter/clock.ts';
import { loadConfig } from '../../src/reporter/config.ts';
import { tempDir } from '../support/temp-dir.ts';

const base = { MY_POD_NAME: 'web-0', MY_POD_NAMESPACE: 'perf', PROBE_TARGET: '10.0.0.1:80' };

test('defaults: the existing environment alone is enough', () => {
  const c = loadConfig(base);
  assert.equal(c.podName, 'web-0');
  assert.equal(c.namespace, 'perf');
  assert.equal(c.timeoutMs, 60_000);
  assert.deepEqual(c.schedule, { initialMs: 20, growth: 0.015, capMs: 2_000 });
  assert.equal(c.attemptTimeoutMs, 2_000);
  assert.equal(c.maxInFlight, 100);
  assert.equal(c.mode, 'sidecar');
  assert.equal(c.insecureSkipVerify, false);
  assert.equal(c.startGraceMs, 1_000);
  assert.equal(c.apiCallTimeoutMs, 5_000);
  assert.equal(c.ca, undefined);
  assert.deepEqual(c.unknownVariables, []);
  // No DPREADY_START_NS: the start is this process's own.
  assert.deepEqual(c.start, { at: 0, from: 'node' });
});

test('DPREADY_START_NS: the container exec dpready-start stamped becomes the start, to the µs', () => {
  const processStart = 1_764_950_000_123.5; // epoch ms
  const c = loadConfig({ ...base, DPREADY_START_NS: '1764950000081250300' }, processStart);
  assert.equal(c.start.from, 'exec');
  // 42.2497 ms before Node's start: negative on Node's monotonic clock, whose origin is its start.
  // (An epoch ms double holds about 0.2 µs.)
  assert.ok(Math.abs(c.start.at - -42.2497) < 1e-3, String(c.start.at));
});

test('DPREADY_START_NS: a value that is not the stamp of this process is an error naming it', () => {
  const processStart = 1_764_950_000_000;
  const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
  const cases: [string, RegExp][] = [
    ['', /DPREADY_START_NS="": expected Unix time in ns/],
    ['1764950000.5', /expected Unix time in ns/],
    ['-5', /expected Unix time in ns/],
    [ns(processStart - 6 * 60_000), /is 360000 ms before this process started; expected the instant dpready-start stamped/],
    [ns(processStart + 2_000), /is 2000 ms after this process started/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => loadConfig({ ...base, DPREADY_START_NS: value }, processStart), (err: unknown) => {
      assert.ok(isDpreadyError(err) && err.code === 'DPR_BAD_CONFIG', String(err));
      assert.match(err.message, message);
      return true;
    }, value);
  }
  // Node's start-up on a loaded node: seconds after the stamp are fine.
  assert.equal(loadConfig({ ...base, DPREADY_START_NS: ns(processStart - 4_000) }, processStart).start.at, -4_000);
});

test('DPREADY_WALL_MINUS_MONO_NS: the entrypoint\'s offset dates every instant; a malformed or foreign value is an error naming it', () => {
  const here = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  const ns = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;
  const c = loadConfig({ ...base, DPREADY_WALL_MINUS_MONO_NS: ns(here) });
  // The origin is that offset plus performance.now()'s origin on the monotonic clock.
  const expected = Math.round(here) + monotonicOriginMs(1_000);
  assert.ok(Math.abs(c.originWallMs - expected) < 0.05, `${c.originWallMs} against ${expected}`);
  const cases: [string, RegExp][] = [
    ['', /DPREADY_WALL_MINUS_MONO_NS="": expected a whole number of ns/],
    ['-3', /expected a whole number of ns/],
    // 5,000 ms, give or take the ms both offsets are read to.
    [ns(here - 5_000), /DPREADY_WALL_MINUS_MONO_NS="\d+": (499\d|500\d) ms less than the clocks' offset here; expected the offset dpready-start read on this host/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => loadConfig({ ...base, DPREADY_WALL_MINUS_MONO_NS: value }), (err: unknown) => {
      assert.ok(isDpreadyError(err) && err.code === 'DPR_BAD_CONFIG', String(err));
      assert.match(err.message, message);
      return true;
    }, value);
  }
  // A test's own origin wins (as every test above gives one).
  assert.equal(loadConfig(base, 1_764_950_000_000).originWallMs, 1_764_950_000_000);
});

test('seconds as in the existing reporter, and durations', () => {
  const c = loadConfig({ ...base, PROBE_TIMEOUT: '90', PROBE_INTERVAL: '0.5', PROBE_ATTEMPT_TIMEOUT: '750ms',
    PROBE_INITIAL_INTERVAL: '10ms', PROBE_INTERVAL_GROWTH: '0', PROBE_MAX_IN_FLIGHT: '3', PROBE_MODE: 'init',
    PROBE_INSECURE_SKIP_VERIFY: 'true', PROBE_START_GRACE: '0', PROBE_API_TIMEOUT: '2m' });
  assert.equal(c.timeoutMs, 90_000);
  assert.deepEqual(c.schedule, { initialMs: 10, growth: 0, capMs: 500 });
  assert.equal(c.attemptTimeoutMs, 750);
  assert.equal(c.maxInFlight, 3);
  assert.equal(c.mode, 'init');
  assert.equal(c.insecureSkipVerify, true);
  assert.equal(c.startGraceMs, 0);
  assert.equal(c.apiCallTimeoutMs, 120_000);
});

test('CA bundle is read at start-up', () => {
  const dir = tempDir('cfg');
  const path = join(dir, 'ca.pem');
  writeFileSync(path, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const c = loadConfig({ ...base, PROBE_CA_FILE: path });
  assert.equal(c.caFile, path);
  assert.match(String(c.ca), /BEGIN CERTIFICATE/);
});

test('unknown PROBE_* variables are reported, service-link variables are not', () => {
  const c = loadConfig({ ...base, PROBE_TIMEOUTS: '5', PROBE_SERVICE_HOST: '10.0.0.9', PROBE_PORT_80_TCP: 'tcp://x' });
  assert.deepEqual(c.unknownVariables, ['PROBE_TIMEOUTS']);
});

const notPem = join(tempDir('cfg'), 'x.txt');
writeFileSync(notPem, 'hello');

// [variable, value (undefined = unset), what the message must say]
const bad: [string, string | undefined, RegExp][] = [
  ['MY_POD_NAME', undefined, /MY_POD_NAME is not set; expected name of this pod/],
  ['MY_POD_NAME', '', /MY_POD_NAME="": expected a pod name/],
  ['MY_POD_NAME', 'Web_0', /MY_POD_NAME="Web_0": expected a pod name/],
  ['MY_POD_NAMESPACE', undefined, /MY_POD_NAMESPACE is not set/],
  ['MY_POD_NAMESPACE', 'a.b', /MY_POD_NAMESPACE="a.b": expected a namespace name/],
  ['PROBE_TARGET', undefined, /PROBE_TARGET is not set/],
  ['PROBE_TARGET', 'nohostport', /PROBE_TARGET entry "nohostport": no port; expected/],
  ['PROBE_TIMEOUT', 'abc', /PROBE_TIMEOUT="abc": .*expected a number of seconds or a duration/],
  ['PROBE_TIMEOUT', '', /PROBE_TIMEOUT="": empty; expected/],
  ['PROBE_TIMEOUT', '-5', /PROBE_TIMEOUT="-5": .*expected/],
  ['PROBE_TIMEOUT', '0', /PROBE_TIMEOUT="0": too small; expected at least 1 ms/],
  ['PROBE_TIMEOUT', '10x', /PROBE_TIMEOUT="10x": .*expected/],
  ['PROBE_INTERVAL', '2 s', /PROBE_INTERVAL="2 s": .*expected/],
  ['PROBE_INTERVAL', '0ms', /PROBE_INTERVAL="0ms": too small/],
  ['PROBE_INITIAL_INTERVAL', 'fast', /PROBE_INITIAL_INTERVAL="fast": .*expected/],
  ['PROBE_INTERVAL_GROWTH', '2', /PROBE_INTERVAL_GROWTH="2": expected a fraction from 0 to 1/],
  ['PROBE_INTERVAL_GROWTH', '1.5%', /PROBE_INTERVAL_GROWTH="1.5%": expected a fraction/],
  ['PROBE_INTERVAL_GROWTH', '-0.1', /PROBE_INTERVAL_GROWTH="-0.1": expected a fraction/],
  ['PROBE_ATTEMPT_TIMEOUT', '1y', /PROBE_ATTEMPT_TIMEOUT="1y": .*expected/],
  ['PROBE_MAX_IN_FLIGHT', '0', /PROBE_MAX_IN_FLIGHT="0": expected a whole number from 1 to 1000/],
  ['PROBE_MAX_IN_FLIGHT', '2.5', /PROBE_MAX_IN_FLIGHT="2.5": expected a whole number/],
  ['PROBE_MAX_IN_FLIGHT', '5000', /PROBE_MAX_IN_FLIGHT="5000": expected a whole number/],
  ['PROBE_MODE', 'daemon', /PROBE_MODE="daemon": expected one of sidecar, init/],
  ['PROBE_MODE', 'Init', /PROBE_MODE="Init": expected one of sidecar, init/],
  ['PROBE_INSECURE_SKIP_VERIFY', 'yes', /PROBE_INSECURE_SKIP_VERIFY="yes": expected one of true, false/],
  ['PROBE_CA_FILE', '/nonexistent/ca.pem', /PROBE_CA_FILE="\/nonexistent\/ca.pem": .*ENOENT.*expected a readable PEM file/],
  ['PROBE_CA_FILE', notPem, /PROBE_CA_FILE=".*x.txt": no PEM certificate in it; expected a readable PEM file/],
  ['PROBE_START_GRACE', 'soon', /PROBE_START_GRACE="soon": .*expected/],
  ['PROBE_API_TIMEOUT', '0', /PROBE_API_TIMEOUT="0": too small/],
];

for (const [name, value, why] of bad) {
  test(`bad ${name}=${JSON.stringify(value)}`, () => {
    const env: Record<string, string | undefined> = { ...base, [name]: value };
    if (value === undefined) delete env[name];
    assert.throws(() => loadConfig(env), (err: unknown) => {
      assert.ok(isDpreadyError(err), String(err));
      assert.equal(err.code, name === 'PROBE_TARGET' ? 'DPR_BAD_TARGET' : 'DPR_BAD_CONFIG');
      assert.equal(err.exitCode, 2);
      assert.match(err.message, why);
      return true;
    });
  });
}

test('every problem is listed at once', () => {
  assert.throws(() => loadConfig({ MY_POD_NAMESPACE: 'perf', PROBE_TARGET: 'x', PROBE_TIMEOUT: 'abc' }), (err: unknown) => {
    assert.ok(isDpreadyError(err, 'DPR_BAD_CONFIG'));
    assert.match(err.message, /MY_POD_NAME is not set/);
    assert.match(err.message, /PROBE_TARGET entry "x"/);
    assert.match(err.message, /PROBE_TIMEOUT="abc"/);
    return true;
  });
});

test('CA bundle and insecure together are contradictory', () => {
  const path = join(tempDir('cfg'), 'ca.pem');
  writeFileSync(path, '-----BEGIN CERTIFICATE-----\n');
  assert.throws(() => loadConfig({ ...base, PROBE_CA_FILE: path, PROBE_INSECURE_SKIP_VERIFY: 'true' }), (err: unknown) => {
    assert.ok(isDpreadyError(err, 'DPR_BAD_CONFIG'));
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /PROBE_INSECURE_SKIP_VERIFY="true" with PROBE_CA_FILE=.*expected one of them, not both/);
    return true;
  });
});
