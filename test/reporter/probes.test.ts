// Probes against real servers on loopback only.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import forge from 'node-forge';

import { systemClock } from '../../src/reporter/clock.ts';
import { runProber } from '../../src/reporter/prober.ts';
import { finalStatus, probeOnce, type ProbeOptions } from '../../src/reporter/probes.ts';
import { parseTarget } from '../../src/reporter/targets.ts';

const listen = (server: Server | HttpServer, host = '127.0.0.1', port = 0) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
const close = (server: Server | HttpServer) => new Promise<void>((r) => {
  if ('closeAllConnections' in server) server.closeAllConnections();
  server.close(() => r());
});
const opts = (extra: Partial<ProbeOptions> = {}): ProbeOptions => ({ signal: AbortSignal.timeout(2_000), now: systemClock.now, ...extra });
const fast = { initialMs: 10, growth: 0, capMs: 10 };

/** A port that nothing listens on (bound then released). */
async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createTcpServer();
  const port = await listen(s, host);
  await close(s);
  return port;
}

test('tcp: a listener answers; a closed port is refused with the socket error', async () => {
  const server = createTcpServer((s) => s.end());
  const port = await listen(server);
  const ok = await probeOnce(parseTarget(`127.0.0.1:${port}`), opts());
  assert.ok(ok.rttMs >= 0 && ok.rttMs < 1_000);
  await close(server);
  await assert.rejects(probeOnce(parseTarget(`tcp://127.0.0.1:${port}`), opts()), /ECONNREFUSED/);
});

test('onSending and onSent: tcp and http attempts say once just before their SYN (the lower end of a bracket) and once after it, before any refusal; an aborted one does not', async () => {
  const port = await freePort();
  for (const raw of [`tcp://127.0.0.1:${port}`, `http://127.0.0.1:${port}/`]) {
    const seen: string[] = [];
    const startedAt = systemClock.now();
    let sendingAt = -1;
    let sentAt = -1;
    await probeOnce(parseTarget(raw), opts({
      onSending: (at) => { seen.push('sending'); sendingAt = at; },
      onSent: (at) => { seen.push('sent'); sentAt = at; },
    })).catch(() => seen.push('refused'));
    assert.deepEqual(seen, ['sending', 'sent', 'refused'], raw);
    assert.ok(sendingAt >= startedAt && sentAt >= sendingAt, `${raw}: began ${startedAt}, sending ${sendingAt}, sent ${sentAt}`);
  }
  // Stopped before it began: neither is said, as no packet went out.
  const aborted = new AbortController();
  aborted.abort();
  let called = false;
  await assert.rejects(probeOnce(parseTarget(`tcp://127.0.0.1:${port}`), opts({ signal: aborted.signal, onSending: () => { called = true; }, onSent: () => { called = true; } })));
  assert.equal(called, false, 'stopped before its connect');
});

test('a success is dated after its connect(2): a reporter that waits for a core just before the syscall dates it after the wait', async () => {
  const server = createTcpServer((s) => s.end());
  const port = await listen(server);
  const web = createHttpServer((_req, res) => res.writeHead(200).end('ok'));
  const webPort = await listen(web);
  try {
    for (const raw of [`tcp://127.0.0.1:${port}`, `http://127.0.0.1:${webPort}/`]) {
      // onSending runs just before the connect(2): a wait there is a reporter that lost its
      // core between reading the clock and making the call. The SYN goes out after the wait,
      // so its instant must too (an attempt that reused the reading before the call would not).
      let waitedUntil = 0;
      const ok = await probeOnce(parseTarget(raw), opts({
        onSending: () => {
          const until = systemClock.now() + 30;
          while (systemClock.now() < until) { /* the reporter waiting for a core */ }
          waitedUntil = systemClock.now();
        },
      }));
      assert.ok(waitedUntil > 0, `${raw}: the wait ran`);
      assert.ok(ok.sentAt >= waitedUntil, `${raw}: dated ${(waitedUntil - ok.sentAt).toFixed(1)} ms before its SYN could go out`);
      assert.ok(ok.doneAt >= ok.sentAt, `${raw}: done before sent`);
    }
  } finally {
    await close(server);
    await close(web);
  }
});

test('tcp over IPv6 loopback [::1]:port', async (t) => {
  const server = createTcpServer((s) => s.end());
  let port: number;
  try {
    port = await listen(server, '::1');
  } catch (err) {
    // Under CI the machine is known to have [::1]: a skip there would hide a broken probe.
    if (process.env.CI === 'true') throw new Error('no IPv6 loopback under CI', { cause: err });
    t.skip('no IPv6 loopback here');
    return;
  }
  await probeOnce(parseTarget(`[::1]:${port}`), opts());
  await close(server);
});

