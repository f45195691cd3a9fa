// The real reporter process against the real local control plane, running as the pod's own
// identity (a TokenRequest token bound to the pod), under the manifests/reporter.yaml RBAC
// and admission policy applied through the documented per-namespace kustomize overlay.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { KubeConfig, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';

import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, ANNOTATION_PROBE, ANNOTATION_START,
  PolicyProbe, ProbeDetails, ReporterFailure, Rfc3339,
} from '../../src/contract.ts';
import { core, eventually, uniqueName, useControlPlane } from '../support/cluster.ts';
import { applyReporterManifest, createPodWithToken, runReporter as spawnReporter } from '../support/reporter.ts';

const cluster = useControlPlane({ nodes: 0 });

const runReporter = (env: Record<string, string>) => spawnReporter({ PROBE_MODE: 'init', ...env });

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const POD_NAME_CLAIM = 'authentication.kubernetes.io/pod-name';
const POD_UID_CLAIM = 'authentication.kubernetes.io/pod-uid';

/**
 * A merge patch of one annotation, sent by the admin impersonating `user` with the given
 * pod-name and pod-uid claims: the request reaches RBAC and admission with exactly the userInfo
 * a bound token would give, whether or not the authenticator would still accept such a token.
 * That isolates one clause of the policy from the others (and from the authenticator).
 */
async function patchAs(cp: ReturnType<typeof cluster>, user: string, claims: { podName: string; podUid: string },
  target: { namespace: string; name: string }): Promise<{ status: number; message: string }> {
  const agent = new Agent({ connect: { ca: readFileSync(cp.pki.caCert), cert: readFileSync(cp.pki.adminCert), key: readFileSync(cp.pki.adminKey) } });
  try {
    const res = await fetch(`${cp.server}/api/v1/namespaces/${target.namespace}/pods/${target.name}`, {
      method: 'PATCH', dispatcher: agent,
      headers: {
        'content-type': 'application/merge-patch+json', 'impersonate-user': user,
        [`impersonate-extra-${encodeURIComponent(POD_NAME_CLAIM)}`]: claims.podName,
        [`impersonate-extra-${encodeURIComponent(POD_UID_CLAIM)}`]: claims.podUid,
      },
      body: JSON.stringify({ metadata: { annotations: { [ANNOTATION_START]: new Date().toISOString() } } }),
    });
    return { status: res.status, message: String((await res.json() as { message?: string }).message ?? '') };
  } finally {
    await agent.close();
  }
}

