// Every file in examples/, applied as a user would to a local control plane with
// kube-controller-manager, kube-scheduler and KWOK nodes, after the kustomize base. The
// controller runs in-process but as the base's ServiceAccount (a token of
// dpready-system/dpready-controller, with leader election on its Lease), so it has exactly the
// base's RBAC. Reporters are real `dpready reporter` processes started by the ReporterRunner
// for each Running pod, with the pod's env and a token bound to the pod (so the reporter RBAC
// and ValidatingAdmissionPolicy apply), their PROBE_TARGET pointed at a loopback server the
// test controls: KWOK pod IPs and cluster DNS do not exist here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { parseAllDocuments } from 'yaml';
import { build as esbuild } from 'esbuild';
import { ENTRY_BUNDLE, REPORTER_BUNDLE } from '../../scripts/bundle-reporter.ts';
import { buildApp } from '../../src/api/app.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import {
  ANNOTATION_PROBE, CONDITION_TYPE, ConditionReason, CRD_NAME, GROUP, PLURAL, ProbeDetails, VERSION, type DatapathResultSpec,
} from '../../src/contract.ts';
import { Controller } from '../../src/controller/controller.ts';
import { indexListener } from '../../src/controller/main.ts';
import { podSource } from '../../src/controller/pod-views.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { serviceAccountEnv } from '../../src/devcluster/kubeconfig-file.ts';
import { ReporterRunner, runsReporter } from '../../src/devcluster/reporter-runner.ts';
import { loadConfig } from '../../src/reporter/config.ts';
import { core, custom, eventually, uniqueName, useControlPlane } from '../support/cluster.ts';
import { settings, testLog } from '../support/controller.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MANIFESTS = join(ROOT, 'manifests');
const EXAMPLES = join(ROOT, 'examples');
const EXAMPLE_NS = 'dpready-examples';
const run = promisify(execFile);

const cluster = useControlPlane({ nodes: 2 });

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

/** An example file with its namespace moved to `ns` (the files name dpready-examples). */
async function example(file: string, ns = EXAMPLE_NS, edit: (text: string) => string = (t) => t): Promise<string> {
  const text = await readFile(join(EXAMPLES, file), 'utf8');
  return edit(text.replaceAll(EXAMPLE_NS, ns));
}

function objects(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Obj).filter(Boolean);
}

/** Applies the reporter's namespaced identity and then the example into a fresh namespace. */
async function applyExample(cp: ControlPlane, file: string, ns: string, edit?: (text: string) => string): Promise<void> {
  await cp.kubectl(['apply', '-f', '-'], await example('reporter-rbac.yaml', ns));
  await cp.kubectl(['apply', '-f', '-'], await example(file, ns, edit));
}

/** A TCP target on loopback that the test opens and closes: the pods' datapath. */
class Target {
  private server?: Server;
  constructor(readonly port: number) {}
  static async reserve(): Promise<Target> {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    return new Target(port);
  }
  get url(): string { return `tcp://127.0.0.1:${this.port}`; }
  async open(): Promise<void> {
    const srv = createServer((sock) => sock.destroy());
    await new Promise<void>((r) => srv.listen(this.port, '127.0.0.1', r));
    this.server = srv;
  }
  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Env the runner puts over each container's: the loopback target, and a short probe interval cap. */
function overrides(target: string): Record<string, string> {
  return { PROBE_TARGET: target, PROBE_INTERVAL: '200ms' };
}

function cond(pod: k8s.V1Pod, type: string): k8s.V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

async function pods(cp: ControlPlane, ns: string, selector: string): Promise<k8s.V1Pod[]> {
  return (await core(cp).listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}

type Result = { metadata: { name: string; labels?: Record<string, string> }; spec: DatapathResultSpec };
/** The results of the pods of `ns`, as the examples' comments list them: in dpready-system, by label. */
async function results(cp: ControlPlane, ns: string): Promise<Result[]> {
  const list = await custom(cp).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'dpready-system', plural: PLURAL,
    labelSelector: `perf.github.com/pod-namespace=${ns}` }) as { items: Result[] };
  for (const r of list.items) assert.equal(r.spec.podRef.namespace, ns);
  return list.items;
}

