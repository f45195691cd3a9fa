import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type AppDeps } from '../../src/api/app.ts';
import { NO_PODS } from '../../src/api/pod-source.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { pod, podSource, result, T0 } from './fixtures.ts';

const NOW = T0 + 2 * 3_600_000;

function seededIndex(): ResultIndex {
  const idx = new ResultIndex();
  idx.upsert(result({ ns: 'perf', name: 'a', start: 100, dp: 1000, labels: { app: 'web', tier: 'front' } }));
  idx.upsert(result({ ns: 'perf', name: 'b', start: 200, dp: 2000, labels: { app: 'web', tier: 'back' } }));
  idx.upsert(result({ ns: 'perf', name: 'c', start: 300, dp: 3000, labels: { app: 'db' }, createdAtMs: T0 + 3_600_000 }));
  idx.upsert(result({ ns: 'other', name: 'd', start: 400, outcome: 'TimedOut', reason: 'DatapathTimeout', message: 'no answer from 10.0.0.1:80 in 5m', labels: { app: 'web' } }));
  idx.markSynced();
  return idx;
}

const pods = podSource([
  pod({ ns: 'perf', name: 'a', labels: { app: 'web', tier: 'front' } }),
  pod({ ns: 'other', name: 'd', labels: { app: 'web' } }),
  pod({ ns: 'perf', name: 'waiting', phase: 'Pending', reason: 'AwaitingReporter', message: 'no reporter annotation yet', labels: { app: 'web' } }),
  pod({ ns: 'perf', name: 'crashed', phase: 'Failed', reason: 'Error', message: 'container exited 1', labels: { app: 'web' } }),
]);

async function app(overrides: Partial<AppDeps> = {}): Promise<FastifyInstance> {
  return buildApp({ results: seededIndex(), pods, registry: new Registry(), isReady: () => true, now: () => NOW, ...overrides });
}

async function get(a: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  const res = await a.inject({ method: 'GET', url, headers });
  const json = res.headers['content-type']?.toString().startsWith('application/json') ? res.json() : undefined;
  return { status: res.statusCode, json, res };
}

// The existing system's fields, then ours. Order matters to nobody, the set matters to pipelines.
const COMPAT_FIELDS = ['metric', 'unit', 'count', 'totalSuccessful', 'totalFailed', 'p50', 'p90', 'p99', 'worstPods', 'failedPods'];
const ADDED_FIELDS = ['p95', 'min', 'max', 'mean', 'pending', 'timedOut', 'percentileMethod', 'failedPodsTruncated'];
const WORST_FIELDS = ['namespace', 'name', 'uid', 'nodeName', 'createdAt', 'measuredTs', 'value'];
const FAILED_FIELDS = ['namespace', 'name', 'uid', 'nodeName', 'reason', 'outcome', 'message'];

