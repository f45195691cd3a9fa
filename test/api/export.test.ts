import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/api/app.ts';
import { csvField, CSV_COLUMNS } from '../../src/api/export.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { NO_PODS } from '../../src/api/pod-source.ts';
import { result } from './fixtures.ts';

function index(): ResultIndex {
  const idx = new ResultIndex();
  idx.upsert(result({ ns: 'perf', name: 'b', start: 20, dp: 250.5, labels: { app: 'web', tier: 'x' } }));
  idx.upsert(result({ ns: 'perf', name: 'a', start: 10, dp: 100, labels: { app: 'web' } }));
  idx.upsert(result({ ns: 'other', name: 'c', start: 30, outcome: 'Failed', reason: 'ReporterFailed', message: 'no answer, "x"\nthen gave up', labels: { app: 'db' } }));
  idx.markSynced();
  return idx;
}

describe('GET /api/v1/results', () => {
  it('streams every selected result as NDJSON by namespace, name, latencies null when not measured', async () => {
    const app = await buildApp({ results: index(), pods: NO_PODS, registry: new Registry(), isReady: () => true });
    const res = await app.inject({ url: '/api/v1/results' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
    const lines = res.body.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => `${l.namespace}/${l.name}`), ['other/c', 'perf/a', 'perf/b']);
    assert.deepEqual([lines[0].latDpReadyMs, lines[0].latStartMs, lines[0].outcome, lines[0].reason], [null, 30, 'Failed', 'ReporterFailed']);
    assert.deepEqual([lines[2].latDpReadyMs, lines[2].labels], [250.5, { app: 'web', tier: 'x' }]);
    assert.deepEqual(lines[2].phases, { scheduled: null, initialized: null, 'containers-ready': null, 'datapath-ready': null, ready: null,
      'reporter-start': 20, 'reporter-ready': 250.5, 'policy-enforced': null, 'policy-after-datapath': null, 'ready-without-datapath': null });
    const web = await app.inject({ url: '/api/v1/results?labelSelector=app%3Dweb&namespace=perf&format=ndjson' });
    assert.equal(web.body.trimEnd().split('\n').length, 2);
    await app.close();
  });

  it('streams CSV with a header line and RFC 4180 quoting', async () => {
    const app = await buildApp({ results: index(), pods: NO_PODS, registry: new Registry(), isReady: () => true });
    const res = await app.inject({ url: '/api/v1/results?format=csv' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    const rows = res.body.split('\r\n');
    assert.equal(rows[0], CSV_COLUMNS.join(','));
    // … latStartMs 30, no datapath, no receive; phases: only reporter-start (30) is known.
    assert.match(rows[1]!, /^other,c,uid-other-c,node-1,Failed,ReporterFailed,2025-03-01T12:00:00.000Z,2025-03-01T12:00:00.030Z,,30,,,,,,,,,,,30,,,,,"no answer, ""x""\nthen gave up",app=db$/);
    assert.equal(rows[0]!.split(',').slice(13, 15).join(','), 'policyEnforcedTs,latPolicyMs');
    assert.equal(rows[0]!.split(',').slice(15, 25).join(','),
      'phase:scheduled,phase:initialized,phase:containers-ready,phase:datapath-ready,phase:ready,phase:reporter-start,phase:reporter-ready,phase:policy-enforced,phase:policy-after-datapath,phase:ready-without-datapath');
    assert.match(rows[3]!, /,250\.5,,,,,,,,,,20,250\.5,,,,,"app=web,tier=x"$/);
    assert.equal(rows.at(-1), '');
    await app.close();
  });

  it('answers a bad format or filter with a JSON 400 naming it, and 503 before the caches synced', async () => {
    const app = await buildApp({ results: index(), pods: NO_PODS, registry: new Registry(), isReady: () => true });
    for (const [q, parameter] of [['format=xml', 'format'], ['topN=5', 'topN'], ['labelSelector=a%20b', 'labelSelector']]) {
      const res = await app.inject({ url: `/api/v1/results?${q}` });
      assert.equal(res.statusCode, 400, q);
      assert.equal(res.json().parameter, parameter);
    }
    await app.close();
    const cold = await buildApp({ results: new ResultIndex(), pods: NO_PODS, registry: new Registry(), isReady: () => false });
    assert.equal((await cold.inject({ url: '/api/v1/results' })).statusCode, 503);
    await cold.close();
  });

  it('csvField quotes only what needs it', () => {
    assert.deepEqual([csvField('plain'), csvField('a,b'), csvField('say "hi"'), csvField(null), csvField(12.5)], ['plain', '"a,b"', '"say ""hi"""', '', '12.5']);
  });
});
