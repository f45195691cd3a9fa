// The controller against real kube-apiserver, kube-scheduler, kube-controller-manager and KWOK.
// Reporter output is written here as the reporter would (a merge patch of our annotations),
// so each test controls exactly what the controller sees.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PatchStrategy, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_START, CONDITION_TYPE, ConditionReason, GROUP, PLURAL, VERSION, resultName,
  type DatapathResultSpec,
} from '../../src/contract.ts';
import { callOptions, isNamespaceNotFound } from '../../src/kube/request-options.ts';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { metricValue, startController } from '../support/controller.ts';
import { earlyInASecond } from '../support/early-in-a-second.ts';

const cluster = useControlPlane({ nodes: 1 });

const NOT_SCHEDULED = 'dpready-test-no-such-scheduler';

function pod(name: string, opts: { gate?: boolean; scheduled?: boolean; labels?: Record<string, string> } = {}): V1Pod {
  return {
    metadata: { name, labels: { app: 'dp', ...opts.labels } },
    spec: {
      ...(opts.scheduled ? {} : { schedulerName: NOT_SCHEDULED }),
      ...(opts.gate === false ? {} : { readinessGates: [{ conditionType: CONDITION_TYPE }] }),
      containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
    },
  };
}

async function annotate(api: CoreV1Api, ns: string, name: string, annotations: Record<string, string | null>): Promise<void> {
  await api.patchNamespacedPod({ name, namespace: ns, body: { metadata: { annotations } } },
    callOptions({ timeoutMs: 10_000, patch: PatchStrategy.MergePatch }));
}

function reporterOutput(createdAt: Date, startAfterMs: number, readyAfterMs?: number): Record<string, string> {
  const iso = (ms: number) => new Date(createdAt.getTime() + ms).toISOString();
  return {
    [ANNOTATION_START]: iso(startAfterMs),
    ...(readyAfterMs !== undefined ? { [ANNOTATION_DP_READY]: iso(readyAfterMs) } : {}),
    [ANNOTATION_PROBE]: JSON.stringify({ targets: ['tcp://10.1.2.3:80'], attempts: 4, rttMs: 0.8 }),
  };
}

async function ourCondition(api: CoreV1Api, ns: string, name: string) {
  const p = await api.readNamespacedPod({ name, namespace: ns });
  return p.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
}

async function result(cp: ControlPlane, ns: string, uid: string): Promise<DatapathResultSpec | undefined> {
  try {
    const r = await custom(cp).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: resultName(uid) }) as { spec: DatapathResultSpec };
    return r.spec;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function listResults(cp: ControlPlane, ns: string): Promise<Array<{ metadata: { name: string; resourceVersion: string }; spec: DatapathResultSpec }>> {
  const r = await custom(cp).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL }) as { items: Array<{ metadata: { name: string; resourceVersion: string }; spec: DatapathResultSpec }> };
  return r.items;
}

async function namespace(cp: ControlPlane, prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await cp.ensureNamespace(ns);
  return ns;
}