describe('time routes', () => {
  let a: FastifyInstance;
  before(async () => { a = await app(); });
  after(() => a.close());

  it('GET /api/v1/time-to-datapath-ready keeps the existing shape and adds only new fields', async () => {
    const { status, json } = await get(a, '/api/v1/time-to-datapath-ready');
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(json).sort(), [...COMPAT_FIELDS, ...ADDED_FIELDS].sort());
    assert.equal(json.metric, 'time-to-datapath-ready');
    assert.equal(json.unit, 'ms');
    for (const f of ['count', 'totalSuccessful', 'totalFailed', 'p50', 'p90', 'p99']) assert.equal(typeof json[f], 'number', f);
    assert.deepEqual(Object.keys(json.worstPods[0]).sort(), [...WORST_FIELDS].sort());
    assert.deepEqual(Object.keys(json.failedPods[0]).sort(), [...FAILED_FIELDS].sort());
    assert.deepEqual(
      { count: json.count, totalFailed: json.totalFailed, p50: json.p50, p90: json.p90, timedOut: json.timedOut, pending: json.pending },
      { count: 3, totalFailed: 1, p50: 2000, p90: 2800, timedOut: 1, pending: 1 },
    );
    assert.deepEqual(json.worstPods.map((p: { name: string }) => p.name), ['c', 'b', 'a']);
    assert.deepEqual(json.failedPods[0], {
      namespace: 'other', name: 'd', uid: 'uid-other-d', nodeName: 'node-1',
      reason: 'DatapathTimeout', outcome: 'TimedOut', message: 'no answer from 10.0.0.1:80 in 5m',
    });
    assert.equal(json.percentileMethod, 'linear-interpolation-r7');
  });

  it('GET /api/v1/time-to-start measures start, counting the timed-out pod (it did start)', async () => {
    const { status, json } = await get(a, '/api/v1/time-to-start?topN=1');
    assert.equal(status, 200);
    assert.equal(json.metric, 'time-to-start');
    assert.deepEqual([json.count, json.totalFailed, json.max], [4, 0, 400]);
    assert.deepEqual(json.worstPods.map((p: { name: string; value: number }) => [p.name, p.value]), [['d', 400]]);
    assert.deepEqual(json.failedPods, []);
  });

  it('applies namespace, labelSelector (full syntax), since/until and outcome', async () => {
    const names = async (q: string) => (await get(a, `/api/v1/time-to-start?${q}`)).json.worstPods.map((p: { name: string }) => p.name);
    assert.deepEqual(await names('namespace=other'), ['d']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('app in (web),tier!=back')}`), ['d', 'a']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('!tier')}`), ['d', 'c']);
    assert.deepEqual(await names('since=90m'), ['c'], 'since as a duration counts back from the injected clock');
    assert.deepEqual(await names(`until=${encodeURIComponent('2025-03-01T12:30:00Z')}`), ['d', 'b', 'a']);
    assert.deepEqual(await names('outcome=TimedOut'), ['d']);
  });

  it('counts tracked pods without a result as pending, filtered like results', async () => {
    assert.equal((await get(a, '/api/v1/time-to-start?namespace=perf')).json.pending, 1);
    assert.equal((await get(a, '/api/v1/time-to-start?namespace=other')).json.pending, 0);
    assert.equal((await get(a, '/api/v1/time-to-start?labelSelector=app%3Ddb')).json.pending, 0);
    assert.equal((await get(a, '/api/v1/time-to-start?outcome=Succeeded')).json.pending, 0);
  });

  it('answers empty data with zeros and empty arrays', async () => {
    const empty = new ResultIndex();
    empty.markSynced();
    const e = await app({ results: empty, pods: NO_PODS });
    const { status, json } = await get(e, '/api/v1/time-to-datapath-ready');
    assert.equal(status, 200);
    assert.deepEqual([json.count, json.p50, json.p99, json.mean, json.pending], [0, 0, 0, 0, 0]);
    assert.deepEqual([json.worstPods, json.failedPods], [[], []]);
    await e.close();
  });
});

describe('bad input gets a 400 naming the parameter and the problem', () => {
  let a: FastifyInstance;
  before(async () => { a = await app(); });
  after(() => a.close());

  const cases: [string, string, RegExp][] = [
    ['topN=-1', 'topN', /whole number from 0 to 1000, got "-1"/],
    ['topN=abc', 'topN', /whole number/],
    ['topN=1001', 'topN', /from 0 to 1000/],
    ['topN=1.5', 'topN', /whole number/],
    ['topN=1e3', 'topN', /whole number/],
    ['topN=', 'topN', /whole number/],
    ['topN=1&topN=2', 'topN', /expected string/],
    ['labelSelector=a%3D%3D%3Db', 'labelSelector', /found "=".*position 3/],
    ['labelSelector=app%20in%20()', 'labelSelector', /at least one value/],
    [`labelSelector=${'a'.repeat(5000)}`, 'labelSelector', /at most 4096/],
    ['labelSelector=%00', 'labelSelector', /invalid key/],
    ['since=yesterday', 'since', /RFC3339.*got "yesterday"/],
    ['since=-1h', 'since', /RFC3339/],
    ['since=2025-13-01T00:00:00Z', 'since', /RFC3339/],
    ['until=5', 'until', /RFC3339/],
    ['since=1h&until=2h', 'until', /later than since/],
    ['outcome=Passed', 'outcome', /Succeeded/],
    ['namespace=Not_A_Namespace', 'namespace', /namespace name/],
    ['labelselector=app%3Dweb', 'labelselector', /unknown parameter/],
    ['foo=1', 'foo', /unknown parameter/],
  ];
  for (const route of ['/api/v1/time-to-start', '/api/v1/time-to-datapath-ready']) {
    for (const [q, parameter, problem] of cases) {
      it(`${route}?${q.slice(0, 40)}`, async () => {
        const { status, json } = await get(a, `${route}?${q}`);
        assert.equal(status, 400);
        assert.equal(json.code, 'DPR_BAD_QUERY');
        assert.equal(json.parameter, parameter);
        assert.match(json.problem, problem);
        assert.match(json.message, new RegExp(`^${parameter}: `));
        assert.ok(Array.isArray(json.problems) && json.problems.length >= 1);
      });
    }
  }

  it('answers hostile query strings with a 400, never a 500', async () => {
    for (const q of ['__proto__=1', 'constructor=1', 'topN[]=1', 'labelSelector=%E0%A4%A', 'topN=%00', '%zz=1', 'topN=99999999999999999999', 'namespace=']) {
      const { status, json } = await get(a, `/api/v1/time-to-start?${q}`);
      assert.equal(status, 400, q);
      assert.equal(typeof json.parameter, 'string', q);
    }
    const badUrl = await get(a, '/api/v1/time-to-start/%');
    assert.equal(badUrl.status, 400);
  });

  it('lists every problem when there are several', async () => {
    const { json } = await get(a, '/api/v1/time-to-start?topN=-5&bogus=1&since=x');
    assert.deepEqual(json.problems.map((p: { parameter: string }) => p.parameter).sort(), ['bogus', 'since', 'topN']);
  });

  it('pod-health validates the same filters, and topN as on the time routes', async () => {
    for (const [q, parameter] of [['topN=-1', 'topN'], ['topN=1001', 'topN'], ['topn=5', 'topn'], ['labelSelector=a%20b', 'labelSelector'], ['since=soon', 'since']]) {
      const { status, json } = await get(a, `/api/v1/pod-health?${q}`);
      assert.equal(status, 400, q);
      assert.equal(json.parameter, parameter);
    }
  });
});

