// The existing system's users, end to end: `dpready controller` runs as its own process with the
// manifests' RBAC on a control plane with KWOK nodes, a load test's pods (a Deployment, a Job,
// one pod that cannot be scheduled) carry the label the pipelines select on, and then
// - a Go program with the existing system's response types decodes the three routes, and
// - the pipelines' curl + jq extractions find every figure, non-null and of the existing type.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_START, CONDITION_TYPE } from '../../src/contract.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliCommand } from '../../src/devcluster/cli-command.ts';
import { startControllerProcess, type ControllerProcess } from '../../src/devcluster/controller-process.ts';
import { installDpready } from '../../src/devcluster/install.ts';
import { ProbeTarget } from '../../src/devcluster/probe-target.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import { eventually, useControlPlane } from '../support/cluster.ts';
import { runGoCompat, runPipeline } from '../support/compat.ts';

const cluster = useControlPlane({ nodes: 3 });
const NS = 'load-test';
const GROUP = { podgroup: 'deployment-churn' };
const QUERY = 'topN=10&labelSelector=podgroup=deployment-churn';

let controller: ControllerProcess | undefined;
let stopAnnotating: (() => void) | undefined;

after(async () => {
  stopAnnotating?.();
  await controller?.stop();
});

function podSpec(extra: Partial<k8s.V1PodSpec> = {}): k8s.V1PodSpec {
  return { readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }], ...extra };
}

