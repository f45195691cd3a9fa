// The real `dpready reporter` process: exit codes and messages as users see them, and the
// two modes, against the real local control plane, running as the pod (a token bound to it)
// under the manifests/reporter.yaml RBAC.
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { ANNOTATION_DP_READY, ANNOTATION_START } from '../../src/contract.ts';
import { core, uniqueName, useControlPlane } from '../support/cluster.ts';
import { applyReporterManifest, createPodWithToken, runReporter, type TestPod } from '../support/reporter.ts';

test('bad configuration: exit code 2, and stderr names variable, value and expectation', async () => {
  const { code, stderr } = await runReporter({ MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'ns1', PROBE_TARGET: '10.0.0.1:80', PROBE_TIMEOUT: 'soon' });
  assert.equal(code, 2);
  assert.match(stderr, /^dpready: DPR_BAD_CONFIG: PROBE_TIMEOUT="soon": .*expected a number of seconds or a duration such as 500ms/m);
});

test('bad target: exit code 2 with DPR_BAD_TARGET', async () => {
  const { code, stderr } = await runReporter({ MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'ns1', PROBE_TARGET: '10.0.0.1' });
  assert.equal(code, 2);
  assert.match(stderr, /DPR_BAD_TARGET: PROBE_TARGET entry "10.0.0.1": no port; expected/);
});

describe('the two modes on the real control plane', { concurrency: false }, () => {
  const cluster = useControlPlane({ nodes: 0 });
  let ns: string;
  let initPod: TestPod;
  let sidePod: TestPod;
  let port: number;
  const tcp = createServer((s) => s.end());
  const annotationsOf = async (name: string) =>
    (await core(cluster()).readNamespacedPod({ name, namespace: ns })).metadata!.annotations ?? {};

  before(async () => {
    const cp = cluster();
    ns = uniqueName('cli');
    await cp.ensureNamespace(ns);
    await applyReporterManifest(cp, ns);
    initPod = await createPodWithToken(cp, ns, 'init-pod');
    sidePod = await createPodWithToken(cp, ns, 'side-pod');
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    port = (tcp.address() as AddressInfo).port;
  }, { timeout: 30 * 60_000 });
  after(() => { tcp.close(); });

  test('init mode: writes, then exits 0', async () => {
    const { code, stderr } = await runReporter({
      KUBECONFIG: initPod.kubeconfig, MY_POD_NAME: 'init-pod', MY_POD_NAMESPACE: ns, PROBE_TARGET: `127.0.0.1:${port}`, PROBE_MODE: 'init',
    });
    assert.equal(code, 0, stderr);
    const a = await annotationsOf('init-pod');
    assert.ok(a[ANNOTATION_START] && a[ANNOTATION_DP_READY], JSON.stringify(a));
  });

  test('sidecar mode: after writing, hands over to a shell waiter (no Node left), exits 0 on SIGTERM', async () => {
    let idleSeen = false;
    let image = '';
    const { code, stderr } = await runReporter({
      KUBECONFIG: sidePod.kubeconfig, MY_POD_NAME: 'side-pod', MY_POD_NAMESPACE: ns, PROBE_TARGET: `127.0.0.1:${port}`,
    }, {
      onStderr: (all, kill, pid) => {
        if (!idleSeen && all.includes('sidecar mode: idle until SIGTERM')) {
          idleSeen = true;
          // A moment later the same process is the waiter, then terminated the way the kubelet does.
          setTimeout(() => {
            image = readlinkSync(`/proc/${pid}/exe`);
            kill();
          }, 300);
        }
      },
    });
    assert.ok(idleSeen, stderr);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(image, /node/, 'the process image after the handover');
    assert.match(image, /sh$|dash$|bash$/);
    assert.match(stderr, /handing over to a minimal waiter/);
    assert.match(stderr, /signal received; stopping/);
    assert.ok((await annotationsOf('side-pod'))[ANNOTATION_DP_READY]);
  });
});