// The existing system's pod-health fields, then ours.
const HEALTH_COMPAT_FIELDS = ['namespace', 'labelSelector', 'desiredReplicas', 'runningPods', 'pendingPods', 'failedPods', 'successPct', 'pendingPodList', 'failedPodList'];
const HEALTH_ADDED_FIELDS = ['succeededPods', 'phases', 'desired', 'running', 'pending', 'failed', 'succeeded', 'datapathSuccessPct',
  'datapathFailedPodList', 'pendingPodsTruncated', 'failedPodsTruncated', 'datapathFailedPodListTruncated',
  'datapathPendingPodList', 'datapathPendingPodListTruncated'];

describe('GET /api/v1/pod-health', () => {
  const healthPods = podSource([
    pod({ ns: 'perf', name: 'a', labels: { app: 'web', tier: 'front' } }),
    pod({ ns: 'other', name: 'd', labels: { app: 'web' } }),
    pod({ ns: 'perf', name: 'waiting', phase: 'Pending', reason: 'Unschedulable', message: '0/3 nodes are available', labels: { app: 'web' } }),
    pod({ ns: 'perf', name: 'pulling', phase: 'Pending', reason: 'ImagePullBackOff', message: 'app: Back-off pulling image "x"', labels: { app: 'web' } }),
    pod({ ns: 'perf', name: 'crashed', phase: 'Failed', reason: 'Error', message: 'container exited 1', labels: { app: 'web' } }),
    pod({ ns: 'perf', name: 'job-done', phase: 'Succeeded', labels: { app: 'job' } }),
  ]);

  it('keeps the existing system\'s fields and types: counts by phase, lists of the pods counted, Succeeded not failed', async () => {
    const a = await app({ pods: healthPods });
    const { status, json } = await get(a, '/api/v1/pod-health');
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(json).sort(), [...HEALTH_COMPAT_FIELDS, ...HEALTH_ADDED_FIELDS].sort());
    assert.deepEqual(
      { desiredReplicas: json.desiredReplicas, runningPods: json.runningPods, pendingPods: json.pendingPods, failedPods: json.failedPods, successPct: json.successPct },
      // (2 running + 1 succeeded) / 6
      { desiredReplicas: 6, runningPods: 2, pendingPods: 2, failedPods: 1, successPct: 50 },
    );
    assert.deepEqual([json.namespace, json.labelSelector, json.succeededPods], ['', '', 1]);
    assert.deepEqual(json.phases, { Pending: 2, Running: 2, Succeeded: 1, Failed: 1, Unknown: 0 });
    assert.deepEqual(json.pendingPodList, [
      { namespace: 'perf', name: 'pulling', uid: 'uid-perf-pulling', nodeName: 'node-1', phase: 'Pending', reason: 'ImagePullBackOff', message: 'app: Back-off pulling image "x"', outcome: '' },
      { namespace: 'perf', name: 'waiting', uid: 'uid-perf-waiting', nodeName: 'node-1', phase: 'Pending', reason: 'Unschedulable', message: '0/3 nodes are available', outcome: '' },
    ]);
    assert.deepEqual(json.failedPodList.map((p: { name: string; reason: string; phase: string }) => [p.reason, p.name, p.phase]), [['Error', 'crashed', 'Failed']]);
    // dpready's datapath view: d timed out, a succeeded, the pending and the finished pod have no result.
    assert.deepEqual(
      { desired: json.desired, running: json.running, pending: json.pending, failed: json.failed, succeeded: json.succeeded, datapathSuccessPct: json.datapathSuccessPct },
      { desired: 6, running: 2, pending: 3, failed: 2, succeeded: 1, datapathSuccessPct: 16.67 },
    );
    assert.deepEqual(json.datapathFailedPodList.map((p: { name: string; reason: string; outcome: string }) => [p.reason, p.name, p.outcome]), [['DatapathTimeout', 'd', 'TimedOut']]);
    await a.close();
  });

  it('echoes the filters, bounds every list by topN and says when a list is cut', async () => {
    const a = await app({ pods: healthPods });
    const { json } = await get(a, '/api/v1/pod-health?topN=1&labelSelector=app%3Dweb&namespace=perf');
    assert.deepEqual([json.namespace, json.labelSelector], ['perf', 'app=web']);
    assert.deepEqual([json.desiredReplicas, json.pendingPods, json.pendingPodList.length, json.pendingPodsTruncated, json.failedPodsTruncated], [4, 2, 1, true, false]);
    const none = (await get(a, '/api/v1/pod-health?topN=0')).json;
    assert.deepEqual([none.pendingPodList, none.failedPodList, none.datapathFailedPodList, none.pendingPods], [[], [], [], 2]);
    const empty = (await get(a, '/api/v1/pod-health?labelSelector=nothing')).json;
    assert.deepEqual([empty.desiredReplicas, empty.successPct, empty.pendingPodList], [0, 0, []]);
    await a.close();
  });
});

