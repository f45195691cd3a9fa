// The controller under failover and API faults, on a real kube-apiserver: a leader killed with
// SIGKILL in a 500-pod burst, a graceful failover over 500 Ready pods, connections reset and
// stalled at random, and phases of 429 and 500 answers. The fault-injecting proxy sits between
// the controller and kube-apiserver and counts every request the controller makes.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CoordinationV1Api, PatchStrategy, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_START, CONDITION_TYPE, GROUP, PLURAL, VERSION, type DatapathResultSpec,
} from '../../src/contract.ts';
import { startControllerProcess, type ControllerProcess } from '../../src/devcluster/controller-process.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { settings, testLog } from '../support/controller.ts';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from '../support/fault-proxy.ts';
import { Controller } from '../../src/controller/controller.ts';

const cluster = useControlPlane({ nodes: 0 });

function gatedPod(name: string): V1Pod {
  return {
    metadata: { name, labels: { app: 'burst' } },
    spec: { schedulerName: 'dpready-test-no-such-scheduler', readinessGates: [{ conditionType: CONDITION_TYPE }],
      containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
  };
}

/** Creates n gated pods and writes reporter output on each, at most `parallel` at a time. Returns their UIDs. */
async function burst(api: CoreV1Api, ns: string, n: number, prefix = 'b', parallel = 16): Promise<string[]> {
  const uids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const name = `${prefix}-${i}`;
      const p = await api.createNamespacedPod({ namespace: ns, body: gatedPod(name) });
      uids.push(p.metadata!.uid!);
      const created = (p.metadata!.creationTimestamp as unknown as Date).getTime();
      await api.patchNamespacedPod({ name, namespace: ns, body: { metadata: { annotations: {
        [ANNOTATION_START]: new Date(created + 50).toISOString(), [ANNOTATION_DP_READY]: new Date(created + 250).toISOString(),
        [ANNOTATION_PROBE]: JSON.stringify({ targets: ['tcp://10.1.2.3:80'], attempts: 2 }),
      } } } }, callOptions({ timeoutMs: 30_000, patch: PatchStrategy.MergePatch }));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return uids;
}

async function trueCount(api: CoreV1Api, ns: string): Promise<number> {
  const pods = await api.listNamespacedPod({ namespace: ns });
  return pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True')).length;
}

type ResultItem = { metadata: { name: string; generation?: number }; spec: DatapathResultSpec };
async function results(cp: ControlPlane, ns: string): Promise<ResultItem[]> {
  return ((await custom(cp).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })) as { items: ResultItem[] }).items;
}

/** Every pod has exactly one result, written once (generation 1), and it is a success. */
function assertOneResultEach(items: ResultItem[], uids: string[]): void {
  const byUid = new Map<string, number>();
  for (const r of items) byUid.set(r.spec.podRef.uid, (byUid.get(r.spec.podRef.uid) ?? 0) + 1);
  assert.deepEqual(new Set(byUid.keys()), new Set(uids), 'one result per pod, none lost');
  assert.ok([...byUid.values()].every((n) => n === 1));
  const rewritten = items.filter((r) => r.metadata.generation !== 1);
  assert.deepEqual(rewritten.map((r) => r.metadata.name), [], 'no result written twice');
  assert.ok(items.every((r) => r.spec.outcome === 'Succeeded'));
}

const statusPatches = (ns: string) => (r: ProxiedRequest) => r.method === 'PATCH' && r.path.startsWith(`/api/v1/namespaces/${ns}/pods/`) && r.path.endsWith('/status');
const resultCreates = (ns: string) => (r: ProxiedRequest) => r.method === 'POST' && r.path === `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;

function perPod(requests: ProxiedRequest[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of requests) { const name = r.path.split('/')[6]!; m.set(name, (m.get(name) ?? 0) + 1); }
  return m;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

async function isLeader(c: ControllerProcess): Promise<boolean> {
  const text = await fetch(`${c.url}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text(), () => '');
  return /^dpready_is_leader 1$/m.test(text);
}