/** Plays the reporter: once a pod runs, writes its start and datapath-ready annotations. */
function annotateRunningPods(core: k8s.CoreV1Api): () => void {
  let stopped = false;
  const done = new Set<string>();
  const smp = callOptions({ timeoutMs: 10_000, patch: k8s.PatchStrategy.MergePatch });
  void (async () => {
    while (!stopped) {
      const pods = await core.listNamespacedPod({ namespace: NS }).catch(() => ({ items: [] as k8s.V1Pod[] }));
      for (const p of pods.items) {
        const uid = p.metadata!.uid!;
        if (p.status?.phase !== 'Running' || done.has(uid)) continue;
        done.add(uid);
        const now = Date.now();
        await core.patchNamespacedPod({ name: p.metadata!.name!, namespace: NS, body: { metadata: { annotations: {
          [ANNOTATION_START]: new Date(now).toISOString(), [ANNOTATION_DP_READY]: new Date(now + 37).toISOString(),
          [ANNOTATION_PROBE]: JSON.stringify({ targets: ['tcp://10.0.0.1:80'], attempts: 3 }),
        } } } }, smp).catch(() => done.delete(uid));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return () => { stopped = true; };
}

// In a describe so that its set-up runs after the control plane's.
describe('the existing system\'s pipelines against the real controller', { concurrency: false }, () => {
  before(async () => {
    const cp = cluster();
    await installDpready(cp, { workloadNamespaces: [NS] });
    const kubeconfig = await cp.serviceAccountKubeconfig('dpready-system', 'dpready-controller');
    // As deployed: every namespace watched, the manifests' RBAC, no flags beyond the defaults.
    controller = await startControllerProcess(cp, { kubeconfig, port: (await ProbeTarget.reserve()).port, name: 'compat-controller',
      args: ['--datapath-timeout=10m'], env: { POD_NAMESPACE: 'dpready-system' } });

    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
    const batch = cp.kubeConfig.makeApiClient(k8s.BatchV1Api);
    stopAnnotating = annotateRunningPods(core);
    await apps.createNamespacedDeployment({ namespace: NS, body: {
      metadata: { name: 'churn', labels: GROUP },
      spec: { replicas: 4, selector: { matchLabels: { app: 'churn' } }, template: { metadata: { labels: { app: 'churn', ...GROUP } }, spec: podSpec() } },
    } });
    await batch.createNamespacedJob({ namespace: NS, body: {
      metadata: { name: 'once' },
      spec: { template: { metadata: { labels: { app: 'once', ...GROUP } }, spec: podSpec({ restartPolicy: 'Never' }) } },
    } });
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'stuck', labels: GROUP }, spec: podSpec({ nodeSelector: { 'no-such-label': 'x' } }) } });

    await eventually('4 Deployment pods Ready, the Job pod Succeeded, the stuck pod Unschedulable', async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS })).items;
      const ready = pods.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded');
      const unschedulable = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
      return ready.length === 4 && succeeded.length === 1 && unschedulable.length === 1;
    }, 120_000, 500);
    await eventually('the controller serves 5 results and sees the stuck pod', async () => {
      const dp = await (await fetch(`${controller!.url}/api/v1/time-to-datapath-ready?${QUERY}`)).json() as { count: number };
      const h = await (await fetch(`${controller!.url}/api/v1/pod-health?${QUERY}`)).json() as { desiredReplicas: number; pendingPodList: Array<{ reason: string }>; succeededPods: number };
      return dp.count === 5 && h.desiredReplicas === 6 && h.succeededPods === 1 && h.pendingPodList[0]?.reason === 'Unschedulable';
    }, 60_000, 500);
  }, { timeout: 10 * 60_000 });

  test('a Go program with the existing system\'s response types decodes the real controller\'s answers', { timeout: 5 * 60_000 }, async () => {
    const r = await runGoCompat(controller!.url, QUERY);
    assert.equal(r.code, 0, r.stderr);
    const decoded = JSON.parse(r.stdout);
    for (const metric of ['time-to-start', 'time-to-datapath-ready']) {
      const m = decoded[metric];
      assert.deepEqual([m.metric, m.unit, m.count, m.totalSuccessful, m.totalFailed], [metric, 'ms', 5, 5, 0]);
      assert.ok(m.p50 <= m.p90 && m.p90 <= m.p99, JSON.stringify(m));
      assert.equal(m.worstPods.length, 5);
      for (const w of m.worstPods) assert.ok(w.namespace === NS && w.nodeName && w.createdAt && w.measuredTs, JSON.stringify(w));
    }
    const h = decoded['pod-health'];
    // 4 running + the finished Job pod out of 6; the finished pod is not a failure.
    assert.deepEqual([h.desiredReplicas, h.runningPods, h.pendingPods, h.failedPods, h.successPct], [6, 4, 1, 0, 83.33]);
    assert.equal(h.labelSelector, 'podgroup=deployment-churn');
    assert.equal(h.pendingPodList.length, 1);
    const stuck = h.pendingPodList[0];
    assert.deepEqual([stuck.namespace, stuck.name, stuck.phase, stuck.reason], [NS, 'stuck', 'Pending', 'Unschedulable']);
    assert.match(stuck.message, /node/, 'the scheduler\'s message');
    assert.deepEqual(h.failedPodList, []);
  });

  test('the pipelines\' curl + jq extractions get every figure, non-null and of the existing type, and merge the bodies', { timeout: 5 * 60_000 }, async () => {
    const out = `${cluster().dir}/results.json`;
    const r = await runPipeline(controller!.url, 'podgroup=deployment-churn', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /time-to-datapath-ready \{"totalSuccessful":5,"totalFailed":0,"p50":\d+,"p90":\d+,"p99":\d+\}/);
    assert.match(r.stdout, /pod-health \{"desiredReplicas":6,"runningPods":4,"pendingPods":1,"failedPods":0,"successPct":83\.33\}/);
  });

  test('dpready stats --threshold gates a CI run: exit 0 when every threshold holds, 1 listing breaches, 2 on bad syntax', { timeout: 2 * 60_000 }, async () => {
    const [cmd, ...pre] = cliCommand();
    const stats = async (...args: string[]) => {
      try {
        const r = await promisify(execFile)(cmd!, [...pre, 'stats', '--server', controller!.url, '--label-selector', 'podgroup=deployment-churn', ...args]);
        return { code: 0, ...r };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const ok = await stats('--threshold', 'time-to-datapath-ready.p99<5s', '--threshold', 'failed==0', '--threshold', 'pod-health.failedPods==0',
      '--threshold', 'phase.ready.count==5');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Pod health:/);
    assert.match(ok.stdout, /^ready-without-datapath\s+5\s+/m);
    assert.match(ok.stderr, /thresholds: 4 passed, 0 breached/);
    const breached = await stats('--output', 'json', '--threshold', 'time-to-datapath-ready.p99<1ms', '--threshold', 'pod-health.pendingPods==0', '--threshold', 'count==5');
    assert.equal(breached.code, 1, breached.stderr);
    assert.match(breached.stderr, /thresholds: 1 passed, 2 breached/);
    assert.match(breached.stderr, /BREACHED\s+time-to-datapath-ready\.p99<1ms: time-to-datapath-ready\.p99 = [\d.]+m?s, not < 1ms/);
    assert.match(breached.stderr, /BREACHED\s+pod-health\.pendingPods==0: pod-health\.pendingPods = 1, not == 0/);
    assert.equal(JSON.parse(breached.stdout)['time-to-datapath-ready'].count, 5);
    const bad = await stats('--threshold', 'time-to-datapath-ready.p99 < five');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /DPR_BAD_THRESHOLD: --threshold="time-to-datapath-ready\.p99 < five": "five" is not a latency/);
    const csv = await stats('--output', 'csv');
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout.trimEnd().split('\r\n').length, 1 + 5, 'a header and the five results');
  });

  test('per-phase latencies from the watch, to the millisecond, in order, with the Ready-without-datapath gap', async (t) => {
    const body = await (await fetch(`${controller!.url}/api/v1/phases?${QUERY}`)).json() as {
      results: number; phases: Array<{ phase: string; count: number; p50: number; min: number; max: number; clock: string; worstPods: Array<{ value: number }> }>;
    };
    assert.equal(body.results, 5);
    const by = Object.fromEntries(body.phases.map((p) => [p.phase, p]));
    t.diagnostic(`phases p50/max ms: ${body.phases.map((p) => `${p.phase} ${p.p50}/${p.max}`).join(', ')}`);
    // Every pod (the Deployment's and the Job's) was watched from creation to Ready: every phase is known.
    for (const name of ['scheduled', 'initialized', 'containers-ready', 'datapath-ready', 'ready', 'reporter-start', 'reporter-ready', 'ready-without-datapath']) {
      assert.equal(by[name]?.count, 5, `${name}: ${JSON.stringify(by[name])}`);
    }
    assert.ok(by.scheduled!.min >= 0);
    assert.ok(by.scheduled!.p50 <= by['containers-ready']!.p50 && by['containers-ready']!.p50 <= by['datapath-ready']!.p50
      && by['datapath-ready']!.p50 <= by.ready!.p50, JSON.stringify(by));
    // The reporter here writes after the pod runs, so the datapath is seen after the containers are ready.
    assert.ok(by['ready-without-datapath']!.min >= 0, JSON.stringify(by['ready-without-datapath']));
    assert.equal(by.ready!.clock, 'controller (watch)');
    // The result records the instants known when the outcome was (one write, made at once, not held
    // for Ready); Ready, which follows our gate, came from the watch above (ready count 5).
    const listed = await cluster().kubectl(['get', 'dpr', '-n', 'dpready-system', '-l', 'app=churn', '-o', 'json']);
    const items = (JSON.parse(listed.stdout) as { items: Array<{ metadata: { resourceVersion: string; generation: number }; spec: { watchTimestamps?: Record<string, string> } }> }).items;
    assert.equal(items.length, 4);
    for (const r of items) {
      const keys = Object.keys(r.spec.watchTimestamps ?? {});
      for (const k of ['containersReady', 'datapathReady', 'initialized', 'scheduled']) assert.ok(keys.includes(k), `${k} in ${keys.join(',')}`);
      assert.match(r.spec.watchTimestamps!.datapathReady!, /\.\d{3}Z$/, 'millisecond instants');
      assert.equal(r.metadata.generation, 1, 'written once');
    }
  });

  test('topN bounds pod-health\'s lists; a bad topN is a JSON 400 naming it', async () => {
    const h = await (await fetch(`${controller!.url}/api/v1/pod-health?topN=0&labelSelector=podgroup=deployment-churn`)).json() as { pendingPods: number; pendingPodList: unknown[]; pendingPodsTruncated: boolean };
    assert.deepEqual([h.pendingPods, h.pendingPodList, h.pendingPodsTruncated], [1, [], true]);
    const bad = await fetch(`${controller!.url}/api/v1/pod-health?topN=-1`);
    assert.equal(bad.status, 400);
    assert.equal((await bad.json() as { parameter: string }).parameter, 'topN');
  });

  test('results outlive the load test\'s namespace: still served, and listed by kubectl with the pods\' labels', { timeout: 5 * 60_000 }, async () => {
    const cp = cluster();
    const before = await (await fetch(`${controller!.url}/api/v1/time-to-datapath-ready?${QUERY}`)).json() as { count: number; p50: number; p99: number };
    assert.equal(before.count, 5);
    stopAnnotating?.();
    // What ClusterLoader2 and kube-burner do when a run ends.
    await cp.kubectl(['delete', 'namespace', NS, '--wait=false']);
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    await eventually('the namespace is gone', async () => (await core.listNamespace()).items.every((n) => n.metadata?.name !== NS), 180_000, 1_000);

    const after = await (await fetch(`${controller!.url}/api/v1/time-to-datapath-ready?${QUERY}`)).json() as { count: number; p50: number; p99: number };
    assert.deepEqual([after.count, after.p50, after.p99], [before.count, before.p50, before.p99]);
    const health = await (await fetch(`${controller!.url}/api/v1/pod-health?${QUERY}`)).json() as { desiredReplicas: number };
    assert.equal(health.desiredReplicas, 0, 'no pod is left');
    // And the pipeline's checks still pass on what is left.
    const r = await runGoCompat(controller!.url, QUERY);
    assert.equal(r.code, 0, r.stderr);

    const listed = await cp.kubectl(['get', 'dpr', '-n', 'dpready-system', '-l', `podgroup=deployment-churn,perf.github.com/pod-namespace=${NS}`,
      '-o', 'jsonpath={range .items[*]}{.spec.podRef.namespace}/{.spec.podRef.name} {.spec.outcome}{"\\n"}{end}']);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.filter((l) => l.endsWith(' Succeeded')).length, 5, listed.stdout);
    for (const l of lines) assert.ok(l.startsWith(`${NS}/`), l);
    const byApp = await cp.kubectl(['get', 'dpr', '-n', 'dpready-system', '-l', 'app=churn', '-o', 'name']);
    assert.equal(byApp.stdout.trim().split('\n').length, 4, byApp.stdout);
  });
});
