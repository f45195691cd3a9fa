// One full pod lifecycle with real reporter processes on KWOK nodes, observed from outside:
// create N gated pods (the creation call instant is recorded), let KWOK run them and the
// reporter runner start a real `dpready reporter` per pod, open the probe target before or
// after the reporters start (the open instant is recorded), wait for every outcome, delete the
// pods and wait until they are gone. kube-apiserver's request counters are read around it,
// and a watch of the namespace tells which write changed what (to split pods/status patches
// between KWOK, playing the kubelet, and the dpready controller).
import { CONDITION_TYPE, ANNOTATION_DP_READY, ANNOTATION_PREFIX, ANNOTATION_START, PLURAL, GROUP, VERSION, type DatapathResultSpec } from '../src/contract.ts';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';
import { startControllerProcess } from '../src/devcluster/controller-process.ts';
import { gatedPodSpec } from '../src/devcluster/demo-workload.ts';
import { ProbeTarget } from '../src/devcluster/probe-target.ts';
import { ReporterRunner } from '../src/devcluster/reporter-runner.ts';
import { diff, scrapeRequests, type RequestCounts } from './apiserver-requests.ts';
import { controllerArgs } from './controller-args.ts';
import { freePort } from './ports.ts';
import { Kube, mapLimit, sleep, until, type Obj } from './kube.ts';

export interface LifecycleOptions {
  namespace: string;
  pods: number;
  /** 'before': the datapath works from the start; 'after-start': it opens once every reporter has started. */
  target: 'before' | 'after-start';
  /** Extra reporter environment set in the pod spec (e.g. the existing system's 2 s interval). */
  reporterEnv?: Record<string, string>;
  /** Run a dpready controller process for the namespace and wait for its results. */
  controller: boolean;
  built: boolean;
  /**
   * Create one pod every this many ms (0: 8 at a time, as fast as possible). On a real cluster
   * each reporter starts on its own node's CPUs; here every reporter process shares 2 cores, so
   * a burst of creations measures this machine's process start-up more than dpready.
   */
  paceMs?: number;
  log: (line: string) => void;
}

export interface PodObservation {
  name: string;
  uid: string;
  createCallAt: number;
  createReturnedAt: number;
  creationTimestampMs: number;
  reporterSpawnAt?: number;
  startAnnotation?: string;
  readyAnnotation?: string;
  result?: DatapathResultSpec;
}

export interface WatchAttribution {
  /** Pod metadata writes that changed our annotations (the reporter). */
  reporterAnnotationWrites: number;
  /** Status writes that changed our condition (the controller). */
  conditionWrites: number;
  /** Status writes that changed anything else (KWOK as the kubelet). */
  kubeletStatusWrites: number;
  /** Other visible changes (binding, deletion mark, finalisation, ...). */
  otherWrites: number;
}

export interface LifecycleRun {
  options: Omit<LifecycleOptions, 'log'>;
  pods: PodObservation[];
  targetOpenedAt?: number;
  requests: RequestCounts;
  watch: WatchAttribution;
  /** The controller's own count of its writes (dpready_kube_api_writes_total), by "verb resource". */
  controllerWrites: Record<string, number>;
  durationMs: number;
}

export function benchPod(name: string, target: string, env: Record<string, string> = {}): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: 'dpready-bench' } },
    spec: gatedPodSpec(target, { PROBE_TIMEOUT: '2m', ...env }),
  };
}

function ourCondition(o: Obj): string {
  const c = o.status?.conditions?.find((x) => x.type === CONDITION_TYPE);
  return c ? `${c.status}|${c.reason ?? ''}|${c.message ?? ''}` : '';
}

function otherStatus(o: Obj): string {
  const { conditions, ...rest } = o.status ?? {};
  return JSON.stringify([rest, (conditions ?? []).filter((c) => c.type !== CONDITION_TYPE)]);
}

function ourAnnotations(o: Obj): string {
  return JSON.stringify(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => k.startsWith(ANNOTATION_PREFIX)).sort());
}

function parseWrites(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^dpready_kube_api_writes_total\{([^}]*)\} (\S+)$/gm)) {
    const resource = /resource="([^"]*)"/.exec(m[1]!)?.[1];
    const verb = /verb="([^"]*)"/.exec(m[1]!)?.[1];
    out[`${verb} ${resource}`] = (out[`${verb} ${resource}`] ?? 0) + Number(m[2]);
  }
  return out;
}