test('a port that opens after a delay is detected promptly by the overlapping schedule', async () => {
  const port = await freePort();
  const server = createTcpServer((s) => s.end());
  let openedAt = 0;
  setTimeout(() => { void listen(server, '127.0.0.1', port).then(() => { openedAt = systemClock.now(); }); }, 300);
  const run = await runProber({
    targets: [parseTarget(`127.0.0.1:${port}`)], schedule: fast, attemptTimeoutMs: 1_000, maxInFlight: 8,
    deadline: systemClock.now() + 5_000, clock: systemClock, probe: probeOnce,
  });
  await close(server);
  assert.ok(run.outcome === 'ready');
  const lag = run.readyAt - openedAt;
  assert.ok(lag >= 0 && lag < 100, `detected ${lag.toFixed(1)} ms after the port opened`);
  assert.match(run.results[0]!.lastError!, /ECONNREFUSED/);
  assert.ok(run.results[0]!.attempts > 5);
});

let connections = 0;
let requests = 0;
/** Requests served per connection: a kept-alive socket reused by a probe would show 2. */
let maxRequestsPerConnection = 0;
const perConnection = new WeakMap<object, number>();
let http: HttpServer;
let httpPort: number;
before(async () => {
  http = createHttpServer((req, res) => {
    requests++;
    const n = (perConnection.get(req.socket) ?? 0) + 1;
    perConnection.set(req.socket, n);
    maxRequestsPerConnection = Math.max(maxRequestsPerConnection, n);
    // 500 for the first three requests, then 200: the "server up, app not ready" case.
    if (req.url === '/flaky' && requests <= 3) res.writeHead(500).end('not yet');
    else if (req.url === '/redirect') res.writeHead(302, { location: '/elsewhere' }).end();
    else if (req.url === '/missing') res.writeHead(404).end();
    else res.writeHead(200).end('ok');
  });
  http.on('connection', () => { connections++; });
  httpPort = await listen(http);
});
after(() => close(http));

test('http: 500 is a failure with the status; probing goes on until 200', async () => {
  requests = 0;
  connections = 0;
  maxRequestsPerConnection = 0;
  const run = await runProber({
    targets: [parseTarget(`http://127.0.0.1:${httpPort}/flaky`)], schedule: fast, attemptTimeoutMs: 1_000, maxInFlight: 8,
    deadline: systemClock.now() + 5_000, clock: systemClock, probe: probeOnce,
  });
  assert.ok(run.outcome === 'ready');
  const r = run.results[0]!;
  assert.equal(r.lastError, `HTTP 500 from http://127.0.0.1:${httpPort}/flaky`);
  assert.ok(r.attempts >= 4);
  // A fresh connection for every attempt: never a kept-alive socket. (Attempts still connecting
  // when success came are abandoned, so there may be more connections than requests.)
  assert.equal(maxRequestsPerConnection, 1);
  assert.ok(connections >= requests);
});

test('http: 3xx counts as success (not followed), 4xx does not', async () => {
  await probeOnce(parseTarget(`http://127.0.0.1:${httpPort}/redirect`), opts());
  await assert.rejects(probeOnce(parseTarget(`http://127.0.0.1:${httpPort}/missing`), opts()), /HTTP 404/);
});