async function deployment(cp: ControlPlane, ns: string, name: string): Promise<k8s.V1Deployment> {
  return cp.kubeConfig.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name, namespace: ns });
}

/** All replicas of the Deployment Ready and available, from the current template. */
function rolledOut(d: k8s.V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  return (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
    && s?.readyReplicas === want && s?.availableReplicas === want && s?.updatedReplicas === want && (s?.replicas ?? 0) === want;
}

/** Each pod is Ready, our condition is True and turned no later than Ready did: Ready came through the gate. */
function assertReadyThroughGate(list: k8s.V1Pod[]): void {
  for (const p of list) {
    const ours = cond(p, CONDITION_TYPE);
    const ready = cond(p, 'Ready');
    assert.equal(ours?.status, 'True', `${p.metadata?.name}: our condition True`);
    assert.equal(ours?.reason, ConditionReason.DatapathReady);
    assert.equal(ready?.status, 'True', `${p.metadata?.name}: Ready`);
    assert.ok(new Date(ready!.lastTransitionTime!).getTime() >= new Date(ours!.lastTransitionTime!).getTime(),
      `${p.metadata?.name}: Ready turned True (${ready!.lastTransitionTime}) no earlier than our condition (${ours!.lastTransitionTime})`);
  }
}

function assertSucceeded(rs: Result[], list: k8s.V1Pod[], targets: string[]): void {
  const byUid = new Map(rs.map((r) => [r.spec.podRef.uid, r.spec]));
  for (const p of list) {
    const spec = byUid.get(p.metadata!.uid!);
    assert.ok(spec, `a DatapathResult for ${p.metadata?.name}`);
    assert.equal(spec.outcome, 'Succeeded');
    assert.equal(spec.podRef.name, p.metadata?.name);
    assert.equal(spec.podRef.nodeName, p.spec?.nodeName);
    assert.deepEqual(spec.probe?.targets, targets);
    assert.ok(typeof spec.metrics.latDpReadyMs === 'number' && typeof spec.metrics.latStartMs === 'number');
    assert.ok(spec.metrics.latDpReadyMs >= spec.metrics.latStartMs, `${p.metadata?.name}: datapath ready after start`);
  }
}

/** `npm run build` into a private directory under node_modules (so it resolves the dependencies). */
async function buildCli(): Promise<{ cli: string; dir: string }> {
  const dir = await mkdtemp(join(ROOT, 'node_modules', '.cache-dpready-examples-'));
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir]);
  // The reporter's bundle and the image's entrypoint beside the CLI, as `npm run build` puts them.
  await esbuild({ ...REPORTER_BUNDLE, outfile: join(dir, 'reporter.cjs') });
  await esbuild({ ...ENTRY_BUNDLE, outfile: join(dir, 'entry.cjs') });
  return { cli: join(dir, 'entry.cjs'), dir };
}