describe('operational routes', () => {
  it('/healthz is 200; /readyz and the data routes are 503 until the caches have synced', async () => {
    let ready = false;
    const a = await app({ isReady: () => ready });
    assert.equal((await get(a, '/healthz')).status, 200);
    assert.deepEqual((await get(a, '/readyz')).status, 503);
    for (const route of ['/api/v1/time-to-start', '/api/v1/time-to-datapath-ready', '/api/v1/pod-health']) {
      const { status, json, res } = await get(a, route);
      assert.equal(status, 503, route);
      assert.equal(json.code, 'DPR_NOT_SYNCED');
      assert.equal(res.headers['retry-after'], '5');
    }
    ready = true;
    assert.deepEqual((await get(a, '/readyz')).json, { status: 'ok' });
    assert.equal((await get(a, '/api/v1/pod-health')).status, 200);
    await a.close();
  });

  it('/metrics serves the given registry in Prometheus text, with the API request histogram', async () => {
    const registry = new Registry();
    const a = await app({ registry });
    await get(a, '/api/v1/time-to-start');
    const res = await a.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type']!.toString(), /^text\/plain/);
    assert.match(res.body, /dpready_stats_api_request_duration_seconds_count\{route="\/api\/v1\/time-to-start",code="200"\} 1/);
    await a.close();
  });

  it('serves OpenAPI 3 generated from the zod schemas at /docs/json and the UI at /docs', async () => {
    const a = await app();
    const { status, json } = await get(a, '/docs/json');
    assert.equal(status, 200);
    assert.match(json.openapi, /^3\./);
    const op = json.paths['/api/v1/time-to-datapath-ready'].get;
    assert.deepEqual(op.parameters.map((p: { name: string }) => p.name).sort(), ['labelSelector', 'namespace', 'outcome', 'since', 'topN', 'until']);
    const props = op.responses['200'].content['application/json'].schema.properties;
    for (const f of [...COMPAT_FIELDS, ...ADDED_FIELDS]) assert.ok(props[f], `OpenAPI lacks ${f}`);
    assert.ok(json.paths['/api/v1/pod-health']);
    assert.ok(json.paths['/api/v1/phases']);
    assert.deepEqual(json.paths['/api/v1/results'].get.parameters.find((p: { name: string }) => p.name === 'format')?.schema?.enum, ['ndjson', 'csv']);
    let ui = await a.inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; ui.statusCode === 302 && hops < 3; hops++) {
      ui = await a.inject({ method: 'GET', url: new URL(ui.headers.location!.toString(), 'http://x/docs').pathname });
    }
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger-ui/i);
    await a.close();
  });

  it('unknown routes get a JSON 404; other methods on API routes a JSON 405', async () => {
    const a = await app();
    const nf = await get(a, '/api/v2/nothing');
    assert.equal(nf.status, 404);
    assert.deepEqual(Object.keys(nf.json).sort(), ['code', 'error', 'message', 'statusCode']);
    assert.equal(nf.json.code, 'DPR_NOT_FOUND');
    const head = await a.inject({ method: 'HEAD', url: '/api/v1/time-to-start' });
    assert.equal(head.statusCode, 200);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
      const res = await a.inject({ method, url: '/api/v1/time-to-start', payload: method === 'DELETE' ? undefined : '{}' });
      assert.equal(res.statusCode, 405, method);
      assert.equal(res.headers.allow, 'GET, HEAD');
      assert.equal(res.json().code, 'DPR_METHOD_NOT_ALLOWED');
    }
    await a.close();
  });
});

