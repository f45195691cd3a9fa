import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { buildApp } from '../../src/api/app.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { main } from '../../src/api/stats-command.ts';
import { isDpreadyError } from '../../src/errors.ts';
import { pod, podSource, result } from './fixtures.ts';
import { tempDir } from '../support/temp-dir.ts';

function seeded(): ResultIndex {
  const idx = new ResultIndex();
  idx.upsert(result({ ns: 'perf', name: 'slow', start: 250, dp: 4500 }));
  idx.upsert(result({ ns: 'perf', name: 'fast', start: 120, dp: 800 }));
  idx.upsert(result({ ns: 'perf', name: 'lost', start: 90, outcome: 'TimedOut', reason: 'DatapathTimeout' }));
  idx.markSynced();
  return idx;
}
const deps = () => ({ results: seeded(), pods: podSource([pod({ ns: 'perf', name: 'waiting', phase: 'Pending' })]), registry: new Registry(), isReady: () => true });

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

describe('dpready stats --server', () => {
  let srv: ApiServer;
  let tokenFile: string;
  before(async () => {
    const dir = tempDir('stats');
    tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'abc\n');
    srv = await startApiServer({ ...deps(), listen: '127.0.0.1:0', tokenFile });
  });
  after(() => srv.close());

  it('prints both metrics, the worst pods and the failed pods as a table', async () => {
    const { code, out } = await run(['--server', srv.url, '--token-file', tokenFile]);
    assert.equal(code, 0);
    assert.match(out, /^METRIC\s+COUNT\s+FAILED\s+TIMEDOUT\s+PENDING\s+P50/m);
    assert.match(out, /^time-to-start\s+3\s+0\s+1\s+1\s+/m);
    assert.match(out, /^time-to-datapath-ready\s+2\s+1\s+1\s+1\s+/m);
    assert.match(out, /Worst pods, time-to-datapath-ready:\nNAMESPACE.*\nperf\s+slow\s+node-1\s+4\.5s/);
    assert.match(out, /Failed pods:\nNAMESPACE.*\nperf\s+lost\s+node-1\s+DatapathTimeout \(time-to-datapath-ready\)/);
    // Pod health too: the existing system's counts, then the pods to look at.
    assert.match(out, /Pod health:\nDESIRED\s+RUNNING\s+PENDING\s+FAILED\s+SUCCEEDED\s+SUCCESS%.*\n1\s+0\s+1\s+0\s+0\s+0%/);
    assert.match(out, /Pending pods:\nNAMESPACE.*\nperf\s+waiting\s+node-1\s+Pending/);
  });

  it('--threshold: exit 0 when every threshold holds, 1 listing each breach on stderr', async () => {
    const pass = await run(['--server', srv.url, '--token-file', tokenFile, '--threshold', 'time-to-datapath-ready.p99<5s', '--threshold', 'count>=2',
      '--threshold', 'time-to-datapath-receive.totalFailed==0']);
    assert.equal(pass.code, 0, pass.err);
    assert.match(pass.err, /thresholds: 3 passed, 0 breached/);
    const fail = await run(['--server', srv.url, '--token-file', tokenFile, '--output', 'json',
      '--threshold', 'time-to-datapath-ready.p99<2s', '--threshold', 'failed==0', '--threshold', 'time-to-start.max<=1s', '--threshold', 'pod-health.pendingPods==0']);
    assert.equal(fail.code, 1);
    assert.ok(JSON.parse(fail.out)['pod-health'], 'stdout stays the JSON answer');
    assert.match(fail.err, /thresholds: 1 passed, 3 breached/);
    assert.match(fail.err, /BREACHED\s+time-to-datapath-ready\.p99<2s: time-to-datapath-ready\.p99 = 4\.463s, not < 2s/);
    assert.match(fail.err, /BREACHED\s+failed==0: time-to-datapath-ready\.totalFailed = 1, not == 0/);
    assert.match(fail.err, /ok\s+time-to-start\.max<=1s/);
    assert.match(fail.err, /BREACHED\s+pod-health\.pendingPods==0: pod-health\.pendingPods = 1, not == 0/);
    // Phases too: reporter-ready is the reporter's own instant (4.5 s for the slow pod).
    const phase = await run(['--server', srv.url, '--token-file', tokenFile, '--threshold', 'phase.reporter-ready.max<4s', '--threshold', 'phase.ready.p99<1s']);
    assert.equal(phase.code, 1);
    assert.match(phase.err, /BREACHED\s+phase\.reporter-ready\.max<4s: phase\.reporter-ready\.max = 4\.5s, not < 4s/);
    assert.match(phase.err, /BREACHED\s+phase\.ready\.p99<1s: phase\.ready\.p99 has no data \(count 0\)/);
    assert.match(phase.out, /Phases .*\nPHASE\s+COUNT.*\nscheduled\s+0\s+-/);
  });

  it('--output csv and ndjson export every per-pod record of the selection', async () => {
    const csv = await run(['--server', srv.url, '--token-file', tokenFile, '--output', 'csv', '--namespace', 'perf', '--top', '1']);
    assert.equal(csv.code, 0);
    const rows = csv.out.trimEnd().split('\r\n');
    assert.match(rows[0]!, /^namespace,name,uid,nodeName,outcome,reason,createdAt,startTs,dpReadyTs,latStartMs,latDpReadyMs,receiveTs,latReceiveMs,policyEnforcedTs,latPolicyMs,phase:scheduled,.*,message,labels$/);
    assert.deepEqual(rows.slice(1).map((r) => r.split(',')[1]), ['fast', 'lost', 'slow'], '--top does not cut an export');
    const nd = await run(['--server', srv.url, '--token-file', tokenFile, '--output', 'ndjson', '--outcome', 'TimedOut', '--threshold', 'timedOut==1']);
    assert.equal(nd.code, 0, nd.err);
    assert.deepEqual(nd.out.trimEnd().split('\n').map((l) => JSON.parse(l).name), ['lost']);
  });

  it('--output json prints the raw answers keyed by metric, passing filters through', async () => {
    const { out } = await run(['--server', srv.url, '--token-file', tokenFile, '--output', 'json', '--top', '1', '--namespace', 'perf', '--label-selector', '!nope']);
    const json = JSON.parse(out);
    assert.deepEqual(Object.keys(json), ['time-to-start', 'time-to-datapath-ready', 'pod-health', 'phases']);
    assert.equal(json['pod-health'].desiredReplicas, 1);
    assert.deepEqual(json['time-to-datapath-ready'].worstPods.map((p: { name: string }) => p.name), ['slow']);
  });

  it('reports server-side 400s and auth failures clearly', async () => {
    await assert.rejects(run(['--server', srv.url, '--token-file', tokenFile, '--since', 'soon']),
      (err: unknown) => isDpreadyError(err, 'DPR_USAGE') && /HTTP 400: since: must be an RFC3339/.test(err.message));
    await assert.rejects(run(['--server', srv.url]),
      (err: unknown) => isDpreadyError(err, 'DPR_API_FAILURE') && /HTTP 401/.test(err.message));
  });
});