describe('controller', { concurrency: false }, () => {
  before(async () => { await installCrd(cluster()); });

  test('reporter annotations become a True condition and a Succeeded result with millisecond latencies', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'happy');
    const c = await startController(cp, { namespace: ns });
    try {
      // creationTimestamp is truncated to its second, and the controller's first sight refines it
      // only when it lands in that same second. Creating the pod early in a second keeps the
      // refinement from depending on whether the watch's delivery crossed a second boundary
      // (CI failed once here: created late in a second, seen in the next).
      await earlyInASecond();
      const created = await api.createNamespacedPod({ namespace: ns, body: pod('p1', { labels: { tier: 'web' } }) });
      const uid = created.metadata!.uid!;
      // Within the pending grace the controller writes nothing; after it, the gate is False with a reason.
      const waiting = await eventually('AwaitingReporter', async () => (await ourCondition(api, ns, 'p1'))?.reason === ConditionReason.AwaitingReporter && ourCondition(api, ns, 'p1'));
      assert.equal(waiting?.status, 'False');

      const createdAt = created.metadata!.creationTimestamp as unknown as Date;
      await annotate(api, ns, 'p1', reporterOutput(createdAt, 300, 1_234));
      const cond = await eventually('condition True', async () => { const x = await ourCondition(api, ns, 'p1'); return x?.status === 'True' && x; });
      assert.equal(cond.reason, ConditionReason.DatapathReady);
      assert.match(cond.message!, /tcp:\/\/10\.1\.2\.3:80 answered \d+ ms after pod creation/);

      const spec = await eventually('result', () => result(cp, ns, uid));
      assert.equal(spec.outcome, 'Succeeded');
      assert.equal(spec.podRef.name, 'p1');
      assert.deepEqual(spec.labels, { app: 'dp', tier: 'web' });
      assert.equal(spec.probe?.attempts, 4);
      // creationTimestamp has whole seconds; the first-seen instant refines it within that second.
      assert.equal(spec.timestamps.createdAtSource, 'controllerFirstSeen');
      const createdMs = Date.parse(spec.timestamps.createdAt);
      assert.ok(createdMs >= createdAt.getTime() && createdMs < createdAt.getTime() + 1_000);
      assert.equal(spec.metrics.latDpReadyMs, Math.round(createdAt.getTime() + 1_234 - createdMs));
      assert.equal(spec.metrics.latStartMs, Math.round(createdAt.getTime() + 300 - createdMs));
    } finally {
      await c.stop();
    }
  });

  test('a gated pod on a KWOK node becomes Ready only after our condition, and kubelet conditions survive', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'kwok');
    const c = await startController(cp, { namespace: ns });
    try {
      const created = await api.createNamespacedPod({ namespace: ns, body: pod('k1', { scheduled: true }) });
      const running = await eventually('Running with our False condition', async () => {
        const p = await api.readNamespacedPod({ name: 'k1', namespace: ns });
        const ours = p.status?.conditions?.find((x) => x.type === CONDITION_TYPE);
        return p.status?.phase === 'Running' && ours?.status === 'False' && p;
      });
      assert.equal(running.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'False');
      assert.equal(running.status?.conditions?.find((x) => x.type === 'ContainersReady')?.status, 'True');

      await annotate(api, ns, 'k1', reporterOutput(created.metadata!.creationTimestamp as unknown as Date, 100, 400));
      const ready = await eventually('Ready True', async () => {
        const p = await api.readNamespacedPod({ name: 'k1', namespace: ns });
        return p.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' && p;
      });
      for (const t of ['PodScheduled', 'Initialized', 'ContainersReady']) {
        assert.equal(ready.status?.conditions?.find((x) => x.type === t)?.status, 'True', `${t} kept`);
      }
    } finally {
      await c.stop();
    }
  });

  test('a malformed annotation is a failed result quoting the value, re-evaluated once fixed', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'bad');
    const c = await startController(cp, { namespace: ns });
    try {
      const created = await api.createNamespacedPod({ namespace: ns, body: pod('b1') });
      const uid = created.metadata!.uid!;
      await annotate(api, ns, 'b1', { [ANNOTATION_DP_READY]: 'half past nine' });
      const cond = await eventually('InvalidAnnotation', async () => { const x = await ourCondition(api, ns, 'b1'); return x?.reason === ConditionReason.InvalidAnnotation && x; });
      assert.equal(cond.status, 'False');
      assert.match(cond.message!, /"half past nine"/);
      const failed = await eventually('failed result', () => result(cp, ns, uid));
      assert.equal(failed.outcome, 'Failed');
      assert.match(failed.message!, /half past nine/);

      // Ready well past the creation second: the result measures from the controller's first sight
      // of the pod, which can fall anywhere in that second, so 900 ms could come out negative.
      await annotate(api, ns, 'b1', reporterOutput(created.metadata!.creationTimestamp as unknown as Date, 100, 1_900));
      await eventually('condition True after the fix', async () => (await ourCondition(api, ns, 'b1'))?.status === 'True');
      const fixed = await eventually('result rewritten', async () => { const r = await result(cp, ns, uid); return r?.outcome === 'Succeeded' && r; });
      assert.ok(fixed.metrics.latDpReadyMs! > 0);
    } finally {
      await c.stop();
    }
  });

  for (const policy of ['fail-closed', 'fail-open'] as const) {
    test(`timeout with ${policy}: a pod without datapath success is recorded TimedOut and its gate ${policy === 'fail-open' ? 'opens' : 'stays closed'}`, async () => {
      const cp = cluster();
      const api = core(cp);
      const ns = await namespace(cp, `to-${policy}`);
      const c = await startController(cp, { namespace: ns, datapathTimeoutMs: 3_000, timeoutPolicy: policy });
      try {
        const created = await api.createNamespacedPod({ namespace: ns, body: pod('slow') });
        const silent = await api.createNamespacedPod({ namespace: ns, body: pod('silent') });
        await annotate(api, ns, 'slow', { [ANNOTATION_START]: new Date().toISOString() });
        const want = policy === 'fail-open'
          ? { status: 'True', reason: ConditionReason.DatapathTimeoutFailOpen }
          : { status: 'False', reason: ConditionReason.DatapathTimeout };
        for (const name of ['slow', 'silent']) {
          const cond = await eventually(`${name} timed out`, async () => { const x = await ourCondition(api, ns, name); return x?.reason === want.reason && x; }, 15_000);
          assert.equal(cond.status, want.status);
        }
        assert.match((await ourCondition(api, ns, 'silent'))!.message!, /no reporter output within 3s/);
        for (const uid of [created.metadata!.uid!, silent.metadata!.uid!]) {
          const r = await eventually('TimedOut result', () => result(cp, ns, uid));
          assert.equal(r.outcome, 'TimedOut');
        }
        const events = await api.listNamespacedEvent({ namespace: ns });
        assert.ok(events.items.some((e) => e.reason === want.reason && e.involvedObject.name === 'slow'), 'an Event says the gate timed out');
      } finally {
        await c.stop();
      }
    });
  }

  test('pods deleted before their outcome was recorded are recorded from the delete event', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'del');
    const c = await startController(cp, { namespace: ns, pendingGraceMs: 60_000 });
    try {
      // No gate: only the annotations make it ours. A start with no success, then deleted.
      const a = await api.createNamespacedPod({ namespace: ns, body: pod('started-only', { gate: false }) });
      await annotate(api, ns, 'started-only', { [ANNOTATION_START]: new Date().toISOString() });
      await eventually('controller saw the start', async () => c.store.get(a.metadata!.uid!)?.annotations[ANNOTATION_START] !== undefined);
      await api.deleteNamespacedPod({ name: 'started-only', namespace: ns, gracePeriodSeconds: 0 });
      const ra = await eventually('result of the deleted pod', () => result(cp, ns, a.metadata!.uid!));
      assert.equal(ra.outcome, 'Failed');
      assert.equal(ra.reason, 'PodDeleted');

      // A pod that was never gated or annotated leaves nothing behind.
      const b = await api.createNamespacedPod({ namespace: ns, body: pod('nothing', { gate: false }) });
      await api.deleteNamespacedPod({ name: 'nothing', namespace: ns, gracePeriodSeconds: 0 });
      await c.idle();
      assert.equal(await result(cp, ns, b.metadata!.uid!), undefined);
    } finally {
      await c.stop();
    }
  });

  test('a controller restart in the middle of a burst of 200 pods loses no result and writes none twice', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'burst');
    const first = await startController(cp, { namespace: ns, workers: 4 });
    const uids: string[] = [];
    const createAndReport = async (i: number) => {
      const p = await api.createNamespacedPod({ namespace: ns, body: pod(`b-${i}`) });
      uids.push(p.metadata!.uid!);
      await annotate(api, ns, `b-${i}`, reporterOutput(p.metadata!.creationTimestamp as unknown as Date, 50, 250));
    };
    const creates: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) creates.push(createAndReport(i));
    await Promise.all(creates);
    await first.stop();
    const firstCreates = await metricValue(first, 'dpready_kube_api_writes_total', { resource: PLURAL, verb: 'create' });
    creates.length = 0;
    for (let i = 100; i < 200; i++) creates.push(createAndReport(i));
    await Promise.all(creates);
    const second = await startController(cp, { namespace: ns, workers: 4 });
    try {
      await eventually('200 results', async () => (await listResults(cp, ns)).length === 200 || undefined, 60_000);
      await second.idle();
      const items = await listResults(cp, ns);
      assert.deepEqual(new Set(items.map((r) => r.spec.podRef.uid)), new Set(uids));
      assert.ok(items.every((r) => r.spec.outcome === 'Succeeded'));
      const secondCreates = await metricValue(second, 'dpready_kube_api_writes_total', { resource: PLURAL, verb: 'create' });
      const updates = await metricValue(second, 'dpready_kube_api_writes_total', { resource: PLURAL, verb: 'update' });
      assert.equal(firstCreates + secondCreates, 200, 'every result created exactly once across both runs');
      assert.equal(updates, 0);
    } finally {
      await second.stop();
    }
  });

  test('a kube-apiserver restart mid-run: the watch recovers and nothing is lost', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'apirestart');
    const c = await startController(cp, { namespace: ns });
    try {
      const before = await api.createNamespacedPod({ namespace: ns, body: pod('before') });
      await annotate(api, ns, 'before', reporterOutput(before.metadata!.creationTimestamp as unknown as Date, 10, 20));
      await eventually('first result', () => result(cp, ns, before.metadata!.uid!));
      await cp.restartApiServer();
      const after = await api.createNamespacedPod({ namespace: ns, body: pod('after') });
      await annotate(api, ns, 'after', reporterOutput(after.metadata!.creationTimestamp as unknown as Date, 10, 20));
      const r = await eventually('result after the restart', () => result(cp, ns, after.metadata!.uid!), 60_000);
      assert.equal(r.outcome, 'Succeeded');
      // The result is written beside the condition, not after it: the condition may land a moment later.
      await eventually('the condition True after the restart', async () => (await ourCondition(api, ns, 'after'))?.status === 'True', 30_000);
      assert.ok(await metricValue(c, 'dpready_watch_restarts_total', { resource: 'pods' }) >= 1, 'the pod watch was restarted');
    } finally {
      await c.stop();
    }
  });

  test('--label-selector (full syntax) is applied: pods outside it get no condition and no result', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'sel');
    const c = await startController(cp, { namespace: ns, labelSelector: 'tier in (web,api),!canary' });
    try {
      const inside = await api.createNamespacedPod({ namespace: ns, body: pod('in', { labels: { tier: 'web' } }) });
      const canary = await api.createNamespacedPod({ namespace: ns, body: pod('canary', { labels: { tier: 'web', canary: 'true' } }) });
      for (const p of [inside, canary]) {
        await annotate(api, ns, p.metadata!.name!, reporterOutput(p.metadata!.creationTimestamp as unknown as Date, 10, 20));
      }
      await eventually('result for the selected pod', () => result(cp, ns, inside.metadata!.uid!));
      await c.idle();
      assert.equal(await result(cp, ns, canary.metadata!.uid!), undefined);
      assert.equal(await ourCondition(api, ns, 'canary'), undefined);
      assert.equal(c.store.get(canary.metadata!.uid!), undefined, 'the API server filtered it: never even cached');
    } finally {
      await c.stop();
    }
  });

  test('--result-ttl deletes expired results of deleted pods only; a live pod keeps its result and is not counted again', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'ttl');
    // Below the flag's 1m floor on purpose: the settings object is the controller's own, the flag check is tested elsewhere.
    const c = await startController(cp, { namespace: ns, resultTtlMs: 3_000, resyncMs: 1_000 });
    try {
      const uids: Record<string, string> = {};
      for (const name of ['live', 'gone']) {
        const p = await api.createNamespacedPod({ namespace: ns, body: pod(name) });
        uids[name] = p.metadata!.uid!;
        await annotate(api, ns, name, reporterOutput(p.metadata!.creationTimestamp as unknown as Date, 10, 20));
        await eventually(`${name} result written`, () => result(cp, ns, uids[name]!));
      }
      await api.deleteNamespacedPod({ name: 'gone', namespace: ns, gracePeriodSeconds: 0 });
      await eventually('the deleted pod\'s result collected after its TTL', async () => (await result(cp, ns, uids.gone!)) === undefined, 20_000);
      // Several resyncs and collections later, the live pod's result is the one first written.
      const kept = (await listResults(cp, ns)).find((r) => r.spec.podRef.uid === uids.live);
      assert.ok(kept, 'the live pod keeps its result');
      await new Promise((r) => setTimeout(r, 3_000));
      const still = (await listResults(cp, ns)).find((r) => r.spec.podRef.uid === uids.live);
      assert.equal(still?.metadata.resourceVersion, kept.metadata.resourceVersion);
      assert.equal(await metricValue(c, 'dpready_kube_api_writes_total', { resource: PLURAL, verb: 'delete' }), 1);
      assert.equal(await metricValue(c, 'dpready_results_total', {}), 2, 'each result counted once');
    } finally {
      await c.stop();
    }
  });

  test('result writes: a missing namespace is told apart from a resource the API server does not serve (a missing CRD)', async () => {
    const cp = cluster();
    const api = custom(cp);
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'DatapathResult', metadata: { name: 'x' }, spec: {} };
    const missingNs = await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'no-such-namespace', plural: PLURAL, body }).catch((e: unknown) => e);
    assert.equal(isNamespaceNotFound(missingNs), true, String((missingNs as { body?: unknown }).body));
    const ns = await namespace(cp, 'crd');
    const notServed = await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'nosuchresources', body }).catch((e: unknown) => e);
    assert.equal((notServed as { code?: number }).code, 404);
    assert.equal(isNamespaceNotFound(notServed), false, String((notServed as { body?: unknown }).body));
  });

  test('two replicas with leader election: one writer, and the other takes over when it stops', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = await namespace(cp, 'ha');
    const common = { namespace: ns, leaderElect: true, leaseNamespace: ns, leaseName: 'dpready-ha' };
    const a = await startController(cp, { ...common, identity: 'replica-a' });
    await eventually('a leads', async () => a.isLeader);
    const b = await startController(cp, { ...common, identity: 'replica-b' });
    try {
      const p1 = await api.createNamespacedPod({ namespace: ns, body: pod('h1') });
      await annotate(api, ns, 'h1', reporterOutput(p1.metadata!.creationTimestamp as unknown as Date, 10, 20));
      await eventually('h1 result', () => result(cp, ns, p1.metadata!.uid!));
      await a.idle();
      // b keeps its caches (it can serve reads) but never wrote.
      await eventually('b has the result in its cache', async () => !!b.book.get(p1.metadata!.uid!));
      assert.equal(b.isLeader, false);
      assert.equal(await metricValue(b, 'dpready_kube_api_writes_total', {}), 0, 'the follower wrote nothing');

      await a.stop(); // releases the lease
      await eventually('b leads', async () => b.isLeader, 20_000);
      const p2 = await api.createNamespacedPod({ namespace: ns, body: pod('h2') });
      await annotate(api, ns, 'h2', reporterOutput(p2.metadata!.creationTimestamp as unknown as Date, 10, 20));
      await eventually('h2 result written by b', () => result(cp, ns, p2.metadata!.uid!));
      // The counter moves when b has read the API's answer, which can be after the result is visible.
      await eventually('b counted its result write', async () => await metricValue(b, 'dpready_kube_api_writes_total', { resource: PLURAL }) >= 1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

