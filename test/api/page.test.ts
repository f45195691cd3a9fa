import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/api/app.ts';
import { ResultIndex } from '../../src/api/result-index.ts';

async function app(token?: string) {
  return buildApp({ results: new ResultIndex(), pods: { snapshot: () => [] }, registry: new Registry(), isReady: () => true, ...(token ? { token } : {}) });
}

test('GET / serves the live page, open without the token, while the data it reads needs it', async () => {
  const a = await app('s3cret');
  const page = await a.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  assert.match(page.body, /<title>dpready · live<\/title>/);
  assert.equal((await a.inject({ method: 'GET', url: '/api/v1/time-to-datapath-ready' })).statusCode, 401);
  assert.equal((await a.inject({ method: 'POST', url: '/', headers: { authorization: 'Bearer s3cret' } })).statusCode, 405);
  await a.close();
});

test('the page is self-contained: no URL to elsewhere, relative API paths, a CSP that allows only its own inline blocks', async () => {
  const a = await app();
  const res = await a.inject({ method: 'GET', url: '/' });
  assert.doesNotMatch(res.body, /(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i, 'no absolute URL');
  assert.doesNotMatch(res.body, /<(script|link|img|iframe)[^>]+(src|href)=/i);
  // Relative: works behind kubectl port-forward and the API server's service proxy alike.
  assert.match(res.body, /get\('api\/v1\/time-to-datapath-ready'/);
  const csp = res.headers['content-security-policy'] as string;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
  const script = /<script>([\s\S]*)<\/script>/.exec(res.body)![1]!;
  const style = /<style>([\s\S]*?)<\/style>/.exec(res.body)![1]!;
  assert.ok(csp.includes(`script-src ${hash(script)}`), 'the inline script is the one the CSP allows');
  assert.ok(csp.includes(`style-src ${hash(style)}`));
  await a.close();
});