describe('dpready stats: machine-readable output for pipelines', () => {
  let srv: ApiServer;
  let dir: string;
  before(async () => {
    dir = tempDir('stats-out');
    srv = await startApiServer({ ...deps(), listen: '127.0.0.1:0' });
  });
  after(() => srv.close());

  it('--output json has one key per route asked: both time routes, pod-health and phases', async () => {
    const { out } = await run(['--server', srv.url, '--output', 'json']);
    assert.deepEqual(Object.keys(JSON.parse(out)), ['time-to-start', 'time-to-datapath-ready', 'pod-health', 'phases']);
  });

  it('--output yaml is the same document as --output json', async () => {
    const json = JSON.parse((await run(['--server', srv.url, '--output', 'json'])).out);
    const yaml = parseYaml((await run(['--server', srv.url, '--output', 'yaml'])).out);
    assert.deepEqual(yaml, json);
  });

  it('--output kube-burner: podLatencyQuantilesMeasurement documents, one per phase, in ms', async () => {
    const { code, out } = await run(['--server', srv.url, '--output', 'kube-burner', '--job-name', 'churn', '--uuid', 'run-1']);
    assert.equal(code, 0);
    const docs = JSON.parse(out) as Array<Record<string, unknown>>;
    assert.deepEqual(docs.map((d) => d.quantileName), ['PodScheduled', 'Initialized', 'ContainersReady', 'DatapathReady', 'Ready', 'ReporterStart', 'ReporterReady', 'PolicyEnforced', 'PolicyAfterDatapath', 'ReadyWithoutDatapath']);
    const dp = docs.find((d) => d.quantileName === 'ReporterReady')!;
    assert.deepEqual(Object.keys(dp).sort(), ['P50', 'P95', 'P99', 'avg', 'jobName', 'max', 'metadata', 'metricName', 'min', 'quantileName', 'timestamp', 'uuid']);
    assert.equal(dp.metricName, 'podLatencyQuantilesMeasurement');
    assert.equal(dp.jobName, 'churn');
    assert.equal(dp.uuid, 'run-1');
    // Two results with a datapath: 800 and 4500 ms after creation (the fixture's 'fast' and 'slow').
    assert.equal(dp.max, 4500);
    assert.equal(dp.min, 800);
    for (const k of ['P50', 'P95', 'P99', 'max', 'min']) assert.ok(Number.isInteger(dp[k]), k);
  });

  it('--junit FILE: one testcase per threshold, the breaches as failures', async () => {
    const file = join(dir, 'thresholds.xml');
    const { code } = await run(['--server', srv.url, '--output', 'json', '--junit', file,
      '--threshold', 'time-to-datapath-ready.p99<5s', '--threshold', 'failed==0', '--threshold', 'count>=2']);
    assert.equal(code, 1);
    const xml = await readFile(file, 'utf8');
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
    assert.match(xml, /<testsuite name="dpready stats thresholds" tests="3" failures="1"/);
    assert.equal([...xml.matchAll(/<testcase /g)].length, 3);
    assert.match(xml, /<testcase classname="dpready\.thresholds" name="time-to-datapath-ready\.p99&lt;5s"[^>]*\/>/);
    assert.match(xml, /<testcase classname="dpready\.thresholds" name="failed==0"[^>]*>\s*<failure message="failed==0: time-to-datapath-ready\.totalFailed = 1, not == 0" type="ThresholdBreached"/);
  });
});

