// The compatibility checks of test/compat/ (Go types of the existing system, and its pipelines'
// jq extractions) against the real API app serving fixture data with fractional latencies,
// and against a server answering in dpready 0.1's shapes, which they must reject.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ResultIndex } from '../../src/api/result-index.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { runGoCompat, runPipeline } from '../support/compat.ts';
import { pod, podSource, result } from './fixtures.ts';

const GROUP = { podgroup: 'deployment-churn' };
const QUERY = 'topN=10&labelSelector=podgroup=deployment-churn';

describe('the existing system\'s clients against dpready', { timeout: 5 * 60_000 }, () => {
  let api: ApiServer;
  before(async () => {
    const idx = new ResultIndex();
    // Interpolated percentiles of these are fractional (e.g. p90 = 905.3): the wire must carry integers.
    for (const [i, v] of [100.4, 250.5, 333.3, 812.9, 1000.1].entries()) idx.upsert(result({ ns: 'perf', name: `ok-${i}`, start: v / 3, dp: v, labels: GROUP }));
    idx.upsert(result({ ns: 'perf', name: 'gave-up', start: 12.5, outcome: 'Failed', reason: 'ReporterFailed', labels: GROUP }));
    idx.upsert(result({ ns: 'perf', name: 'other', dp: 5, labels: { podgroup: 'else' } }));
    idx.markSynced();
    const pods = podSource([
      pod({ ns: 'perf', name: 'ok-0', labels: GROUP }),
      pod({ ns: 'perf', name: 'gave-up', labels: GROUP }),
      pod({ ns: 'perf', name: 'stuck', phase: 'Pending', reason: 'Unschedulable', message: '0/3 nodes are available', labels: GROUP }),
      pod({ ns: 'perf', name: 'job', phase: 'Succeeded', labels: GROUP }),
    ]);
    api = await startApiServer({ listen: '127.0.0.1:0', results: idx, pods, registry: new Registry(), isReady: () => true });
  });
  after(() => api?.close());

  it('a Go program with the existing response types decodes all three routes', async () => {
    const r = await runGoCompat(api.url, QUERY);
    assert.equal(r.code, 0, r.stderr);
    const decoded = JSON.parse(r.stdout);
    assert.equal(decoded['time-to-datapath-ready'].count, 5);
    assert.deepEqual([decoded['time-to-datapath-ready'].p50, decoded['time-to-datapath-ready'].p90], [333, 925]);
    assert.equal(decoded['time-to-datapath-ready'].worstPods[0].value, 1000);
    assert.deepEqual(decoded['time-to-start'].failedPods, []);
    assert.deepEqual(decoded['time-to-datapath-ready'].failedPods.map((f: { name: string }) => f.name), ['gave-up']);
    const h = decoded['pod-health'];
    assert.deepEqual([h.desiredReplicas, h.runningPods, h.pendingPods, h.failedPods, h.successPct], [4, 2, 1, 0, 75]);
    assert.deepEqual(h.pendingPodList, [{ namespace: 'perf', name: 'stuck', uid: 'uid-perf-stuck', nodeName: 'node-1', phase: 'Pending', reason: 'Unschedulable', message: '0/3 nodes are available' }]);
  });

  it('the pipeline\'s jq extractions find every figure, non-null and of the existing type', async () => {
    const out = join(tmpdir(), `dpready-compat-${process.pid}.json`);
    const r = await runPipeline(api.url, 'podgroup=deployment-churn', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pod-health \{"desiredReplicas":4,"runningPods":2,"pendingPods":1,"failedPods":0,"successPct":75\}/);
    const merged = JSON.parse(await readFile(out, 'utf8'));
    assert.deepEqual(Object.keys(merged), ['time-to-start', 'time-to-datapath-ready', 'pod-health']);
  });
});

describe('the checks fail on answers the existing clients could not use', { timeout: 5 * 60_000 }, () => {
  let server: Server;
  let url = '';
  // dpready 0.1's answers: fractional percentiles, pod-health's pendingPods/failedPods as arrays, no topN there.
  const old = {
    time: { metric: 'time-to-start', unit: 'ms', count: 2, totalSuccessful: 2, totalFailed: 0, p50: 450.5, p90: 490.1, p99: 499.01,
      worstPods: [{ namespace: 'a', name: 'b', uid: 'u', nodeName: 'n', createdAt: '', measuredTs: '', value: 500.2 }], failedPods: [] },
    health: { desired: 1, running: 1, pending: 0, failed: 0, succeeded: 1, successPct: 100, pendingPods: [], failedPods: [] },
  };
  before(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url?.startsWith('/api/v1/pod-health') ? old.health : old.time));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('the Go program rejects a fractional int64 and an array where a count was', async () => {
    const r = await runGoCompat(url, QUERY);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /time-to-start: decoding .*cannot unmarshal number 450\.5/);
    assert.match(r.stderr, /pod-health: decoding .*cannot unmarshal array into Go struct field PodHealthResponse\.pendingPods of type int/);
  });

  it('the pipeline script names the figure that is not an integer', async () => {
    const r = await runPipeline(url, 'podgroup=deployment-churn', join(tmpdir(), `dpready-compat-old-${process.pid}.json`));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /start: a figure is null or not an integer: .*"p50":450\.5/);
  });
});
