// A follower's memory through N gated pods created and deleted on a real control plane
// (issue 11, defect 2): `node --import tsx bench/follower-memory.ts [--pods=20000]`.
// Another replica holds the Lease for the whole run, so this controller only follows.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { CONDITION_TYPE } from '../src/contract.ts';
import { Controller } from '../src/controller/controller.ts';
import { startControlPlane } from '../src/devcluster/control-plane.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const { values } = parseArgs({ options: { pods: { type: 'string', default: '20000' } } });
const N = Number(values.pods);
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

const heapMB = () => { gc(); gc(); return +(process.memoryUsage().heapUsed / 1_048_576).toFixed(1); };
const cp = await startControlPlane({ nodes: 0 });
try {
  await cp.kubectl(['apply', '--server-side', '-f', new URL('../manifests/crd.yaml', import.meta.url).pathname]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/datapathresults.perf.github.com']);
  const ns = 'follower-memory';
  await cp.ensureNamespace(ns);
  const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
  await cp.kubeConfig.makeApiClient(k8s.CoordinationV1Api).createNamespacedLease({ namespace: ns, body: {
    metadata: { name: 'dpready' }, spec: { holderIdentity: 'the-leader', leaseDurationSeconds: 86_400, acquireTime: now, renewTime: now } } });
  const c = new Controller(cp.kubeConfig, { namespace: ns, resultsNamespace: ns, leaderElect: true, leaseNamespace: ns, leaseName: 'dpready', identity: 'follower',
    datapathTimeoutMs: 300_000, timeoutPolicy: 'fail-closed', pendingGraceMs: 10_000, workers: 16, resyncMs: 300_000, apiTimeoutMs: 10_000 }, quiet);
  await c.start();
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const state = () => ({ heapMB: heapMB(), pods: c.store.size, queued: c.conditions.depth + c.conditions.scheduled + c.results.depth + c.results.scheduled,
    tombstones: c.tracker.tombstoneCount, untracked: c.tracker.untrackedCount, leader: c.isLeader });
  const samples: Record<string, unknown> = { start: state() };
  let next = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < N) {
      const i = next++;
      await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: `p-${i}`, labels: { app: 'mem', 'pod-template-hash': '5d8f7c9b6' } },
        spec: { schedulerName: 'none', readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } });
    }
  }));
  while (c.store.size < N) await new Promise((r) => setTimeout(r, 200));
  samples[`${N} pods live`] = { ...state(), createSeconds: Math.round((Date.now() - t0) / 1000) };
  await core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 });
  while (c.store.size > 0) await new Promise((r) => setTimeout(r, 200));
  samples['all deleted'] = state();
  console.log(JSON.stringify(samples, null, 1));
  await c.stop();
} finally {
  await cp.stop();
}
