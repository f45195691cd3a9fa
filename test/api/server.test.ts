import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { NO_PODS } from '../../src/api/pod-source.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { parseListen, startApiServer } from '../../src/api/server.ts';
import { isDpreadyError } from '../../src/errors.ts';
import { tempDir } from '../support/temp-dir.ts';

describe('parseListen', () => {
  it('reads the forms --listen accepts', () => {
    assert.deepEqual(parseListen(':8080'), { host: '', port: 8080 });
    assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
    assert.deepEqual(parseListen('localhost:80'), { host: 'localhost', port: 80 });
  });
  for (const bad of ['8080', ':', ':65536', 'a:b', '::1:80', '', 'host:80 ', ':-1']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseListen(bad), (err: unknown) => isDpreadyError(err, 'DPR_BAD_CONFIG') && /--listen/.test(err.message));
    });
  }
});

describe('startApiServer', () => {
  it('listens on loopback with the token from --api-token-file and the configured timeouts', async () => {
    const dir = tempDir('api');
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'tok-123\n');
    const results = new ResultIndex();
    results.markSynced();
    const srv = await startApiServer({
      listen: '127.0.0.1:0', tokenFile, results, pods: NO_PODS, registry: new Registry(), isReady: () => results.synced,
      timeouts: { requestTimeout: 7_000, keepAliveTimeout: 3_000 },
    });
    try {
      assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(srv.app.server.requestTimeout, 7_000);
      assert.equal(srv.app.server.keepAliveTimeout, 3_000);
      const denied = await request(`${srv.url}/api/v1/time-to-start`);
      assert.equal(denied.statusCode, 401);
      await denied.body.dump();
      const ok = await request(`${srv.url}/api/v1/time-to-start`, { headers: { authorization: 'Bearer tok-123' } });
      assert.equal(ok.statusCode, 200);
      assert.equal(((await ok.body.json()) as { count: number }).count, 0);
    } finally {
      await srv.close();
    }
  });

  it('refuses an empty token file and a port in use, naming the flag', async () => {
    const dir = tempDir('api');
    await writeFile(join(dir, 'empty'), '\n');
    const deps = { results: new ResultIndex(), pods: NO_PODS, registry: new Registry(), isReady: () => true };
    await assert.rejects(startApiServer({ ...deps, listen: '127.0.0.1:0', tokenFile: join(dir, 'empty') }), /--api-token-file/);
    await assert.rejects(startApiServer({ ...deps, listen: '127.0.0.1:0', tokenFile: join(dir, 'missing') }), /--api-token-file=.*cannot read/);
    const first = await startApiServer({ ...deps, listen: '127.0.0.1:0' });
    try {
      await assert.rejects(startApiServer({ ...deps, listen: `127.0.0.1:${new URL(first.url).port}`, registry: new Registry() }), /--listen=.*cannot listen/);
    } finally {
      await first.close();
    }
  });
});