test('http: what a server sends is read as far as its final status line, whatever the chunks', async () => {
  // Raw servers: each answers the request with these writes, 5 ms apart, then closes.
  const answering = async (writes: string[]) => {
    let request = '';
    const server = createTcpServer((s) => {
      s.once('data', async (d: Buffer) => {
        request = d.toString('latin1');
        for (const w of writes) { s.write(w); await new Promise((r) => setTimeout(r, 5)); }
        s.end();
      });
    });
    const port = await listen(server);
    const target = parseTarget(`http://127.0.0.1:${port}/ready?x=1`);
    const outcome = await probeOnce(target, opts()).then(() => 'ok', (e: Error) => e.message);
    await close(server);
    return { outcome, request, port };
  };
  const split = await answering(['HTTP/1.1 2', '04 No Content\r\n\r\n']);
  assert.equal(split.outcome, 'ok');
  // The request the kubelet's probe would send: its path and query, Host with the port, and a close.
  assert.equal(split.request, `GET /ready?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${split.port}\r\nUser-Agent: dpready-reporter\r\nConnection: close\r\n\r\n`);
  assert.match((await answering(['HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n', 'HTTP/1.1 503 Busy\r\n\r\n'])).outcome, /^HTTP 503 from http:\/\/127\.0\.0\.1:\d+\/ready\?x=1$/);
  assert.match((await answering(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n'])).outcome, /^ok$/);
  assert.match((await answering(['SSH-2.0-OpenSSH_9.2\r\n'])).outcome, /^not an HTTP\/1\.1 response from http:\/\/127\.0\.0\.1:\d+\/ready\?x=1: "SSH-2\.0-OpenSSH_9\.2\\r"$/);
  assert.match((await answering(['HTTP/1.1 20'])).outcome, /closed the connection before an HTTP status line$/);
  assert.match((await answering([])).outcome, /closed the connection before an HTTP status line$/);
});

test('finalStatus: interim responses are skipped, a partial head asks for more, and a long non-answer is refused', () => {
  assert.equal(finalStatus('HTTP/1.1 200 OK\r\n', 't'), 200);
  assert.equal(finalStatus('HTTP/1.0 302\r\nLocation: /x\r\n', 't'), 302);
  assert.equal(finalStatus('HTTP/1.1 200 OK', 't'), undefined);
  assert.equal(finalStatus('HTTP/1.1 100 Continue\r\n', 't'), undefined);
  assert.equal(finalStatus('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n', 't'), 404);
  assert.throws(() => finalStatus('HTTP/2 200\r\n', 't'), /not an HTTP\/1\.1 response from t/);
  assert.throws(() => finalStatus('x'.repeat(16 * 1024), 't'), /no HTTP status line in the first 16384 bytes from t/);
});

test('an attempt is aborted by its signal', async () => {
  // A listener that accepts TCP but never answers HTTP.
  const mute = createTcpServer((s) => s.resume());
  const port = await listen(mute);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('no answer within 50 ms')), 50);
  const t0 = systemClock.now();
  let connected = 0;
  await assert.rejects(probeOnce(parseTarget(`http://127.0.0.1:${port}/`), { signal: ac.signal, now: systemClock.now, onConnected: () => connected++ }), /no answer within 50 ms/);
  assert.ok(systemClock.now() - t0 < 500);
  // The connection came up, only the answer did not: the prober would have let it run to its timeout.
  assert.equal(connected, 1);
  await close(mute);
});

test('http: holdRequestMs keeps the request until that long after the SYN; rttMs leaves the hold out', async (t) => {
  // A raw server that notes when each connection came and when its request did.
  const seen: Array<{ accepted: number; request?: number }> = [];
  const server = createTcpServer((s) => {
    const c: { accepted: number; request?: number } = { accepted: systemClock.now() };
    seen.push(c);
    s.once('data', () => { c.request = systemClock.now(); s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'); });
    s.on('error', () => {});
  });
  t.after(() => close(server));
  const port = await listen(server);
  const ok = await probeOnce(parseTarget(`http://127.0.0.1:${port}/`), opts({ holdRequestMs: 60 }));
  assert.equal(seen.length, 1);
  const c = seen[0]!;
  // The timer fires no earlier than asked, less node's whole-millisecond rounding.
  assert.ok(c.request! - ok.sentAt >= 59, `request ${c.request! - ok.sentAt} ms after the SYN`);
  assert.ok(ok.doneAt - ok.sentAt >= 59);
  assert.ok(ok.rttMs < ok.doneAt - ok.sentAt - 50, `rttMs ${ok.rttMs} should leave the ${ok.doneAt - ok.sentAt} ms hold out`);
  // Without a hold the request follows the connection at once.
  seen.length = 0;
  const now = await probeOnce(parseTarget(`http://127.0.0.1:${port}/`), opts());
  assert.ok(seen[0]!.request! - now.sentAt < 50, `unheld request ${seen[0]!.request! - now.sentAt} ms after the SYN`);
});

test('http: a connection reset during the hold fails the attempt with its error once the hold is over, and a stop during it ends it at once', async (t) => {
  // Reset once the connection is well up (at once, the reset can beat the connect's own completion).
  const resetting = createTcpServer((s) => { setTimeout(() => s.resetAndDestroy(), 30); });
  t.after(() => close(resetting));
  const port = await listen(resetting);
  let connectedAt = 0;
  // Nothing reads the connection in the hold (probes.ts: no Socket until the request): the
  // request meets the reset.
  await assert.rejects(probeOnce(parseTarget(`http://127.0.0.1:${port}/`), opts({ holdRequestMs: 200, onConnected: () => { connectedAt = systemClock.now(); } })), /ECONNRESET|EPIPE/);
  assert.ok(connectedAt > 0, 'the reset came after the connection was up');

  const mute = createTcpServer((s) => s.resume());
  t.after(() => close(mute));
  const mutePort = await listen(mute);
  const ac = new AbortController();
  const t1 = systemClock.now();
  const attempt = probeOnce(parseTarget(`http://127.0.0.1:${mutePort}/`), opts({ signal: ac.signal, holdRequestMs: 5_000, onConnected: () => setTimeout(() => ac.abort(new Error('stopped in the hold')), 20) }));
  await assert.rejects(attempt, /stopped in the hold/);
  assert.ok(systemClock.now() - t1 < 1_000, 'the stop ends the hold, not its timer');
});

/** A self-signed certificate for 127.0.0.1 and localhost, as `openssl req -x509` makes one, signed by node-forge (no CLI needed). */
function selfSigned(): { cert: string; key: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const c = forge.pki.createCertificate();
  c.publicKey = forge.pki.publicKeyFromPem(publicKey);
  c.serialNumber = '01';
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: 'localhost' }];
  c.setSubject(subject);
  c.setIssuer(subject);
  c.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }]);
  c.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c), key: privateKey };
}