export async function runLifecycle(cp: ControlPlane, kube: Kube, o: LifecycleOptions): Promise<LifecycleRun> {
  const began = Date.now();
  const ns = o.namespace;
  const target = await ProbeTarget.reserve();
  if (o.target === 'before') await target.open();
  const controller = o.controller
    ? await startControllerProcess(cp, { kubeconfig: cp.kubeconfigPath, port: await freePort(), built: o.built, name: `controller-${ns}`, args: controllerArgs(ns) })
    : undefined;
  const byName = new Map<string, PodObservation>();
  const prev = new Map<string, Obj>();
  const gone = new Set<string>();
  const watch: WatchAttribution = { reporterAnnotationWrites: 0, conditionWrites: 0, kubeletStatusWrites: 0, otherWrites: 0 };
  const podWatch = await kube.watch(`/api/v1/namespaces/${ns}/pods`, (e) => {
    const pod = e.object;
    const name = pod.metadata.name;
    const obs = byName.get(name);
    if (e.type === 'DELETED') { gone.add(name); prev.delete(name); return; }
    if (e.type === 'BOOKMARK') return;
    const before = prev.get(name);
    prev.set(name, pod);
    if (obs) {
      obs.startAnnotation ??= pod.metadata.annotations?.[ANNOTATION_START];
      obs.readyAnnotation ??= pod.metadata.annotations?.[ANNOTATION_DP_READY];
    }
    if (e.type !== 'MODIFIED' || !before) return;
    if (ourAnnotations(before) !== ourAnnotations(pod)) watch.reporterAnnotationWrites++;
    else if (ourCondition(before) !== ourCondition(pod)) watch.conditionWrites++;
    // The scheduler's binding sets nodeName and PodScheduled: not a kubelet status write.
    else if (before.spec?.nodeName !== pod.spec?.nodeName || before.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp) watch.otherWrites++;
    else if (otherStatus(before) !== otherStatus(pod)) watch.kubeletStatusWrites++;
    else watch.otherWrites++;
  });
  const results = new Map<string, DatapathResultSpec>();
  const resultWatch = await kube.watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, (e) => {
    const spec = (e.object as unknown as { spec?: DatapathResultSpec }).spec;
    if (spec && e.type !== 'DELETED' && e.type !== 'BOOKMARK') results.set(spec.podRef.name, spec);
  });
  const runner = new ReporterRunner(cp, { namespace: ns, built: o.built });
  await runner.start();
  await sleep(500);
  const before = await scrapeRequests(kube);
  const names = Array.from({ length: o.pods }, (_, i) => `p-${i}`);
  try {
    await mapLimit(names, o.paceMs ? 1 : 8, async (name) => {
      if (o.paceMs) await sleep(o.paceMs);
      const createCallAt = Date.now();
      const pod = await kube.createPod(ns, benchPod(name, target.address, o.reporterEnv));
      byName.set(name, {
        name, uid: pod.metadata.uid, createCallAt, createReturnedAt: Date.now(),
        creationTimestampMs: Date.parse(pod.metadata.creationTimestamp!),
      });
    });
    o.log(`  ${ns}: ${o.pods} pods created`);
    if (o.target === 'after-start') {
      await until('every reporter to record its start', () => [...byName.values()].every((p) => p.startAnnotation), 120_000);
      await sleep(500);
      await target.open();
      o.log(`  ${ns}: target opened`);
    }
    if (o.controller) {
      await until('a result for every pod', () => names.every((n) => results.get(n)?.outcome), 120_000);
    } else {
      await until('every reporter to record datapath-ready', () => [...byName.values()].every((p) => p.readyAnnotation), 120_000);
    }
    await sleep(1_000); // events and other trailing writes
    for (const p of runner.processes) {
      const obs = [...byName.values()].find((b) => b.uid === p.uid);
      if (obs) obs.reporterSpawnAt = p.startedAt;
    }
    for (const [name, spec] of results) { const obs = byName.get(name); if (obs) obs.result = spec; }
    await mapLimit(names, 8, (name) => kube.request('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`));
    await until('every pod to be gone', () => names.every((n) => gone.has(n)), 120_000);
    await sleep(1_500);
    const after = await scrapeRequests(kube);
    const controllerWrites = controller ? parseWrites(await (await fetch(`${controller.url}/metrics`)).text()) : {};
    o.log(`  ${ns}: lifecycle done in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    const { log: _log, ...options } = o;
    return { options, pods: names.map((n) => byName.get(n)!), targetOpenedAt: target.openedAt, requests: diff(after, before), watch, controllerWrites, durationMs: Date.now() - began };
  } finally {
    await runner.stop();
    await podWatch.stop();
    await resultWatch.stop();
    await controller?.stop();
    await target.close();
  }
}
