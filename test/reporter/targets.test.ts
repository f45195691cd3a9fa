import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isDpreadyError } from '../../src/errors.ts';
import { parseTarget, parseTargets } from '../../src/reporter/targets.ts';

test('accepted target forms', () => {
  assert.deepEqual(parseTarget('tcp://10.0.0.1:80'), { kind: 'tcp', raw: 'tcp://10.0.0.1:80', host: '10.0.0.1', port: 80 });
  // The existing reporter never succeeded on a bare IP:port; here it is a TCP target.
  assert.deepEqual(parseTarget('10.0.0.1:80'), { kind: 'tcp', raw: '10.0.0.1:80', host: '10.0.0.1', port: 80 });
  assert.deepEqual(parseTarget(' my-svc.ns.svc:8080 '), { kind: 'tcp', raw: 'my-svc.ns.svc:8080', host: 'my-svc.ns.svc', port: 8080 });
  assert.deepEqual(parseTarget('[::1]:80'), { kind: 'tcp', raw: '[::1]:80', host: '::1', port: 80 });
  assert.deepEqual(parseTarget('tcp://[fd00::1]:443'), { kind: 'tcp', raw: 'tcp://[fd00::1]:443', host: 'fd00::1', port: 443 });
  const http = parseTarget('http://svc.ns:8080/healthz?x=1');
  assert.equal(http.kind, 'http');
  assert.ok(http.kind === 'http' && http.host === 'svc.ns' && http.port === 8080 && http.url.pathname === '/healthz');
  const https = parseTarget('https://[::1]/');
  assert.ok(https.kind === 'https' && https.host === '::1' && https.port === 443);
  const plain = parseTarget('HTTP://example.test');
  assert.ok(plain.kind === 'http' && plain.port === 80);
  assert.deepEqual(parseTarget('dns://my-headless.ns.svc.cluster.local'), { kind: 'dns', raw: 'dns://my-headless.ns.svc.cluster.local', name: 'my-headless.ns.svc.cluster.local' });
});

test('several targets, comma-separated, order kept', () => {
  const ts = parseTargets('127.0.0.1:80, http://a.test/x,dns://b.test');
  assert.deepEqual(ts.map((t) => t.kind), ['tcp', 'http', 'dns']);
});

const bad: [string, RegExp][] = [
  ['', /empty/],
  ['a:80,,b:80', /empty entry/],
  ['a:80,', /empty entry/],
  ['10.0.0.1', /no port/],
  ['tcp://10.0.0.1', /no port/],
  ['10.0.0.1:0', /outside 1-65535/],
  ['10.0.0.1:65536', /outside 1-65535/],
  ['10.0.0.1:http', /port "http" is not a number/],
  ['::1:80', /needs brackets/],
  ['[10.0.0.1]:80', /not an IPv6 address/],
  ['bad_host!:80', /neither an IP address nor a DNS name/],
  [':80', /host is empty/],
  ['udp://1.2.3.4:53', /unknown scheme "udp:\/\/"/],
  ['dns://', /name is empty/],
  ['dns://not a name', /not a DNS name/],
  ['http://', /not a valid URL|host is empty/],
  ['http://u:p@host/', /credentials/],
  ['host:80/path', /no path/],
];
for (const [input, why] of bad) {
  test(`bad target ${JSON.stringify(input)}`, () => {
    assert.throws(() => parseTargets(input), (err: unknown) => {
      assert.ok(isDpreadyError(err, 'DPR_BAD_TARGET'), String(err));
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /^PROBE_TARGET/);
      assert.match(err.message, why);
      assert.match(err.message, /expected/);
      return true;
    });
  });
}