describe('faults', { concurrency: false }, () => {
  let proxy: FaultProxy | undefined;
  before(async () => { await installCrd(cluster()); });
  after(async () => { await proxy?.close(); });

  test('graceful failover over 500 Ready pods: the new leader makes 0 pods/status writes and 0 result writes', async (t) => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('failover');
    await cp.ensureNamespace(ns);
    // The new leader talks to the API server only through this proxy: its writes are counted
    // on the wire, not by the controller's own counter.
    const bProxy = await startFaultProxy(cp);
    const common = { namespace: ns, leaderElect: true, leaseNamespace: ns, leaseName: 'dpready', pendingGraceMs: 60_000, workers: 16 };
    const a = new Controller(cp.kubeConfig, settings({ ...common, identity: 'a' }), testLog);
    await a.start();
    await eventually('a leads', async () => a.isLeader);
    const b = new Controller(bProxy.kubeConfig, settings({ ...common, identity: 'b' }), testLog);
    await b.start();
    try {
      const uids = await burst(api, ns, 500);
      await eventually('500 results', async () => (await results(cp, ns)).length === 500 || undefined, 120_000);
      await a.idle();
      assert.equal(await trueCount(api, ns), 500);
      await eventually('b has every result cached', async () => b.book.size === 500);
      await a.stop();
      const handover = Date.now();
      await eventually('b leads', async () => b.isLeader, 30_000);
      await b.idle();
      // Let anything the new leader would write after taking over reach the wire.
      await new Promise((r) => setTimeout(r, 2_000));
      const sent = bProxy.requests.filter((r) => r.at >= handover);
      const writes = sent.filter(statusPatches(ns)).length;
      const resultWrites = sent.filter((r) => r.method !== 'GET' && r.path.startsWith(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`)).length;
      const leaseWrites = sent.filter((r) => r.method === 'PUT' && r.path.includes('/leases/')).length;
      t.diagnostic(`failover over 500 Ready pods, on the wire from the new leader: ${writes} pods/status writes, ${resultWrites} result writes (${leaseWrites} Lease writes, ${sent.length} requests in all)`);
      // The proxy saw the new leader take the Lease: it is on the path, so its zeros count.
      assert.ok(leaseWrites >= 1, 'the new leader\'s Lease writes went through the proxy');
      assert.equal(writes, 0);
      assert.equal(resultWrites, 0);
      assertOneResultEach(await results(cp, ns), uids);
    } finally {
      await a.stop();
      await b.stop();
      await bProxy.close();
    }
  });

  test('the leader killed with SIGKILL in a 500-pod burst: takeover within the lease, no result lost or written twice, at most one extra status write per pod', async (t) => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('sigkill');
    await cp.ensureNamespace(ns);
    proxy = await startFaultProxy(cp);
    const lease = { durationMs: 6_000, retryMs: 1_000 };
    // Results beside the pods (the default, the controller's own namespace, does not exist here).
    const args = [`--namespace=${ns}`, `--results-namespace=${ns}`, '--leader-elect', `--leader-elect-namespace=${ns}`, '--leader-elect-name=dpready',
      '--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=1s',
      '--pending-grace=60s', '--log-level=warn'];
    const replicas: ControllerProcess[] = [];
    try {
      for (const name of ['replica-a', 'replica-b']) {
        replicas.push(await startControllerProcess(cp, { kubeconfig: proxy.kubeconfigPath, port: await freePort(), args, name: `${ns}-${name}` }));
      }
      const leader = await eventually('a leader', async () => {
        for (const r of replicas) if (await isLeader(r)) return r;
        return undefined;
      }, 30_000);
      const follower = replicas.find((r) => r !== leader)!;
      const creating = burst(api, ns, 500);
      await eventually('a third of the pods written', async () => proxy!.requests.filter(statusPatches(ns)).length >= 150 || undefined, 120_000);
      process.kill(-leader.process.child.pid!, 'SIGKILL');
      const killedAt = Date.now();
      await leader.process.exited;
      await eventually('the follower takes over', async () => isLeader(follower), 60_000, 50);
      // The takeover instant is the new holder's acquireTime on the Lease, not when its /metrics
      // first answered: the new leader is busy with the burst then, and a scrape can lag seconds.
      const acquired = (await cp.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'dpready', namespace: ns })).spec!.acquireTime!;
      const takeover = new Date(acquired).getTime();
      const uids = await creating;
      await eventually('500 Ready', async () => (await trueCount(api, ns)) === 500 || undefined, 120_000);
      await eventually('500 results', async () => (await results(cp, ns)).length === 500 || undefined, 120_000);

      const patches = perPod(proxy.requests.filter(statusPatches(ns)));
      const extra = [...patches.values()].reduce((s, n) => s + n - 1, 0);
      const creates = proxy.requests.filter(resultCreates(ns)).length;
      t.diagnostic(`takeover ${takeover - killedAt} ms after SIGKILL (lease ${lease.durationMs} ms, retry ${lease.retryMs} ms); ` +
        `pods/status writes ${[...patches.values()].reduce((s, n) => s + n, 0)} for 500 pods (${extra} extra); result creates ${creates}`);
      // A follower sees each renewal only when it polls (once per retry period), so the lease it
      // waits out ends at most one retry period after the last renewal, and it acquires on its next
      // poll after that: lease + 2 retries (client-go's bound), plus 1 s for the write itself.
      assert.ok(takeover - killedAt <= lease.durationMs + 2 * lease.retryMs + 1_000, `takeover after ${takeover - killedAt} ms`);
      assert.ok([...patches.values()].every((n) => n <= 2), 'at most one extra pods/status write per pod');
      assertOneResultEach(await results(cp, ns), uids);
    } finally {
      for (const r of replicas) await r.stop();
      await proxy.close();
      proxy = undefined;
    }
  });

  test('connections reset and stalled at random during a burst: every pod reaches its condition, every result recorded once, no hot loop', async (t) => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('resets');
    await cp.ensureNamespace(ns);
    proxy = await startFaultProxy(cp);
    // Faults from the start: lists and watches are reset and stalled too.
    const start = Date.now();
    proxy.faults = { ...proxy.faults, resetRate: 0.1, stallRate: 0.05, stallMs: 7_000 };
    const c = new Controller(proxy.kubeConfig, settings({ namespace: ns, pendingGraceMs: 60_000, workers: 16, apiTimeoutMs: 5_000 }), testLog);
    await c.start();
    try {
      const creating = burst(api, ns, 200);
      await eventually('a third of the pods written', async () => proxy!.requests.filter(statusPatches(ns)).length >= 70 || undefined, 120_000);
      proxy.dropConnections();
      const uids = await creating;
      await eventually('200 Ready', async () => (await trueCount(api, ns)) === 200 || undefined, 180_000);
      await eventually('200 results', async () => (await results(cp, ns)).length === 200 || undefined, 180_000);
      proxy.faults = { ...proxy.faults, resetRate: 0, stallRate: 0 };
      const seen = proxy.requests.filter((r) => r.at >= start);
      const faulted = seen.filter((r) => r.fault).length;
      const watches = seen.filter((r) => r.watch).length;
      const peak = proxy.peakRate(start);
      t.diagnostic(`${seen.length} requests (${faulted} faulted, ${watches} watches), peak ${peak}/s, for 200 pods in ${Date.now() - start} ms`);
      assertOneResultEach(await results(cp, ns), uids);
      assert.ok(watches >= 4, `watches were re-opened after resets (${watches})`);
      assert.ok(faulted >= 10, `faults were injected (${faulted})`);
      assert.ok(seen.length <= 200 * 4 + 200, `${seen.length} requests for 200 pods`);
      assert.ok(watches <= 60, `${watches} watch requests`);
    } finally {
      await c.stop();
      await proxy.close();
      proxy = undefined;
    }
  });

  for (const status of [429, 500] as const) {
    test(`kube-apiserver answering ${status} for 8 s: the controller backs off, does not crash, and recovers`, async (t) => {
      const cp = cluster();
      const api = core(cp);
      const ns = uniqueName(`s${status}`);
      await cp.ensureNamespace(ns);
      proxy = await startFaultProxy(cp);
      const c = new Controller(proxy.kubeConfig, settings({ namespace: ns, pendingGraceMs: 60_000, workers: 16 }), testLog);
      await c.start();
      try {
        // A first pod through the whole path: the watches are open before the phase starts, so
        // the phase faults the controller's writes, not just its first watch request.
        await burst(api, ns, 1, 'canary', 1);
        await eventually('the canary pod Ready', async () => (await trueCount(api, ns)) === 1 || undefined);
        proxy.faults = { ...proxy.faults, status, statusRate: 1 };
        const from = Date.now();
        const uids = await burst(api, ns, 50);
        await new Promise((r) => setTimeout(r, Math.max(0, 8_000 - (Date.now() - from))));
        proxy.faults = { ...proxy.faults, statusRate: 0 };
        const to = Date.now();
        const during = proxy.requests.filter((r) => r.at >= from && r.at < to);
        const peak = proxy.peakRate(from, to);
        await eventually('51 Ready after the phase', async () => (await trueCount(api, ns)) === 51 || undefined, 60_000);
        await eventually('51 results', async () => (await results(cp, ns)).length === 51 || undefined, 60_000);
        t.diagnostic(`${status} phase of ${to - from} ms: ${during.length} requests, peak ${peak}/s; recovered ${Date.now() - to} ms after it cleared`);
        const faulted = during.filter((r) => r.fault === String(status)).length;
        assert.ok(faulted >= 50, `the controller's writes met the ${status}s (${faulted})`);
        // Per-pod backoff from 200 ms, doubling: about 6 tries per pod and write in 8 s. Each pod has
        // two writes, its condition and its result, on queues of their own (the result does not
        // wait for the condition), each with its own backoff. A hot loop makes thousands.
        assert.ok(during.length <= 2 * 50 * 10 + 50, `${during.length} requests in the ${status} phase`);
        assert.ok(peak <= 2 * 400, `peak ${peak} requests/s`);
        const all = await results(cp, ns);
        assertOneResultEach(all.filter((r) => r.spec.podRef.name !== 'canary-0'), uids);
      } finally {
        await c.stop();
        await proxy.close();
        proxy = undefined;
      }
    });
  }
});