test('https with a self-signed certificate: CA bundle, insecure option, and neither', async () => {
  const { cert, key } = selfSigned();
  const server = createHttpsServer({ key, cert }, (_req, res) => res.writeHead(204).end());
  const port = await listen(server);
  const target = parseTarget(`https://127.0.0.1:${port}/healthz`);
  try {
    await assert.rejects(probeOnce(target, opts()), /self-signed certificate/);
    await probeOnce(target, opts({ ca: cert }));
    await probeOnce(target, opts({ insecureSkipVerify: true }));
  } finally {
    await close(server);
  }
});

test('dns: a name that resolves succeeds', async () => {
  // "localhost" comes from /etc/hosts through getaddrinfo: no packet leaves the machine.
  // (No negative case: any unresolvable name would be sent to the configured name server.)
  await probeOnce(parseTarget('dns://localhost'), opts());
});

test('a host name: sentAt is when the connection was asked for, after the lookup; rttMs includes the lookup', async () => {
  // A lookup that takes 30 ms, standing in for a busy name server: getaddrinfo is reached
  // through this module object, so replacing its lookup is seen by the probe.
  const dns = process.getBuiltinModule('node:dns/promises');
  const lookup = dns.lookup;
  dns.lookup = (async () => {
    await new Promise((r) => setTimeout(r, 30));
    return [{ address: '127.0.0.1', family: 4 }];
  }) as unknown as typeof dns.lookup;
  const tcp = createTcpServer((s) => s.end());
  const web = createHttpServer((_req, res) => res.end('ok'));
  try {
    const tcpPort = await listen(tcp);
    const webPort = await listen(web);
    for (const raw of [`slow-name.test:${tcpPort}`, `http://slow-name.test:${webPort}/`]) {
      const t0 = systemClock.now();
      const ok = await probeOnce(parseTarget(raw), opts());
      assert.ok(ok.sentAt - t0 >= 28, `${raw}: sent ${ok.sentAt - t0} ms after the attempt began`);
      assert.ok(ok.doneAt >= ok.sentAt, raw);
      assert.ok(ok.rttMs >= ok.sentAt - t0 - 1, `${raw}: rtt ${ok.rttMs}`);
    }
    // A DNS target's packet is the query itself: sent when the attempt began.
    const t0 = systemClock.now();
    const ok = await probeOnce(parseTarget('dns://slow-name.test'), opts());
    assert.ok(ok.sentAt - t0 < 5, `dns: sent ${ok.sentAt - t0} ms after the attempt began`);
    assert.ok(ok.doneAt - ok.sentAt >= 28);
  } finally {
    dns.lookup = lookup;
    await close(tcp);
    await close(web);
  }
});

test('the system clock: a sleep with no end waits for its signal only (setTimeout would turn Infinity into 1 ms)', async () => {
  const stop = new AbortController();
  let woke = false;
  const sleeping = systemClock.sleep(Infinity, stop.signal).then(() => { woke = true; });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(woke, false);
  stop.abort();
  await sleeping;
  assert.equal(woke, true);
});
