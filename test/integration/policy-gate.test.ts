// The policy check through the controller, against the real kube-apiserver: a pod whose reporter
// has deny targets stays AwaitingPolicy (naming the target that still answers) after its datapath
// works, turns True when the policy-enforced instant arrives, and times out as PolicyNotEnforced
// when it never does; its result carries the instant and the API serves the series. Reporter
// output is written here as the reporter writes it (merge patches of our annotations).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PatchStrategy, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, ANNOTATION_PROBE, ANNOTATION_START, CONDITION_TYPE,
  ConditionReason, GROUP, PLURAL, VERSION, resultName, type DatapathResultSpec,
} from '../../src/contract.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { startControllerWithApi } from '../support/controller.ts';

const cluster = useControlPlane({ nodes: 0 });
const DENY = 'tcp://forbidden.other.svc:8080';

function pod(name: string): V1Pod {
  return { metadata: { name, labels: { app: 'pol' } }, spec: { schedulerName: 'dpready-test-no-such-scheduler',
    readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } };
}

async function annotate(api: CoreV1Api, ns: string, name: string, annotations: Record<string, string | null>): Promise<void> {
  await api.patchNamespacedPod({ name, namespace: ns, body: { metadata: { annotations } } }, callOptions({ timeoutMs: 10_000, patch: PatchStrategy.MergePatch }));
}

async function condition(api: CoreV1Api, ns: string, name: string) {
  return (await api.readNamespacedPod({ name, namespace: ns })).status?.conditions?.find((c) => c.type === CONDITION_TYPE);
}

async function result(ns: string, uid: string): Promise<DatapathResultSpec | undefined> {
  try {
    return (await custom(cluster()).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: resultName(uid) }) as { spec: DatapathResultSpec }).spec;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** The reporter's ready patch with deny targets: ready and the policy probe in one write. */
function readyWithPolicy(created: number, policy: Record<string, unknown>): Record<string, string> {
  return {
    [ANNOTATION_START]: new Date(created + 50).toISOString(),
    [ANNOTATION_DP_READY]: new Date(created + 400).toISOString(),
    [ANNOTATION_PROBE]: JSON.stringify({ targets: ['tcp://10.0.0.1:80'], attempts: 3 }),
    [ANNOTATION_POLICY_PROBE]: JSON.stringify({ targets: [DENY], attempts: 5, confirm: 3, ...policy }),
  };
}

describe('policy check through the controller', { concurrency: false }, () => {
  before(async () => { await installCrd(cluster()); });

  test('AwaitingPolicy names the deny target still answering; the enforced instant turns the gate True; the result and the API carry it', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('policy');
    await cp.ensureNamespace(ns);
    const { controller, app } = await startControllerWithApi(cp, { namespace: ns });
    try {
      const created = await api.createNamespacedPod({ namespace: ns, body: pod('p1') });
      const uid = created.metadata!.uid!;
      const t0 = Date.now();
      await annotate(api, ns, 'p1', readyWithPolicy(t0, { answering: DENY, lastAnswerTs: new Date(t0 + 450).toISOString() }));
      const waiting = await eventually('AwaitingPolicy', async () => { const c = await condition(api, ns, 'p1'); return c?.reason === ConditionReason.AwaitingPolicy && c; });
      assert.equal(waiting.status, 'False');
      assert.match(waiting.message!, /^datapath ready \(tcp:\/\/10\.0\.0\.1:80 answered \d+ ms after pod creation\); awaiting the NetworkPolicy: tcp:\/\/forbidden\.other\.svc:8080 still answered at /);
      assert.equal(await result(ns, uid), undefined, 'no result while the gate waits for the policy');

      await annotate(api, ns, 'p1', {
        [ANNOTATION_POLICY_ENFORCED]: new Date(t0 + 900).toISOString(),
        [ANNOTATION_POLICY_PROBE]: JSON.stringify({ targets: [DENY], attempts: 9, confirm: 3, startToEnforcedMs: 880 }),
      });
      const ok = await eventually('True', async () => { const c = await condition(api, ns, 'p1'); return c?.status === 'True' && c; });
      assert.equal(ok.reason, ConditionReason.DatapathReady);
      assert.match(ok.message!, /policy in force: tcp:\/\/forbidden\.other\.svc:8080 unanswered from \d+ ms after pod creation$/);

      const spec = await eventually('result', () => result(ns, uid));
      assert.equal(spec.outcome, 'Succeeded');
      assert.equal(spec.timestamps.policyEnforcedTs, new Date(t0 + 900).toISOString());
      assert.equal(spec.metrics.latPolicyMs, Math.round(t0 + 900 - Date.parse(spec.timestamps.createdAt)));
      assert.deepEqual(spec.denyTargets, [DENY]);

      const series = await eventually('series', async () => {
        const res = await app.inject({ url: `/api/v1/time-to-policy-enforced?namespace=${ns}` });
        const body = res.json();
        return res.statusCode === 200 && body.count === 1 && body;
      });
      assert.equal(series.metric, 'time-to-policy-enforced');
      assert.equal(series.worstPods[0].name, 'p1');
      assert.equal(series.worstPods[0].value, spec.metrics.latPolicyMs);
      const phases = (await app.inject({ url: `/api/v1/phases?namespace=${ns}` })).json();
      const gap = phases.phases.find((p: { phase: string }) => p.phase === 'policy-after-datapath');
      assert.equal(gap.count, 1);
      assert.equal(gap.max, 500, 'enforced (t0+900) minus datapath ready (t0+400), both from the reporter');
    } finally {
      await app.close();
      await controller.stop();
    }
  });

  test('a policy never seen in force: PolicyNotEnforced at the timeout (fail-closed), a TimedOut result in the failed pods of the series', async () => {
    const cp = cluster();
    const api = core(cp);
    const ns = uniqueName('policy-to');
    await cp.ensureNamespace(ns);
    const { controller, app } = await startControllerWithApi(cp, { namespace: ns, datapathTimeoutMs: 4_000 });
    try {
      const created = await api.createNamespacedPod({ namespace: ns, body: pod('p2') });
      const uid = created.metadata!.uid!;
      const t0 = Date.now();
      await annotate(api, ns, 'p2', readyWithPolicy(t0, { answering: DENY, lastAnswerTs: new Date(t0 + 450).toISOString() }));
      await eventually('AwaitingPolicy', async () => (await condition(api, ns, 'p2'))?.reason === ConditionReason.AwaitingPolicy);
      const timedOut = await eventually('PolicyNotEnforced', async () => { const c = await condition(api, ns, 'p2'); return c?.reason === ConditionReason.PolicyNotEnforced && c; }, 30_000);
      assert.equal(timedOut.status, 'False');
      assert.match(timedOut.message!, /^policy not in force within 4s of pod creation: tcp:\/\/forbidden\.other\.svc:8080 still answered at /);
      const spec = await eventually('result', () => result(ns, uid));
      assert.deepEqual([spec.outcome, spec.reason], ['TimedOut', ConditionReason.PolicyNotEnforced]);
      assert.equal(spec.timestamps.policyEnforcedTs, undefined);
      const series = await eventually('series', async () => {
        const body = (await app.inject({ url: `/api/v1/time-to-policy-enforced?namespace=${ns}` })).json();
        return body.totalFailed === 1 && body;
      });
      assert.deepEqual(series.failedPods.map((f: { name: string; reason: string }) => [f.name, f.reason]), [['p2', ConditionReason.PolicyNotEnforced]]);
      assert.equal(series.count, 0);
    } finally {
      await app.close();
      await controller.stop();
    }
  });
});
