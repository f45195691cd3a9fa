// The controller's own cost with the API server taken out: one controller process (from dist/,
// with the Deployment's heap cap) against bench/fake-apiserver.ts, which answers at once and
// plays the kubelet. The burst workload of burst.ts (N gated pods, Running, then every pod
// annotated at once); figures are the controller's CPU seconds and RSS, and the time until the
// fake saw every condition True and every result. Needs no control plane (no lock), so a
// profile (`--cpu-prof=DIR`) shows the controller alone:
//   node --import tsx bench/controller-cpu.ts --pods=2000 [--cpu-prof=DIR] [--controller-args=...]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE } from '../src/contract.ts';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';
import { startControllerProcess } from '../src/devcluster/controller-process.ts';
import { deploymentNodeOptions } from './deployment-env.ts';
import { startFakeApiServer } from './fake-apiserver.ts';
import { freePort } from './ports.ts';
import { childUsage } from './proc-usage.ts';
import { sleep, until } from './kube.ts';

export interface ControllerCpuFigures { pods: number; idleRssMiB: number; cpuSeconds: number; cpuMsPerPod: number; rssMiB: number; peakRssMiB: number; burstMs: number; writesPerPod: Record<string, number> }

export async function controllerCpu(o: { pods: number; cpuProfDir?: string; extraArgs?: string[]; nodeOptions?: string; log: (l: string) => void }): Promise<ControllerCpuFigures> {
  const api = await startFakeApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'dpready-cpu-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 'x' } }], contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'u' } }], 'current-context': 'fake',
  }));
  const env = o.nodeOptions !== undefined ? { ...deploymentNodeOptions(), NODE_OPTIONS: o.nodeOptions } : deploymentNodeOptions();
  if (o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${o.cpuProfDir}`.trim();
  }
  const ns = 'burst';
  const controller = await startControllerProcess({ dir } as ControlPlane, {
    kubeconfig, port: await freePort(), built: true, name: 'controller-cpu', env,
    args: [`--namespace=${ns}`, `--results-namespace=${ns}`, '--log-level=warn', ...(o.extraArgs ?? [])],
  });
  try {
    const pid = controller.process.child.pid;
    // Idle as burst.ts reads it: synced (ready), a few seconds before the first pod.
    await sleep(3_000);
    const before = childUsage(pid)!;
    const names = Array.from({ length: o.pods }, (_, i) => `burst-${i}`);
    for (const [i, n] of names.entries()) { api.addPod(ns, n); if (i % 100 === 99) await sleep(5); }
    await sleep(500);
    for (const [i, n] of names.entries()) { api.setRunning(ns, n); if (i % 100 === 99) await sleep(5); }
    await sleep(1_000);
    const t0 = Date.now();
    for (const n of names) {
      const now = Date.now();
      api.annotate(ns, n, { [ANNOTATION_START]: new Date(now - 50).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() });
    }
    const isTrue = () => api.pods().every((p) => p.status.conditions.some((c) => c.type === CONDITION_TYPE && c.status === 'True'));
    await until('every condition True and every result', () => api.results() >= o.pods && isTrue(), 300_000, 50);
    const burstMs = Date.now() - t0;
    await sleep(3_000);
    const after = childUsage(pid)!;
    const cpu = Math.round((after.cpuSeconds - before.cpuSeconds) * 100) / 100;
    const writesPerPod = Object.fromEntries(Object.entries(api.writes).map(([k, v]) => [k, Math.round((v / o.pods) * 100) / 100]));
    const f = { pods: o.pods, idleRssMiB: before.rssMiB, cpuSeconds: cpu, cpuMsPerPod: Math.round((cpu * 1000 / o.pods) * 100) / 100, rssMiB: after.rssMiB, peakRssMiB: after.peakRssMiB, burstMs, writesPerPod };
    o.log(`controller alone (fake API server), ${o.pods} pods: idle RSS ${f.idleRssMiB} MiB; CPU ${f.cpuSeconds} s (${f.cpuMsPerPod} ms/pod), RSS ${f.rssMiB} MiB (peak ${f.peakRssMiB}), burst done in ${burstMs} ms; writes/pod ${JSON.stringify(writesPerPod)}`);
    return f;
  } finally {
    await controller.stop();
    await api.close();
  }
}

if (process.argv[1]?.endsWith('controller-cpu.ts')) {
  const { values } = parseArgs({ options: { pods: { type: 'string', default: '2000' }, 'cpu-prof': { type: 'string' }, 'controller-args': { type: 'string' }, 'node-options': { type: 'string' } } });
  await controllerCpu({ pods: Number(values.pods), cpuProfDir: values['cpu-prof'], extraArgs: values['controller-args']?.split(/\s+/).filter(Boolean), nodeOptions: values['node-options'], log: (l) => process.stderr.write(`${l}\n`) });
}
