// Two shards (--shards=2) on a real kube-apiserver: each controller reaches the API server
// only through its own proxy, so every write it makes is seen on the wire with the pod it was
// for (a condition patch by its path, a result create and an Event by their bodies). The sets
// of pods the two shards wrote for are disjoint, together cover every pod, and each pod was
// handled by the shard its namespace hashes to: no pod handled by both.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PatchStrategy } from '@kubernetes/client-node';
import { ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE, GROUP, PLURAL, VERSION } from '../../src/contract.ts';
import { Controller } from '../../src/controller/controller.ts';
import { shardOf } from '../../src/controller/shard.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { settings, testLog } from '../support/controller.ts';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from '../support/fault-proxy.ts';

const cluster = useControlPlane({ nodes: 0 });
const PODS_PER_NS = 8;
const proxies: FaultProxy[] = [];
const controllers: Controller[] = [];


/** The pod ("ns/name") a write was for, or undefined for writes about no pod (the Lease). */
function podOf(r: ProxiedRequest): string | undefined {
  const status = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/status$/.exec(r.path);
  if (status) return `${status[1]}/${status[2]}`;
  const body = JSON.parse(r.body || '{}') as { spec?: { podRef?: { namespace: string; name: string } }; involvedObject?: { kind?: string; namespace: string; name: string } };
  if (r.path.endsWith(`/${PLURAL}`) || r.path.includes(`/${PLURAL}/`)) {
    assert.ok(body.spec?.podRef, `a result write names its pod: ${r.method} ${r.path}`);
    return `${body.spec.podRef.namespace}/${body.spec.podRef.name}`;
  }
  if (/\/events$/.test(r.path) && body.involvedObject?.kind === 'Pod') return `${body.involvedObject.namespace}/${body.involvedObject.name}`;
  return undefined;
}

describe('two shards', { concurrency: false }, () => {
  before(async () => { await installCrd(cluster()); });
  after(async () => {
    for (const c of controllers) await c.stop();
    for (const p of proxies) await p.close();
  });

  test('two shards: every pod is written for by exactly one shard, the one its namespace hashes to', { timeout: 5 * 60_000 }, async (t) => {
    const cp = cluster();
    const api = core(cp);
    // Namespaces picked so each shard has three of them.
    const namespaces: string[] = [];
    const perShard = [0, 0];
    while (namespaces.length < 6) {
      const ns = uniqueName('shard');
      const s = shardOf(ns, 2);
      if (perShard[s]! < 3) { perShard[s]!++; namespaces.push(ns); }
    }
    const resultsNs = uniqueName('shard-results');
    for (const ns of [resultsNs, ...namespaces]) await cp.ensureNamespace(ns);
    for (const index of [0, 1]) {
      const proxy = await startFaultProxy(cp);
      proxies.push(proxy);
      const c = new Controller(proxy.kubeConfig, settings({
        namespace: '', resultsNamespace: resultsNs, labelSelector: 'app=sharded', shard: { count: 2, index }, pendingGraceMs: 60_000,
      }), testLog);
      controllers.push(c);
      await c.start();
    }
    const pods = namespaces.flatMap((ns) => Array.from({ length: PODS_PER_NS }, (_, i) => ({ ns, name: `p-${i}` })));
    await Promise.all(pods.map(async ({ ns, name }) => {
      await api.createNamespacedPod({ namespace: ns, body: { metadata: { name, labels: { app: 'sharded' } }, spec: {
        schedulerName: 'dpready-test-no-such-scheduler', readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } });
      const now = Date.now();
      await api.patchNamespacedPod({ name, namespace: ns, body: { metadata: { annotations: {
        [ANNOTATION_START]: new Date(now - 100).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() } } } },
      callOptions({ timeoutMs: 30_000, patch: PatchStrategy.MergePatch }));
    }));
    await eventually(`${pods.length} results`, async () => {
      const items = ((await custom(cp).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: resultsNs, plural: PLURAL })) as { items: unknown[] }).items;
      return items.length === pods.length || undefined;
    }, 120_000);
    for (const c of controllers) await c.idle();

    const handled = proxies.map((p) => new Set(p.requests.filter((r) => r.method !== 'GET').map(podOf).filter((k): k is string => k !== undefined)));
    t.diagnostic(`pods written for: shard 0 ${handled[0]!.size}, shard 1 ${handled[1]!.size}; writes on the wire ${proxies.map((p) => p.requests.filter((r) => r.method !== 'GET').length).join(' + ')}`);
    const both = [...handled[0]!].filter((k) => handled[1]!.has(k));
    assert.deepEqual(both, [], 'no pod written for by both shards');
    assert.deepEqual(new Set([...handled[0]!, ...handled[1]!]), new Set(pods.map((p) => `${p.ns}/${p.name}`)), 'every pod written for');
    for (const [index, set] of handled.entries()) {
      for (const key of set) assert.equal(shardOf(key.split('/')[0]!, 2), index, `${key} handled by shard ${index}`);
      assert.equal(set.size, 3 * PODS_PER_NS, `shard ${index} handled its three namespaces' pods`);
    }
  });
});
