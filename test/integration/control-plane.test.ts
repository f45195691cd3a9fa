// Smoke tests of the foundation against real etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and KWOK: the CRD serves, our status patch leaves kubelet-owned conditions
// alone, and KWOK treats readiness gates like a kubelet does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PatchStrategy, type V1Pod } from '@kubernetes/client-node';
import { API_VERSION, CONDITION_TYPE, GROUP, KIND, PLURAL, VERSION, resultName } from '../../src/contract.ts';
import { conditionPatch } from '../../src/conditions/condition-patch.ts';
import { ConditionReason } from '../../src/contract.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';

const cluster = useControlPlane({ nodes: 2 });

function gatedPod(name: string, opts: { unscheduled?: boolean } = {}): V1Pod {
  return {
    metadata: { name },
    spec: {
      // A scheduler that does not exist: the pod is never bound, so KWOK leaves it alone.
      ...(opts.unscheduled ? { schedulerName: 'dpready-test-no-such-scheduler' } : {}),
      readinessGates: [{ conditionType: CONDITION_TYPE }],
      containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
    },
  };
}

const condition = (pod: V1Pod, type: string) => pod.status?.conditions?.find((c) => c.type === type);

describe('local control plane', () => {
  test('the DatapathResult CRD can be applied, and a result created, read and listed', async () => {
    const cp = cluster();
    await installCrd(cp);
    const ns = uniqueName('crd');
    await cp.ensureNamespace(ns);
    const uid = '3f0c2a5e-0000-4000-8000-000000000001';
    const api = custom(cp);
    await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: {
      apiVersion: API_VERSION, kind: KIND, metadata: { name: resultName(uid) },
      spec: {
        podRef: { namespace: ns, name: 'p', uid, nodeName: 'n1' },
        timestamps: { createdAt: '2026-11-22T10:00:00.123Z', createdAtSource: 'controllerFirstSeen', startTs: '2026-11-22T10:00:00.400Z',
          dpReadyTs: '2026-11-22T10:00:01.000Z', recordedAt: '2026-11-22T10:00:01.010Z' },
        metrics: { latStartMs: 277, latDpReadyMs: 877 },
        labels: { app: 'x' }, outcome: 'Succeeded', reason: 'DatapathReady',
      },
    } });
    const got = await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: resultName(uid) }) as { spec: { metrics: { latDpReadyMs: number } } };
    assert.equal(got.spec.metrics.latDpReadyMs, 877);
    const list = await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL }) as { items: unknown[] };
    assert.equal(list.items.length, 1);
    const { stdout } = await cp.kubectl(['get', 'dpr', '-n', ns]);
    assert.match(stdout, /OUTCOME/);
    assert.match(stdout, /Succeeded/);
    // Results of two pods named p in two namespaces sit side by side in the results namespace:
    // `kubectl get dpr` tells them apart by the pod's namespace, and the category lists them too.
    const uid2 = '3f0c2a5e-0000-4000-8000-000000000002';
    await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: {
      apiVersion: API_VERSION, kind: KIND, metadata: { name: resultName(uid2) },
      spec: {
        podRef: { namespace: 'team-b', name: 'p', uid: uid2, nodeName: 'n1' },
        timestamps: { createdAt: '2026-11-22T10:00:00.123Z', createdAtSource: 'controllerFirstSeen', recordedAt: '2026-11-22T10:00:01.010Z' },
        metrics: {}, labels: {}, outcome: 'TimedOut', reason: 'DatapathTimeout',
      },
    } });
    for (const resource of ['dpr', 'dpready']) {
      const [header, ...lines] = (await cp.kubectl(['get', resource, '-n', ns])).stdout.trimEnd().split('\n');
      // Cells are cut at the header's column starts (an empty cell leaves no gap to split on).
      const starts = [...header!.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index);
      const cells = (l: string) => starts.map((at, i) => l.slice(at, starts[i + 1]).trim());
      assert.deepEqual(cells(header!).slice(0, 3), ['NAME', 'POD NAMESPACE', 'POD'], resource);
      const outcome = cells(header!).indexOf('OUTCOME');
      assert.deepEqual(lines.map(cells).map((r) => `${r[1]}/${r[2]} ${r[outcome]}`).sort(), [`${ns}/p Succeeded`, 'team-b/p TimedOut'], resource);
    }

    // The structural schema rejects an outcome outside the set.
    await assert.rejects(api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: {
      apiVersion: API_VERSION, kind: KIND, metadata: { name: 'bad' },
      spec: { podRef: { namespace: ns, name: 'p', uid: 'u' }, timestamps: { createdAt: '2026-11-22T10:00:00Z', createdAtSource: 'creationTimestamp', recordedAt: '2026-11-22T10:00:00Z' },
        metrics: {}, labels: {}, outcome: 'Maybe' },
    } }), /outcome/);
  });

  test('a strategic-merge patch of our condition leaves kubelet-owned conditions untouched', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('smp');
    await cp.ensureNamespace(ns);
    // Never scheduled: KWOK leaves the pod alone, so the test plays the kubelet itself.
    const pod = await api.createNamespacedPod({ namespace: ns, body: gatedPod('p', { unscheduled: true }) });
    const t = new Date('2026-11-22T10:00:00Z');
    const kubelet = [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
      { type: 'Initialized', status: 'True', lastTransitionTime: t },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: t },
      { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: 'gate not true', lastTransitionTime: t },
    ];
    await api.patchNamespacedPodStatus({ name: 'p', namespace: ns, body: { status: { phase: 'Running', conditions: kubelet } } },
      callOptions({ timeoutMs: 10_000, patch: PatchStrategy.StrategicMergePatch }));

    const patch = conditionPatch(pod.metadata!.uid!, undefined, { status: 'True', reason: ConditionReason.DatapathReady, message: 'ok' }, new Date())!;
    await api.patchNamespacedPodStatus({ name: 'p', namespace: ns, body: patch }, callOptions({ timeoutMs: 10_000, patch: PatchStrategy.StrategicMergePatch }));

    const after = await api.readNamespacedPodStatus({ name: 'p', namespace: ns });
    assert.equal(after.status?.phase, 'Running');
    for (const k of kubelet) {
      const c = condition(after, k.type);
      assert.ok(c, `${k.type} still present`);
      assert.equal(c.status, k.status, `${k.type} status unchanged`);
      assert.equal(c.reason, k.reason, `${k.type} reason unchanged`);
    }
    assert.equal(condition(after, CONDITION_TYPE)?.status, 'True');
    assert.equal(after.status?.conditions?.length, kubelet.length + 1);

    // The UID precondition: a patch meant for an earlier pod of the same name is refused
    // (the API server reports the UID mismatch as an invalid change to an immutable field).
    const stale = conditionPatch('00000000-0000-0000-0000-000000000000', undefined, { status: 'False', reason: ConditionReason.Probing, message: 'x' }, new Date())!;
    await assert.rejects(api.patchNamespacedPodStatus({ name: 'p', namespace: ns, body: stale },
      callOptions({ timeoutMs: 10_000, patch: PatchStrategy.StrategicMergePatch })),
    (err: { code?: number; body?: string }) => err.code === 422 && /metadata\.uid/.test(String(err.body)));
    assert.equal(condition(await api.readNamespacedPodStatus({ name: 'p', namespace: ns }), CONDITION_TYPE)?.status, 'True');
  });

  test('on a KWOK node a gated pod stays not Ready until our condition is True, and turns back when it is False', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('gate');
    await cp.ensureNamespace(ns);
    const created = await api.createNamespacedPod({ namespace: ns, body: gatedPod('gated') });
    const uid = created.metadata!.uid!;

    const running = await eventually('pod Running on a KWOK node', async () => {
      const p = await api.readNamespacedPod({ name: 'gated', namespace: ns });
      return p.status?.phase === 'Running' && condition(p, 'ContainersReady')?.status === 'True' ? p : undefined;
    });
    assert.ok(running.spec?.nodeName?.startsWith('kwok-node-'), 'scheduled onto a KWOK node by kube-scheduler');
    assert.equal(condition(running, CONDITION_TYPE), undefined, 'KWOK must not invent our condition');
    // Give KWOK time to (wrongly) flip Ready; it must stay False while the gate is missing.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(condition(await api.readNamespacedPod({ name: 'gated', namespace: ns }), 'Ready')?.status, 'False');

    const smp = callOptions({ timeoutMs: 10_000, patch: PatchStrategy.StrategicMergePatch });
    await api.patchNamespacedPodStatus({ name: 'gated', namespace: ns,
      body: conditionPatch(uid, undefined, { status: 'True', reason: ConditionReason.DatapathReady, message: 'ok' }, new Date()) }, smp);
    await eventually('Ready True after our condition turned True', async () =>
      condition(await api.readNamespacedPod({ name: 'gated', namespace: ns }), 'Ready')?.status === 'True');

    await api.patchNamespacedPodStatus({ name: 'gated', namespace: ns,
      body: conditionPatch(uid, { status: 'True' }, { status: 'False', reason: ConditionReason.DatapathTimeout, message: 'lost' }, new Date()) }, smp);
    await eventually('Ready back to False after our condition turned False', async () =>
      condition(await api.readNamespacedPod({ name: 'gated', namespace: ns }), 'Ready')?.status === 'False');
  });

  test('an ungated pod on a KWOK node becomes Ready without our condition', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('plain');
    await cp.ensureNamespace(ns);
    await api.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'plain' }, spec: { containers: [{ name: 'app', image: 'x' }] } } });
    await eventually('Ready True', async () => condition(await api.readNamespacedPod({ name: 'plain', namespace: ns }), 'Ready')?.status === 'True');
  });
});