describe('reporter on the real control plane', { concurrency: false }, () => {
  let ns: string;
  const pods: Record<string, { uid: string; kubeconfig: string }> = {};
  const tcp = createServer((s) => s.end());
  // Accepts connections and never answers: an HTTP target that never succeeds.
  const mute = createServer((s) => s.resume());
  let tcpPort: number;
  let mutePort: number;

  const asPod = (name: string) => {
    const kc = new KubeConfig();
    kc.loadFromFile(pods[name]!.kubeconfig);
    return kc.makeApiClient(CoreV1Api);
  };

  before(async () => {
    const cp = cluster();
    ns = uniqueName('rep');
    await cp.ensureNamespace(ns);
    await applyReporterManifest(cp, ns);
    for (const name of ['p1', 'p2', 'p3', 'p4']) {
      pods[name] = await createPodWithToken(cp, ns, name, { annotations: { 'example.com/owner': 'team-a' } });
    }
    // A new policy takes a moment to be loaded; wait until it denies (on p3, whose
    // annotations no test relies on) before any test counts on it.
    await eventually('admission policy in force', async () => {
      try {
        await asPod('p1').patchNamespacedPod({ name: 'p3', namespace: ns, body: { metadata: { annotations: { 'perf.github.com/policy-check': 'x' } } } }, mergePatch);
        return false;
      } catch (err) {
        return (err as { code?: number }).code === 403;
      }
    }, 60_000, 250);
    tcpPort = await listen(tcp);
    mutePort = await listen(mute);
  }, { timeout: 30 * 60_000 });
  after(() => { tcp.close(); mute.close(); });

  const annotationsOf = async (name: string) => (await core(cluster()).readNamespacedPod({ name, namespace: ns })).metadata!;

  test('runs as the pod (bound token) and writes annotations that parse', async () => {
    const { code, stderr } = await runReporter({
      KUBECONFIG: pods.p1!.kubeconfig, MY_POD_NAME: 'p1', MY_POD_NAMESPACE: ns, PROBE_TARGET: `tcp://127.0.0.1:${tcpPort}`,
    });
    assert.equal(code, 0, stderr);
    const a = (await annotationsOf('p1')).annotations!;
    assert.equal(a['example.com/owner'], 'team-a');
    const start = Rfc3339.parse(a[ANNOTATION_START]);
    const ready = Rfc3339.parse(a[ANNOTATION_DP_READY]);
    assert.match(start, /\.\d{3}Z$/);
    assert.ok(Date.parse(ready) >= Date.parse(start));
    const details = ProbeDetails.parse(JSON.parse(a[ANNOTATION_PROBE]!));
    assert.deepEqual(details.targets, [`tcp://127.0.0.1:${tcpPort}`]);
    assert.ok(details.attempts >= 1);
    // Same clock for both: the wall-clock difference is the monotonic duration.
    assert.ok(Math.abs(Date.parse(ready) - Date.parse(start) - details.startToReadyMs!) <= 1);
    assert.match(stderr, /"msg":"datapath ready"/);
  });

  test('a second run is idempotent: no probing, no write', async () => {
    const before = await annotationsOf('p1');
    const { code, stderr } = await runReporter({
      KUBECONFIG: pods.p1!.kubeconfig, MY_POD_NAME: 'p1', MY_POD_NAMESPACE: ns, PROBE_TARGET: `tcp://127.0.0.1:${tcpPort}`,
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /ready already recorded by an earlier run/);
    const now = await annotationsOf('p1');
    assert.equal(now.resourceVersion, before.resourceVersion);
    assert.deepEqual(now.annotations, before.annotations);
  });

  test('the policy denies patching another pod, even for our own annotations', async () => {
    await assert.rejects(
      asPod('p1').patchNamespacedPod({ name: 'p2', namespace: ns, body: { metadata: { annotations: { [ANNOTATION_START]: new Date().toISOString() } } } }, mergePatch),
      (err: unknown) => {
        const e = err as { code?: number; body?: string };
        assert.equal(e.code, 403, String(err));
        assert.match(String(e.body), /may only patch the pod its token is bound to \(p1\), not p2/);
        return true;
      });
    assert.equal((await annotationsOf('p2')).annotations?.[ANNOTATION_START], undefined);
  });

  test('the policy denies touching annotations outside perf.github.com/ and other fields', async () => {
    const api = asPod('p1');
    const deny = async (body: object, why: RegExp) => {
      await assert.rejects(api.patchNamespacedPod({ name: 'p1', namespace: ns, body }, mergePatch), (err: unknown) => {
        const e = err as { code?: number; body?: string };
        assert.equal(e.code, 403, String(err));
        assert.match(String(e.body), why);
        return true;
      });
    };
    await deny({ metadata: { annotations: { 'example.com/owner': 'mallory' } } }, /only add, change or remove annotations under perf\.github\.com\//);
    await deny({ metadata: { annotations: { 'example.com/owner': null } } }, /only add, change or remove annotations/);
    await deny({ metadata: { annotations: { 'new.example.com/x': 'y' } } }, /only add, change or remove annotations/);
    await deny({ metadata: { labels: { tier: 'x' } } }, /nothing else of the pod/);
    // The same identity may change its own annotations under the prefix.
    await api.patchNamespacedPod({ name: 'p1', namespace: ns, body: { metadata: { annotations: { 'perf.github.com/note': 'ok' } } } }, mergePatch);
    await api.patchNamespacedPod({ name: 'p1', namespace: ns, body: { metadata: { annotations: { 'perf.github.com/note': null } } } }, mergePatch);
    assert.equal((await annotationsOf('p1')).annotations!['example.com/owner'], 'team-a');
  });

  test('a reporter told the wrong pod name is refused: API failure, exit code 4', async () => {
    const { code, stderr } = await runReporter({
      KUBECONFIG: pods.p1!.kubeconfig, MY_POD_NAME: 'p3', MY_POD_NAMESPACE: ns, PROBE_TARGET: `127.0.0.1:${tcpPort}`,
    });
    assert.equal(code, 4, stderr);
    assert.match(stderr, /HTTP 403.*may only patch the pod its token is bound to \(p1\), not p3/);
    assert.equal((await annotationsOf('p3')).annotations?.[ANNOTATION_DP_READY], undefined);
  });

  test('a target that never answers: failure annotation, then exit code 3', async () => {
    const { code, stderr } = await runReporter({
      KUBECONFIG: pods.p2!.kubeconfig, MY_POD_NAME: 'p2', MY_POD_NAMESPACE: ns,
      PROBE_TARGET: `http://127.0.0.1:${mutePort}/healthz`, PROBE_TIMEOUT: '3s', PROBE_ATTEMPT_TIMEOUT: '500ms',
    });
    assert.equal(code, 3, stderr);
    const a = (await annotationsOf('p2')).annotations!;
    Rfc3339.parse(a[ANNOTATION_START]);
    assert.equal(a[ANNOTATION_DP_READY], undefined);
    const failure = ReporterFailure.parse(JSON.parse(a[ANNOTATION_FAILURE]!));
    assert.equal(failure.reason, 'ProbeDeadline');
    assert.match(failure.message, /no success within 3s from http:\/\/127\.0\.0\.1:\d+\/healthz after \d+ attempts; last error: no answer within/);
    assert.ok(Date.parse(failure.ts) - Date.parse(a[ANNOTATION_START]!) >= 3_000);
  });
  test('policy check: a deny target that stops answering (its listener closed) gives policy-enforced-ts at the closing, not before', async () => {
    // The deny target is a loopback listener that answers; closing it makes every later attempt
    // refused, as a REJECT rule would. It is closed once the reporter has written ready.
    const deny = createServer((s) => s.end());
    const denyPort = await listen(deny);
    let closedAt = 0;
    const { code, stderr } = await spawnReporter({
      PROBE_MODE: 'init', KUBECONFIG: pods.p4!.kubeconfig, MY_POD_NAME: 'p4', MY_POD_NAMESPACE: ns,
      PROBE_TARGET: `tcp://127.0.0.1:${tcpPort}`, PROBE_DENY_TARGET: `tcp://127.0.0.1:${denyPort}`, PROBE_TIMEOUT: '20s',
    }, {
      onStderr: (all) => {
        if (closedAt === 0 && all.includes('datapath ready; awaiting the policy')) {
          // Let it see the target answering for a while first (the progress write).
          setTimeout(() => { closedAt = Date.now(); deny.close(); }, 500);
          closedAt = -1;
        }
      },
    });
    assert.equal(code, 0, stderr);
    assert.ok(closedAt > 0, 'the listener was closed');
    const a = (await annotationsOf('p4')).annotations!;
    const enforced = Date.parse(Rfc3339.parse(a[ANNOTATION_POLICY_ENFORCED]));
    assert.ok(enforced >= closedAt - 2 && enforced - closedAt < 200, `enforced ${enforced - closedAt} ms after the listener closed`);
    assert.ok(enforced > Date.parse(a[ANNOTATION_DP_READY]!));
    const policy = PolicyProbe.parse(JSON.parse(a[ANNOTATION_POLICY_PROBE]!));
    assert.deepEqual(policy.targets, [`tcp://127.0.0.1:${denyPort}`]);
    assert.equal(policy.answering, undefined);
    assert.equal(policy.confirm, 3);
  });

  test('the policy checks the namespace too: granted patch elsewhere, the reporter still cannot patch a pod of the same name there', async () => {
    const cp = cluster();
    const other = uniqueName('rep-other');
    await cp.ensureNamespace(other);
    await core(cp).createNamespacedPod({ namespace: other, body: { metadata: { name: 'p1' }, spec: { schedulerName: 'none', containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } } });
    // Someone binds the reporter's Role in another namespace to this namespace's reporter.
    await cp.kubectl(['-n', other, 'create', 'role', 'dpready-reporter', '--verb=get,patch', '--resource=pods']);
    await cp.kubectl(['-n', other, 'create', 'rolebinding', 'dpready-reporter', '--role=dpready-reporter', `--serviceaccount=${ns}:dpready-reporter`]);
    const patch = () => asPod('p1').patchNamespacedPod({ name: 'p1', namespace: other, body: { metadata: { annotations: { [ANNOTATION_START]: new Date().toISOString() } } } }, mergePatch);
    await eventually('RBAC allows, the policy refuses', async () => {
      try { await patch(); return false; } catch (err) {
        const e = err as { code?: number; body?: string };
        return e.code === 403 && /may only patch the pod its token is bound to \(p1\), not p1 in namespace/.test(String(e.body));
      }
    }, 30_000, 250);
    assert.equal((await core(cp).readNamespacedPod({ name: 'p1', namespace: other })).metadata!.annotations?.[ANNOTATION_START], undefined);

    // The namespace clause on its own: the token's claims name p1 AND carry the UID of the pod in
    // the other namespace, so only the namespace differs. The same claims from the other
    // namespace's own reporter account are let through (the control).
    const otherP1 = (await core(cp).readNamespacedPod({ name: 'p1', namespace: other })).metadata!;
    await cp.kubectl(['-n', other, 'create', 'serviceaccount', 'dpready-reporter']);
    await cp.kubectl(['-n', other, 'create', 'rolebinding', 'dpready-reporter-own', '--role=dpready-reporter', `--serviceaccount=${other}:dpready-reporter`]);
    const claims = { podName: 'p1', podUid: otherP1.uid! };
    const refused = await patchAs(cp, `system:serviceaccount:${ns}:dpready-reporter`, claims, { namespace: other, name: 'p1' });
    assert.equal(refused.status, 403, refused.message);
    assert.match(refused.message, /may only patch the pod its token is bound to \(p1\), not p1 in namespace /);
    const allowed = await eventually('the other namespace\'s own reporter, same claims, is let through', async () => {
      const r = await patchAs(cp, `system:serviceaccount:${other}:dpready-reporter`, claims, { namespace: other, name: 'p1' });
      return r.status === 200 && r;
    }, 30_000, 250);
    assert.equal(allowed.status, 200);
  });

  test('the policy checks the pod UID too: a token bound to an earlier pod of the same name cannot patch the pod recreated under that name', async () => {
    const cp = cluster();
    const first = await createPodWithToken(cp, ns, 'p5');
    await core(cp).deleteNamespacedPod({ name: 'p5', namespace: ns, gracePeriodSeconds: 0 });
    await eventually('the first p5 gone', async () => {
      try { await core(cp).readNamespacedPod({ name: 'p5', namespace: ns }); return false; } catch (err) { return (err as { code?: number }).code === 404; }
    }, 30_000, 100);
    const second = await createPodWithToken(cp, ns, 'p5');
    assert.notEqual(second.uid, first.uid);
    const startOf = async () => (await annotationsOf('p5')).annotations?.[ANNOTATION_START];

    // 1. The stolen token itself: the API server refuses it. Its authenticator already looks the
    // bound pod up and finds another UID ("the token has been invalidated"), so this is a 401
    // before admission: defence in depth with the policy's own check below.
    const kc = new KubeConfig();
    kc.loadFromFile(first.kubeconfig);
    await assert.rejects(kc.makeApiClient(CoreV1Api).patchNamespacedPod({ name: 'p5', namespace: ns,
      body: { metadata: { annotations: { [ANNOTATION_START]: new Date().toISOString() } } } }, mergePatch), (err: unknown) => {
      assert.equal((err as { code?: number }).code, 401, String(err));
      return true;
    });
    assert.equal(await startOf(), undefined);

    // 2. The policy's UID clause on its own: the request reaches admission with the first pod's
    // claims (name p5, its UID), as it would from an authenticator that does not look the pod up
    // (--service-account-lookup=false, an external token authenticator) or from its cache's lag.
    const user = `system:serviceaccount:${ns}:dpready-reporter`;
    const refused = await patchAs(cp, user, { podName: 'p5', podUid: first.uid }, { namespace: ns, name: 'p5' });
    assert.equal(refused.status, 403, refused.message);
    assert.match(refused.message, new RegExp(`may only patch the pod its token is bound to \\(p5\\), not p5 with uid ${second.uid} \\(the token is bound to uid ${first.uid}, another pod of that name\\)`));
    assert.equal(await startOf(), undefined);
    // The control: the same request with the recreated pod's UID goes through.
    const allowed = await patchAs(cp, user, { podName: 'p5', podUid: second.uid }, { namespace: ns, name: 'p5' });
    assert.equal(allowed.status, 200, allowed.message);
    assert.ok(await startOf());
  });
});
