// CA rotation seen by a TLS client whose trust was fixed before it (an injected reporter's
// DPREADY_REPORT_CA is fixed at its pod's admission): real handshakes on loopback.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import { test } from 'node:test';
import { Agent, fetch } from 'undici';
import { CA_LIFETIME_MS, renew, renewalNeeded, splitPem } from '../../src/webhook/certs.ts';

const NAMES = ['127.0.0.1', 'dpready-webhook.dpready-system.svc'];

async function serve(cert: string, key: string): Promise<{ server: Server; url: string }> {
  const server = createServer({ cert, key }, (_req, res) => res.end('ok')).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `https://127.0.0.1:${(server.address() as { port: number }).port}/` };
}

async function status(url: string, ca: string): Promise<string> {
  const agent = new Agent({ connect: { ca } });
  try { return String((await fetch(url, { dispatcher: agent })).status); } catch (err) { return String((err as { cause?: { code?: string } }).cause?.code ?? err); } finally { await agent.close(); }
}

test('after a CA rotation, a client that trusts only the previous CA still verifies the server (cross-signed chain); a new client trusts the new CA', async () => {
  const now = Date.now();
  // A CA near the end of its life, and the bundle a reporter admitted then would have kept.
  const before = renew(renew(undefined, 'ca', NAMES, now - CA_LIFETIME_MS * 0.8), 'serving', NAMES, now);
  assert.equal(renewalNeeded(before, NAMES, now), 'ca');
  const after = renew(before, 'ca', NAMES, now);
  assert.equal(splitPem(after.caBundle).length, 2);
  const { server, url } = await serve(after.tlsCert, after.tlsKey);
  try {
    assert.equal(await status(url, before.caBundle), '200', 'a reporter admitted before the rotation');
    assert.equal(await status(url, after.caBundle), '200', 'a reporter admitted after it');
    assert.equal(await status(url, after.caCert), '200', 'the new CA alone');
  } finally {
    server.close();
  }
  // The next serving certificate from the same CA keeps the bridge, while the previous CA lives.
  const later = renew(after, 'serving', NAMES, now + 1_000);
  assert.equal(splitPem(later.tlsCert).length, 2);
  const s2 = await serve(later.tlsCert, later.tlsKey);
  try { assert.equal(await status(s2.url, before.caBundle), '200'); } finally { s2.server.close(); }
  // Its bridge is the new CA's key signed by the previous CA, and expires with it.
  const bridge = new X509Certificate(splitPem(after.tlsCert)[1]!);
  assert.ok(bridge.verify(new X509Certificate(before.caCert).publicKey));
  assert.equal(bridge.validTo, new X509Certificate(before.caCert).validTo);
});

test('IPv6 names are compared in canonical form: a certificate for ::1 does not need renewing at every sync', () => {
  const names = ['::1', 'dpready-webhook.dpready-system.svc'];
  const b = renew(undefined, 'ca', names, Date.now());
  assert.equal(renewalNeeded(b, names, Date.now()), 'none');
  assert.equal(renewalNeeded(b, ['0:0::1', 'DPREADY-WEBHOOK.dpready-system.svc'], Date.now()), 'none');
  assert.equal(renewalNeeded(b, ['::2'], Date.now()), 'serving');
});
