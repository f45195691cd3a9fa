import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import { REPORT_AUDIENCE } from '../../src/contract.ts';
import { bearerToken } from '../../src/webhook/server.ts';
import { expiryOf, TokenReviewer } from '../../src/webhook/token-reviews.ts';

const T0 = Date.parse('2026-12-04T12:00:00.000Z');
const jwt = (claims: object) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const bound: V1TokenReviewStatus = { authenticated: true, audiences: [REPORT_AUDIENCE], user: { username: 'system:serviceaccount:apps:web',
  extra: { 'authentication.kubernetes.io/pod-name': ['web-1'], 'authentication.kubernetes.io/pod-uid': ['u1'] } } };

function reviewer(answer: (token: string) => V1TokenReviewStatus | Promise<V1TokenReviewStatus>, maxConcurrent = 8) {
  const clock = { t: T0 };
  const calls: string[] = [];
  const r = new TokenReviewer({ audience: REPORT_AUDIENCE, now: () => clock.t, maxConcurrent, review: async (t) => { calls.push(t); return answer(t); } });
  return { r, clock, calls };
}

test('an accepted token is reviewed once and trusted until its own expiry', async () => {
  const token = jwt({ exp: T0 / 1000 + 600 });
  const { r, clock, calls } = reviewer(() => bound);
  assert.deepEqual(await r.review(token), { busy: false, cached: false, identity: { ok: true, pod: { namespace: 'apps', serviceAccount: 'web', name: 'web-1', uid: 'u1' } } });
  clock.t += 599_000;
  assert.equal(((await r.review(token)) as { cached: boolean }).cached, true);
  clock.t += 2_000;
  assert.equal(((await r.review(token)) as { cached: boolean }).cached, false);
  assert.equal(calls.length, 2);
  assert.equal(r.sent, 2);
});

test('a refused token stays refused for a short while without another review', async () => {
  const { r, clock, calls } = reviewer(() => ({ authenticated: false, error: 'invalid bearer token' }));
  const fake = jwt({ sub: 'x' });
  for (let i = 0; i < 100; i++) assert.equal(((await r.review(fake)) as { identity: { ok: boolean } }).identity.ok, false);
  assert.equal(calls.length, 1);
  clock.t += 10_001;
  await r.review(fake);
  assert.equal(calls.length, 2);
});

test('beyond maxConcurrent reviews in flight the caller is told to come back (429), not queued; one token in flight is reviewed once', async () => {
  const release: Array<() => void> = [];
  let hold = true;
  const { r, calls } = reviewer(() => (hold ? new Promise((res) => release.push(() => res(bound))) : bound), 2);
  const a = r.review(jwt({ n: 1 })), a2 = r.review(jwt({ n: 1 })), b = r.review(jwt({ n: 2 }));
  assert.deepEqual(await r.review(jwt({ n: 3 })), { busy: true });
  assert.equal(calls.length, 2);
  hold = false;
  for (const f of release) f();
  assert.equal(((await a) as { identity: { ok: boolean } }).identity.ok, true);
  assert.equal(((await a2) as { cached: boolean }).cached, true);
  assert.equal(((await b) as { busy: boolean }).busy, false);
  assert.equal(((await r.review(jwt({ n: 3 }))) as { busy: boolean }).busy, false);
});

test('an API failure is not cached: the next report asks again', async () => {
  let fail = true;
  const { r, calls } = reviewer(() => { if (fail) throw new Error('503'); return bound; });
  await assert.rejects(r.review(jwt({ n: 1 })), /503/);
  fail = false;
  assert.equal(((await r.review(jwt({ n: 1 }))) as { identity: { ok: boolean } }).identity.ok, true);
  assert.equal(calls.length, 2);
});

test('exp is read from the token; the Authorization header must be a bearer JWT before anything else is read', () => {
  assert.equal(expiryOf(jwt({ exp: 1_800_000_000 })), 1_800_000_000_000);
  assert.equal(expiryOf('garbage'), undefined);
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
  assert.equal(bearerToken(req(`Bearer ${jwt({ a: 1 })}`)), jwt({ a: 1 }));
  assert.equal(bearerToken(req()), undefined);
  assert.equal(bearerToken(req('Bearer x')), undefined);
  assert.equal(bearerToken(req('Basic dXNlcjpwYXNz')), undefined);
  assert.equal(bearerToken(req(`Bearer ${'a'.repeat(20_000)}.b.c`)), undefined);
});