describe('dpready stats: errors before and during the request', () => {
  it('rejects bad flags without touching the network', async () => {
    await assert.rejects(run(['--output', 'xml', '--server', 'http://127.0.0.1:9']), /--output="xml"/);
    // A bad selector is a usage error like every other bad flag: exit 64, as docs/api.md says.
    await assert.rejects(run(['--label-selector', 'a in ()', '--server', 'http://127.0.0.1:9']),
      (err: unknown) => isDpreadyError(err, 'DPR_USAGE') && err.exitCode === 64 && /^--label-selector: /.test(err.message));
    // The service proxy drops the Authorization header: a token only works with --server.
    await assert.rejects(run(['--token-file', '/nonexistent/token']),
      (err: unknown) => isDpreadyError(err, 'DPR_USAGE') && /--token-file needs --server/.test(err.message) && /kubectl -n dpready-system port-forward svc\/dpready 8080:8080/.test(err.message));
    await assert.rejects(run(['--junit', '/tmp/x.xml', '--server', 'http://127.0.0.1:9']),
      (err: unknown) => isDpreadyError(err, 'DPR_USAGE') && /--junit needs at least one --threshold/.test(err.message));
    await assert.rejects(run(['--top=-3', '--server', 'http://127.0.0.1:9']), /--top="-3"/);
    await assert.rejects(run(['--bogus']), (err: unknown) => isDpreadyError(err, 'DPR_USAGE'));
    await assert.rejects(run(['--server', 'not a url']), /--server="not a url"/);
    // A bad threshold exits 2 (DPR_BAD_THRESHOLD) before any request: this server does not exist.
    await assert.rejects(run(['--server', 'http://127.0.0.1:9', '--threshold', 'failed==0', '--threshold', 'time-to-datapath-ready.p99<<5s']),
      (err: unknown) => isDpreadyError(err, 'DPR_BAD_THRESHOLD') && err.exitCode === 2 && /--threshold="time-to-datapath-ready.p99<<5s"/.test(err.message));
  });

  it('names the server when it cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(run(['--server', `http://127.0.0.1:${port}`, '--timeout', '2s']),
      (err: unknown) => isDpreadyError(err, 'DPR_API_FAILURE') && err.message.includes(`127.0.0.1:${port}`));
  });
});

describe('dpready stats through the kubeconfig (service proxy)', () => {
  let apiServer: Server;
  let kubeconfig: string;
  const seen: string[] = [];
  before(async () => {
    const app = await buildApp(deps());
    const prefix = '/api/v1/namespaces/dpready-system/services/http:dpready:8080/proxy';
    // Stands in for kube-apiserver: checks the kubeconfig's credentials, strips the proxy prefix.
    apiServer = createServer((req, res) => {
      seen.push(req.url!);
      if (req.headers.authorization !== 'Bearer kube-user-token') { res.writeHead(401).end('{"message":"Unauthorized"}'); return; }
      if (!req.url!.startsWith(prefix)) { res.writeHead(404).end('{"message":"services \\"x\\" not found"}'); return; }
      void app.inject({ method: 'GET', url: req.url!.slice(prefix.length) }).then((r) => {
        res.writeHead(r.statusCode, { 'content-type': r.headers['content-type']!.toString() }).end(r.body);
      });
    });
    await new Promise<void>((r) => apiServer.listen(0, '127.0.0.1', r));
    const port = (apiServer.address() as { port: number }).port;
    const dir = tempDir('kc');
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{ name: local, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: me, user: { token: kube-user-token } }]
contexts: [{ name: local, context: { cluster: local, user: me } }]
current-context: local
`);
  });
  after(() => new Promise((r) => apiServer.close(r)));

  it('goes through /api/v1/namespaces/<ns>/services/http:<svc>:<port>/proxy with the kubeconfig credentials', async () => {
    const { code, out } = await run(['--kubeconfig', kubeconfig, '--output', 'json', '--namespace', 'perf']);
    assert.equal(code, 0);
    assert.equal(JSON.parse(out)['time-to-start'].count, 3);
    assert.ok(seen.some((u) => u.endsWith('/proxy/api/v1/time-to-datapath-ready?namespace=perf')), seen.join('\n'));
  });

  it('says which service it tried when the proxy answers 404', async () => {
    await assert.rejects(run(['--kubeconfig', kubeconfig, '--service', 'other']),
      (err: unknown) => isDpreadyError(err, 'DPR_API_FAILURE') && /service dpready-system\/other:8080 .*HTTP 404/.test(err.message));
  });
});