describe('bearer token', () => {
  let a: FastifyInstance;
  before(async () => { a = await app({ token: 's3cret-token' }); });
  after(() => a.close());

  it('protects data routes, /metrics and /docs', async () => {
    for (const url of ['/api/v1/time-to-start', '/api/v1/time-to-datapath-ready', '/api/v1/pod-health', '/metrics', '/docs/json', '/nothing']) {
      for (const authorization of [undefined, 'Bearer wrong', 'Bearer s3cret-token-longer', 'Basic czNjcmV0LXRva2Vu', 'Bearer ', 's3cret-token']) {
        const { status, json, res } = await get(a, url, authorization === undefined ? {} : { authorization });
        assert.equal(status, 401, `${url} with ${authorization}`);
        assert.equal(json.code, 'DPR_UNAUTHORIZED');
        assert.match(res.headers['www-authenticate']!.toString(), /^Bearer/);
      }
      const ok = await get(a, url, { authorization: 'Bearer s3cret-token' });
      assert.equal(ok.status, url === '/nothing' ? 404 : 200, url);
    }
  });

  it('leaves /healthz and /readyz open for kubelet probes', async () => {
    assert.equal((await get(a, '/healthz')).status, 200);
    assert.equal((await get(a, '/readyz')).status, 200);
  });
});

describe('answer reuse', () => {
  it('reuses an answer until results or pods change, and never for clock-relative windows', async () => {
    const results = seededIndex();
    const list = [pod({ ns: 'perf', name: 'w1', phase: 'Pending' })];
    let podVersion = 1;
    let now = NOW;
    const a = await app({ results, pods: { snapshot: () => list, version: () => podVersion }, now: () => now });
    const pending = async (q = '') => (await get(a, `/api/v1/time-to-start${q}`)).json.pending;
    assert.equal(await pending(), 1);
    list.push(pod({ ns: 'perf', name: 'w2', phase: 'Pending' }));
    assert.equal(await pending(), 1, 'same versions: the stored answer is served');
    podVersion++;
    assert.equal(await pending(), 2, 'pod store changed');
    results.upsert(result({ ns: 'perf', name: 'w1', start: 5, dp: 50 }));
    assert.equal(await pending(), 1, 'results changed');
    const count = async () => (await get(a, '/api/v1/time-to-start?since=1h')).json.count;
    assert.equal(await count(), 1);
    now += 3_600_000;
    assert.equal(await count(), 0, 'since=1h moved with the clock');
    // The cached body is the same JSON the serializer produces.
    const first = await a.inject({ url: '/api/v1/pod-health' });
    const second = await a.inject({ url: '/api/v1/pod-health' });
    assert.equal(second.body, first.body);
    assert.match(second.headers['content-type']!.toString(), /^application\/json/);
    await a.close();
  });
});