describe('examples/', { concurrency: false }, () => {
  let controller: Controller;
  let app: FastifyInstance;

  before(async () => {
    const cp = cluster();
    await cp.kubectl(['apply', '--server-side', '-k', MANIFESTS]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`]);
    // The controller's identity and permissions are the base's, not the admin's.
    const tr = await core(cp).createNamespacedServiceAccountToken({ name: 'dpready-controller', namespace: 'dpready-system',
      body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    const kc = new k8s.KubeConfig();
    const c = cp.kubeConfig.getCurrentCluster()!;
    kc.loadFromOptions({
      clusters: [c], users: [{ name: 'dpready-controller', token: tr.status!.token }],
      contexts: [{ name: 'sa', cluster: c.name, user: 'dpready-controller' }], currentContext: 'sa',
    });
    controller = new Controller(kc, settings({
      namespace: '', resultsNamespace: 'dpready-system', leaderElect: true, leaseNamespace: 'dpready-system', leaseName: 'dpready-controller',
    }), testLog);
    const index = new ResultIndex();
    controller.addResultListener(indexListener(index, testLog));
    app = await buildApp({ results: index, pods: podSource(controller.store), registry: controller.metrics.registry, isReady: () => controller.synced });
    await controller.start();
    await eventually('the controller leads', async () => controller.isLeader, 60_000);
  });

  after(async () => {
    await controller?.stop();
    await app?.close();
  });

  test('every example parses, names its namespace, and its reporter env is a valid reporter configuration', async () => {
    for (const file of ['deployment-sidecar.yaml', 'deployment-init.yaml', 'job.yaml', 'pod-to-pod.yaml']) {
      const text = await readFile(join(EXAMPLES, file), 'utf8');
      assert.match(text, /^# \S/, `${file} starts with a comment`);
      const objs = objects(text);
      assert.ok(objs.length > 0);
      for (const o of objs) assert.equal(o.metadata.namespace, EXAMPLE_NS, `${file}: ${o.kind}/${o.metadata.name} namespace`);
      const workloads = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Job') as unknown as Array<{ metadata: { name: string }; spec: { template: { spec: k8s.V1PodSpec } } }>;
      const gated = workloads.filter((w) => w.spec.template.spec.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE));
      assert.ok(gated.length > 0, `${file}: a gated workload`);
      for (const w of gated) {
        const spec = w.spec.template.spec;
        assert.equal(spec.serviceAccountName, 'dpready-reporter', `${file}: ${w.metadata.name} runs as the reporter`);
        const reporters = [...(spec.initContainers ?? []), ...spec.containers].filter(runsReporter);
        assert.equal(reporters.length, 1, `${file}: ${w.metadata.name} has one reporter`);
        const r = reporters[0]!;
        const env: Record<string, string> = { MY_POD_NAME: 'p-0', MY_POD_NAMESPACE: EXAMPLE_NS };
        for (const e of r.env ?? []) {
          if (e.value !== undefined) env[e.name] = e.value;
          else assert.deepEqual(e.valueFrom?.fieldRef?.fieldPath, { MY_POD_NAME: 'metadata.name', MY_POD_NAMESPACE: 'metadata.namespace' }[e.name], `${file}: ${e.name}`);
        }
        const config = loadConfig(env);
        assert.deepEqual(config.unknownVariables, []);
        // Native sidecar or classic init container, and the mode to match.
        assert.ok(spec.initContainers?.includes(r), `${file}: the reporter is an init container`);
        assert.equal(config.mode, r.restartPolicy === 'Always' ? 'sidecar' : 'init', `${file}: PROBE_MODE fits the container kind`);
      }
    }
  });

  test('examples/reporter-rbac.yaml is manifests/reporter.yaml\'s namespaced identity, moved to dpready-examples', async () => {
    const base = objects(await readFile(join(MANIFESTS, 'reporter.yaml'), 'utf8'))
      .filter((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind));
    assert.ok(base.length === 3);
    const ours = objects(await readFile(join(EXAMPLES, 'reporter-rbac.yaml'), 'utf8')).filter((o) => o.kind !== 'Namespace');
    const moved = JSON.parse(JSON.stringify(base).replaceAll('"namespace":"default"', `"namespace":"${EXAMPLE_NS}"`)) as Obj[];
    assert.deepEqual(ours, moved);
  });

  test('the base\'s controller Deployment runs: 2 replicas admitted (restricted PSA) and available, PDB healthy, Service endpoints', async () => {
    const cp = cluster();
    await eventually('dpready-controller rolled out', async () => rolledOut(await deployment(cp, 'dpready-system', 'dpready-controller')), 60_000);
    const list = await pods(cp, 'dpready-system', 'app.kubernetes.io/name=dpready');
    assert.equal(list.length, 2);
    const policy = cp.kubeConfig.makeApiClient(k8s.PolicyV1Api);
    const pdb = await eventually('PDB allows one disruption', async () => {
      const p = await policy.readNamespacedPodDisruptionBudget({ name: 'dpready-controller', namespace: 'dpready-system' });
      return p.status?.currentHealthy === 2 && p;
    }, 60_000);
    assert.equal(pdb.status?.disruptionsAllowed, 1);
    const discovery = cp.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    await eventually('Service dpready has both replicas as endpoints', async () => {
      const slices = await discovery.listNamespacedEndpointSlice({ namespace: 'dpready-system', labelSelector: 'kubernetes.io/service-name=dpready' });
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      return ready.length === 2 && slices.items[0]?.ports?.[0]?.name === 'http';
    }, 60_000);
  });

  test('deployment-sidecar.yaml: pods wait on the gate while the target is down, then all Ready via our condition', async () => {
    const cp = cluster();
    const ns = uniqueName('ex-sidecar');
    const target = await Target.reserve();
    const runner = new ReporterRunner(cp, { namespace: ns, env: overrides(target.url) });
    try {
      await applyExample(cp, 'deployment-sidecar.yaml', ns);
      await runner.start();
      // Running, containers ready, the reporter probing: only our gate keeps them from Ready.
      const waiting = await eventually('3 pods Running and Probing', async () => {
        const list = await pods(cp, ns, 'app=dp-sidecar');
        return list.length === 3 && list.every((p) => p.status?.phase === 'Running' && cond(p, CONDITION_TYPE)?.reason === ConditionReason.Probing) && list;
      }, 60_000);
      for (const p of waiting) {
        assert.equal(cond(p, 'ContainersReady')?.status, 'True');
        assert.equal(cond(p, 'Ready')?.status, 'False');
        assert.equal(cond(p, CONDITION_TYPE)?.status, 'False');
      }
      assert.ok(!((await deployment(cp, ns, 'dp-sidecar')).status?.readyReplicas), 'no replica Ready while the target is down');

      await target.open();
      await eventually('dp-sidecar rolled out', async () => rolledOut(await deployment(cp, ns, 'dp-sidecar')), 60_000);
      const list = await pods(cp, ns, 'app=dp-sidecar');
      assertReadyThroughGate(list);
      const rs = await eventually('3 results', async () => { const r = await results(cp, ns); return r.length === 3 && r; }, 60_000);
      assertSucceeded(rs, list, [target.url]);
      // The reporter waited for the target: its own monotonic start-to-ready shows it.
      for (const r of rs) assert.ok((r.spec.metrics.reporterStartToReadyMs ?? 0) > 0);
      // Native sidecars stay up after writing, until the pod stops.
      assert.equal(runner.processes.length, 3);
      assert.equal(runner.running, 3);
    } finally {
      await runner.stop();
      await target.close();
    }
  });

  test('deployment-init.yaml: reporters run as init containers and exit 0; Ready only after the gate', async () => {
    const cp = cluster();
    const ns = uniqueName('ex-init');
    const target = await Target.reserve();
    await target.open();
    const runner = new ReporterRunner(cp, { namespace: ns, env: overrides(target.url) });
    try {
      await applyExample(cp, 'deployment-init.yaml', ns);
      // No reporter yet: the controller says it is waiting for one, and nothing is Ready.
      const waiting = await eventually('3 pods AwaitingReporter', async () => {
        const list = await pods(cp, ns, 'app=dp-init');
        return list.length === 3 && list.every((p) => p.status?.phase === 'Running' && cond(p, CONDITION_TYPE)?.reason === ConditionReason.AwaitingReporter) && list;
      }, 60_000);
      for (const p of waiting) assert.equal(cond(p, 'Ready')?.status, 'False');

      await runner.start();
      await eventually('dp-init rolled out', async () => rolledOut(await deployment(cp, ns, 'dp-init')), 60_000);
      const list = await pods(cp, ns, 'app=dp-init');
      assertReadyThroughGate(list);
      assertSucceeded(await eventually('3 results', async () => { const r = await results(cp, ns); return r.length === 3 && r; }, 60_000), list, [target.url]);
      // Init mode: each reporter wrote and exited 0, as the kubelet needs to start the app.
      await eventually('reporters exited', async () => runner.processes.length === 3 && runner.running === 0, 60_000);
      assert.deepEqual(runner.processes.map((p) => p.exitCode), [0, 0, 0]);
    } finally {
      await runner.stop();
      await target.close();
    }
  });

  test('the compiled CLI (what the image runs: dist/entry.cjs, no TypeScript) reports for an example pod with its bound token', async () => {
    const cp = cluster();
    const ns = uniqueName('ex-built');
    const target = await Target.reserve();
    await target.open();
    const built = await buildCli();
    try {
      await applyExample(cp, 'deployment-init.yaml', ns, (t) => t.replace(/replicas: \d+/, 'replicas: 1'));
      const pod = await eventually('a pod AwaitingReporter', async () => {
        const [p] = await pods(cp, ns, 'app=dp-init');
        return p?.status?.phase === 'Running' && cond(p, CONDITION_TYPE)?.reason === ConditionReason.AwaitingReporter && p;
      }, 60_000);
      const name = pod.metadata!.name!;
      const kubeconfig = await cp.podKubeconfig({ namespace: ns, serviceAccount: 'dpready-reporter', podName: name, podUid: pod.metadata!.uid! });
      const out = await run(process.execPath, [built.cli, 'reporter'], {
        env: { PATH: process.env.PATH, ...serviceAccountEnv(kubeconfig), MY_POD_NAME: name, MY_POD_NAMESPACE: ns, PROBE_MODE: 'init', ...overrides(target.url) },
        timeout: 30_000,
      });
      assert.equal(out.stderr.includes('tsx'), false);
      const ready = await eventually('Ready through the gate', async () => {
        const p = await core(cp).readNamespacedPod({ name, namespace: ns });
        return cond(p, 'Ready')?.status === 'True' && p;
      }, 60_000);
      assertReadyThroughGate([ready]);
      assertSucceeded(await eventually('a result', async () => { const r = await results(cp, ns); return r.length === 1 && r; }, 60_000), [ready], [target.url]);
    } finally {
      await target.close();
      await rm(built.dir, { recursive: true, force: true });
    }
  });

  test('job.yaml: the Job completes, its TTL removes it and its pods, and the results stay queryable', async () => {
    const cp = cluster();
    const ns = uniqueName('ex-job');
    const target = await Target.reserve();
    await target.open();
    const runner = new ReporterRunner(cp, { namespace: ns, env: overrides(target.url) });
    const batch = cp.kubeConfig.makeApiClient(k8s.BatchV1Api);
    try {
      await runner.start();
      // A short TTL so the test need not wait the example's five minutes.
      await applyExample(cp, 'job.yaml', ns, (t) => t.replace(/ttlSecondsAfterFinished: \d+/, 'ttlSecondsAfterFinished: 2'));
      const uids = new Set<string>();
      await eventually('the Job and its pods are gone', async () => {
        for (const p of await pods(cp, ns, 'job-name=dp-batch')) uids.add(p.metadata!.uid!);
        const jobs = await batch.listNamespacedJob({ namespace: ns });
        return jobs.items.length === 0 && uids.size >= 5 && (await pods(cp, ns, 'job-name=dp-batch')).length === 0;
      }, 90_000, 200);
      // Each pod became Ready through the gate before it completed (KWOK completes Job pods once Ready).
      const rs = await results(cp, ns);
      const batchResults = rs.filter((r) => r.spec.labels['job-name'] === 'dp-batch');
      assert.equal(batchResults.length, 5, 'one result per completed pod');
      assert.equal(new Set(batchResults.map((r) => r.spec.podRef.name)).size, 5);
      for (const r of batchResults) {
        assert.equal(r.spec.outcome, 'Succeeded');
        assert.ok(uids.has(r.spec.podRef.uid), 'the result names a pod the Job ran');
        assert.deepEqual(r.spec.probe?.targets, [target.url]);
      }
      // kubectl selects them with the pods' own labels, as the example's comment says.
      const listed = await cp.kubectl(['get', 'dpr', '-n', 'dpready-system', '-l', `job-name=dp-batch,perf.github.com/pod-namespace=${ns}`, '-o', 'name']);
      assert.equal(listed.stdout.trim().split('\n').length, 5, listed.stdout);
      assert.deepEqual(runner.processes.map((p) => p.exitCode), [0, 0, 0, 0, 0]);
      // The stats API answers for the finished run, filtered by the Job's pod label.
      const answer = await eventually('stats for the Job', async () => {
        const res = await app.inject({ method: 'GET', url: `/api/v1/time-to-datapath-ready?namespace=${ns}&labelSelector=job-name%3Ddp-batch` });
        const body = res.json() as { count: number; totalSuccessful: number; totalFailed: number; failedPods: unknown[]; p99: number };
        return res.statusCode === 200 && body.totalSuccessful === 5 && body;
      }, 60_000);
      assert.equal(answer.totalFailed, 0);
      assert.deepEqual(answer.failedPods, []);
      assert.ok(answer.p99 >= 0);
    } finally {
      await runner.stop();
      await target.close();
    }
  });

  test('pod-to-pod.yaml: the headless Service publishes the Ready server pods, and the clients are Ready once they reach them', async () => {
    const cp = cluster();
    const ns = uniqueName('ex-p2p');
    const target = await Target.reserve();
    await target.open();
    // The example probes dns://dp-server.<ns>.svc.cluster.local and tcp://dp-server.<ns>…:8080.
    // Here there is no cluster DNS and KWOK pod IPs are fake, so the runner gives the reporter
    // dns://localhost (resolved through the same getaddrinfo path, /etc/hosts) and the loopback
    // target instead; what the Service would resolve to is checked from its EndpointSlices.
    const local = `dns://localhost,${target.url}`;
    const runner = new ReporterRunner(cp, { namespace: ns, env: overrides(local) });
    try {
      const text = await example('pod-to-pod.yaml', ns);
      const client = objects(text).find((o) => o.kind === 'Deployment' && o.metadata.name === 'dp-client') as unknown as { spec: { template: { spec: k8s.V1PodSpec } } };
      const probeTarget = client.spec.template.spec.initContainers?.[0]?.env?.find((e) => e.name === 'PROBE_TARGET')?.value;
      assert.equal(probeTarget, `dns://dp-server.${ns}.svc.cluster.local,tcp://dp-server.${ns}.svc.cluster.local:8080`);

      await runner.start();
      await applyExample(cp, 'pod-to-pod.yaml', ns);
      const svc = await core(cp).readNamespacedService({ name: 'dp-server', namespace: ns });
      assert.equal(svc.spec?.clusterIP, 'None', 'headless');
      await eventually('dp-server rolled out', async () => rolledOut(await deployment(cp, ns, 'dp-server')), 60_000);
      const servers = await pods(cp, ns, 'app=dp-server');
      const discovery = cp.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
      // What DNS answers for the headless name: the Ready server pods' own IPs, no VIP.
      const published = await eventually('EndpointSlice lists both server pods', async () => {
        const slices = await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'kubernetes.io/service-name=dp-server' });
        const ips = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses).sort();
        return ips.length === 2 && ips;
      }, 60_000);
      assert.deepEqual(published, servers.map((p) => p.status!.podIP!).sort());

      await eventually('dp-client rolled out', async () => rolledOut(await deployment(cp, ns, 'dp-client')), 60_000);
      const clients = await pods(cp, ns, 'app=dp-client');
      assertReadyThroughGate(clients);
      const rs = await eventually('3 results', async () => { const r = await results(cp, ns); return r.length === 3 && r; }, 60_000);
      assertSucceeded(rs, clients, ['dns://localhost', target.url]);
      // Both targets had to succeed: the reporter's probe annotation has each one's round trip.
      for (const p of clients) {
        const details = ProbeDetails.parse(JSON.parse(p.metadata?.annotations?.[ANNOTATION_PROBE] ?? '{}'));
        assert.deepEqual(details.perTarget?.map((t) => t.target), ['dns://localhost', target.url]);
        for (const t of details.perTarget ?? []) assert.ok(typeof t.rttMs === 'number', `${t.target} answered`);
      }
      // Only the gated clients report: the servers have no reporter and no result.
      assert.ok(runner.processes.every((p) => p.pod.startsWith('dp-client-')));
    } finally {
      await runner.stop();
      await target.close();
    }
  });
});
