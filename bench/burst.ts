// The burst workload of issue 14, named exactly: 2,000 gated pods on 10 KWOK nodes; once every
// pod runs, every pod is annotated as a reporter would (start and ready in one patch) at once.
// One dpready controller process, run as the Deployment runs it (its NODE_OPTIONS heap cap).
// Figures, each from watches of the benchmark (its own clock on both ends):
//   annotation seen → condition True seen, and annotation seen → DatapathResult seen, p50 / p99;
//   annotating started → last result seen;
//   the controller's CPU seconds over the whole workload (creation to last result), per pod;
//   its RSS settled (a few seconds after the last result) and its peak RSS;
//   its own writes (dpready_kube_api_writes_total) per pod.
// The floor (the same workload on fresh pods, a bare watch-and-patch loop, bench/floor-loop.ts)
// runs as its own process too, with dpready's controller stopped; which of the two runs first
// alternates between runs (--burst-order), and the benchmark's own event-loop delay is recorded
// for each, since it sends the annotations and timestamps the watch events of both.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE, GROUP, PLURAL, VERSION } from '../src/contract.ts';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';
import { startControllerProcess } from '../src/devcluster/controller-process.ts';
import { startProcess } from '../src/devcluster/processes.ts';
import { controllerArgs } from './controller-args.ts';
import { deploymentNodeOptions, describeRuntimeEnv } from './deployment-env.ts';
import { freePort } from './ports.ts';
import { Kube, mapLimit, sleep, until, type Obj } from './kube.ts';
import { childUsage, type ProcUsage } from './proc-usage.ts';
import { p50p99 } from './stats.ts';
import { burstNamespaces, medianOf, runOf, type BurstMedian, type BurstRun } from './burst-runs.ts';

export interface BurstOptions {
  pods: number;
  nodes: number;
  namespace: string;
  built: boolean;
  log: (line: string) => void;
  /** Directory for the controller's V8 CPU profile (node --cpu-prof); none when unset. */
  cpuProfDir?: string;
  /** Namespace for the floor run (the same workload, a bare watch-and-patch loop); none when unset. */
  floorNamespace?: string;
  /** NODE_OPTIONS for the controller instead of the manifest's (to compare heap settings). */
  nodeOptions?: string;
  /** Which runs first, dpready or the floor (run.ts alternates it between runs). */
  order?: BurstOrder;
  /** How many times dpready's side runs (each in its own namespace, burstNamespaces()); the marks judge the medians. */
  runs?: number;
  /** Called with the figures so far after each dpready run, so a run stopped by --max-minutes still shows them. */
  onFigures?: (f: BurstFigures) => void;
}

export type BurstOrder = 'dpready-first' | 'floor-first';

/** The benchmark process's event-loop delay while `fn` runs, ms: its lag delays the annotations it sends and the watch instants it takes. */
async function withLoopDelay<T>(fn: () => Promise<T>): Promise<[T, LoopDelay]> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    const v = await fn();
    // The histogram holds the time between samples: the 10 ms interval plus the delay.
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - 1000) / 100);
    return [v, { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }];
  } finally {
    h.disable();
  }
}
export interface LoopDelay { p50: number; p99: number; max: number }

const FLOOR_LOOP = fileURLToPath(new URL('./floor-loop.ts', import.meta.url));

function gatedPod(name: string, nodes: string[]) {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'dpready-burst' } },
    spec: {
      readinessGates: [{ conditionType: CONDITION_TYPE }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
        { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: nodes }] }] } } },
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
    },
  };
}

/** The floor: the same burst on fresh pods, a bare loop in its own process (bench/floor-loop.ts) patching each condition True on sight of the annotation. */
async function floorRun(cp: ControlPlane, ns: string, pods: number, nodes: string[], log: (l: string) => void) {
  const writer = new Kube(cp.server, cp, 64);
  const observer = new Kube(cp.server, cp, 4);
  const tracks = new Map<string, Track>();
  const running = new Set<string>();
  const watches: Array<{ stop(): Promise<void> }> = [];
  let annotating = false;
  const loop = startProcess(`floor-${ns}`, process.execPath, ['--import', 'tsx', FLOOR_LOOP, cp.server, ns, cp.pki.caCert, cp.pki.adminCert, cp.pki.adminKey],
    join(cp.dir, `floor-${ns}.log`));
  try {
    await until('the floor loop watching', () => {
      if (loop.child.exitCode !== null) throw new Error(`the floor loop exited: ${loop.tail()}`);
      return loop.tail().includes('watching');
    }, 60_000, 100);
    const names = Array.from({ length: pods }, (_, i) => `floor-${i}`);
    for (const n of names) tracks.set(n, {});
    watches.push(await observer.watch(`/api/v1/namespaces/${ns}/pods`, (e) => {
      const t = tracks.get(e.object.metadata.name);
      if (!t || (e.type !== 'ADDED' && e.type !== 'MODIFIED')) return;
      if (e.object.status?.phase === 'Running') running.add(e.object.metadata.name);
      if (annotating && t.annotationSeenAt === undefined && e.object.metadata.annotations?.[ANNOTATION_DP_READY]) t.annotationSeenAt = e.at;
      if (t.annotationSeenAt !== undefined && t.conditionSeenAt === undefined && conditionTrue(e.object)) t.conditionSeenAt = e.at;
    }));
    await mapLimit(names, 32, (name) => writer.createPod(ns, gatedPod(name, nodes)));
    await until('every floor pod Running', () => running.size >= pods, 300_000, 100);
    annotating = true;
    const a0 = Date.now();
    const all = [...tracks.values()];
    const [, benchEventLoopDelayMs] = await withLoopDelay(async () => {
      await Promise.all(names.map((name) => {
        const now = Date.now();
        return writer.annotatePod(ns, name, { [ANNOTATION_START]: new Date(now - 50).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() })
          .catch((err: unknown) => log(`  annotate ${name} failed: ${String(err)}`));
      }));
      await until('every floor condition', () => all.every((t) => t.conditionSeenAt !== undefined), 600_000, 100);
    });
    const f = { annotationToConditionMs: p50p99(all.map((t) => t.conditionSeenAt! - t.annotationSeenAt!)), annotatingToLastConditionMs: Math.max(...all.map((t) => t.conditionSeenAt!)) - a0, benchEventLoopDelayMs };
    log(`  floor (bare watch-and-patch loop, its own process, same workload): annotation → condition True p50 ${f.annotationToConditionMs.p50} p99 ${f.annotationToConditionMs.p99} ms; last ${f.annotatingToLastConditionMs} ms after annotating began; benchmark event-loop delay p99 ${benchEventLoopDelayMs.p99} ms`);
    return f;
  } finally {
    for (const w of watches) await w.stop();
    await loop.stop();
    for (const k of [writer, observer]) await k.close();
    await cleanupNamespace(cp, ns);
  }
}

async function cleanupNamespace(cp: ControlPlane, ns: string): Promise<void> {
  const cleanup = new Kube(cp.server, cp, 4);
  await cleanup.deleteCollection(ns).catch(() => {});
  await cleanup.close();
}

type Latencies = { n: number; p50: number; p99: number; max: number };
export interface BurstFigures {
  workload: string;
  pods: number;
  nodes: number;
  heapCap: string;
  createSeconds: number;
  /** First pod created → every pod Running (KWOK). */
  allRunningSeconds: number;
  annotationToResultMs: Latencies;
  annotationToConditionMs: Latencies;
  /** Annotating started → the last DatapathResult seen. */
  annotatingToLastResultMs: number;
  controllerCpuSeconds: number;
  controllerCpuMsPerPod: number;
  /** idle: synced and ready, a few seconds before the first pod is created. */
  controller: { idle?: ProcUsage; settled?: ProcUsage; heapUsedMiB?: number };
  /** The controller's own writes (its counter) per pod, by resource/verb. */
  writesPerPod: Record<string, number>;
  controllerWritesPerPod: number;
  /**
   * The same workload again on fresh pods with no dpready controller: a bare loop in the benchmark
   * watches them and patches the condition True the moment the annotation appears (no queue, no
   * result): what the API server allows on this machine.
   */
  floor?: { annotationToConditionMs: Latencies; annotatingToLastConditionMs: number; benchEventLoopDelayMs?: LoopDelay };
  /** Which of dpready and the floor ran first. */
  order?: BurstOrder;
  /** The benchmark's event-loop delay from annotating to the last result and condition of dpready's run, ms. */
  benchEventLoopDelayMs?: LoopDelay;
  /** Why the floor run produced no figure (its ratio mark is then not measured). */
  floorError?: string;
  /** The reporter's writes per pod: the benchmark plays it, start and ready in one patch. */
  reporterWritesPerPod: number;
  /** Marks: condition p99 ≤ floorRatio × the floor's p99 (as the gate part), the controller's writes per pod as in the cost part. */
  marks: { latencyP99Ms: number; cpuMsPerPod: number; rssMiB: number; idleRssMiB: number; floorRatio: number; controllerWritesPerPod: number };
  /** Each dpready run's figures (the ones printed in full are the first run's), and their medians, which the marks judge. */
  runs?: BurstRun[];
  median?: BurstMedian;
}

interface Track { uid?: string; annotationSeenAt?: number; conditionSeenAt?: number; resultSeenAt?: number }

const conditionTrue = (o: Obj) => o.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True') ?? false;

async function controllerWrites(url: string): Promise<Record<string, number>> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^dpready_kube_api_writes_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out[`${labels.verb} ${labels.resource}`] = Number(m[2]);
  }
  return out;
}

async function heapUsedMiB(url: string): Promise<number | undefined> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const v = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  return v === undefined ? undefined : Math.round(Number(v) / 1048576);
}

async function dpreadyRun(cp: ControlPlane, o: BurstOptions): Promise<BurstFigures> {
  const ns = o.namespace;
  const nodes = cp.nodeNames.slice(0, o.nodes);
  if (nodes.length < o.nodes) throw new Error(`burst needs ${o.nodes} KWOK nodes; the control plane has ${cp.nodeNames.length}`);
  const writer = new Kube(cp.server, cp, 64);
  const observer = new Kube(cp.server, cp, 4);
  // --node-options replaces the manifest's NODE_OPTIONS only; its MALLOC_ARENA_MAX stays.
  const env = o.nodeOptions !== undefined ? { ...deploymentNodeOptions(), NODE_OPTIONS: o.nodeOptions } : deploymentNodeOptions();
  const heapCap = describeRuntimeEnv(env);
  if (o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${o.cpuProfDir}`.trim();
  }
  const controller = await startControllerProcess(cp, {
    kubeconfig: cp.kubeconfigPath, port: await freePort(), built: o.built, name: `controller-${ns}`, args: controllerArgs(ns), env,
  });
  const pid = controller.process.child.pid;
  const tracks = new Map<string, Track>();
  const byUid = new Map<string, Track>();
  const running = new Set<string>();
  const watches: Array<{ stop(): Promise<void> }> = [];
  let annotating = false;
  try {
    const names = Array.from({ length: o.pods }, (_, i) => `burst-${i}`);
    for (const n of names) tracks.set(n, {});
    watches.push(await observer.watch(`/api/v1/namespaces/${ns}/pods`, (e) => {
      const t = tracks.get(e.object.metadata.name);
      if (!t || (e.type !== 'ADDED' && e.type !== 'MODIFIED')) return;
      if (!t.uid) { t.uid = e.object.metadata.uid; byUid.set(t.uid, t); }
      if (e.object.status?.phase === 'Running') running.add(e.object.metadata.name);
      if (annotating && t.annotationSeenAt === undefined && e.object.metadata.annotations?.[ANNOTATION_DP_READY]) t.annotationSeenAt = e.at;
      if (t.annotationSeenAt !== undefined && t.conditionSeenAt === undefined && conditionTrue(e.object)) t.conditionSeenAt = e.at;
    }));
    watches.push(await observer.watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, (e) => {
      if (e.type !== 'ADDED') return;
      const uid = (e.object as { spec?: { podRef?: { uid?: string } } }).spec?.podRef?.uid;
      const t = uid ? byUid.get(uid) : undefined;
      if (t && t.resultSeenAt === undefined) t.resultSeenAt = e.at;
    }));

    // Idle: the process as it waits for work, synced, before the first pod of the run.
    await sleep(3_000);
    const idle = childUsage(pid);
    o.log(`  controller idle RSS ${idle?.rssMiB} MiB`);
    const before = childUsage(pid);
    const t0 = Date.now();
    await mapLimit(names, 32, (name) => writer.createPod(ns, gatedPod(name, nodes)));
    const createSeconds = Math.round((Date.now() - t0) / 100) / 10;
    o.log(`  ${o.pods} gated pods created in ${createSeconds} s on ${nodes.length} KWOK nodes`);
    await until('every burst pod Running', () => running.size >= o.pods, 300_000, 100);
    const allRunningSeconds = Math.round((Date.now() - t0) / 100) / 10;
    o.log(`  every pod Running ${allRunningSeconds} s after the first create; annotating all ${o.pods} at once`);

    annotating = true;
    const a0 = Date.now();
    const all = [...tracks.values()];
    const [, benchEventLoopDelayMs] = await withLoopDelay(async () => {
      await Promise.all(names.map((name) => {
        const now = Date.now();
        return writer.annotatePod(ns, name, { [ANNOTATION_START]: new Date(now - 50).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() })
          .catch((err: unknown) => o.log(`  annotate ${name} failed: ${String(err)}`));
      }));
      await until('every burst result and condition', () => all.every((t) => t.resultSeenAt !== undefined && t.conditionSeenAt !== undefined), 600_000, 100);
    });
    const lastResult = Math.max(...all.map((t) => t.resultSeenAt!));
    // Settled: what the controller holds once the burst is over.
    await sleep(5_000);
    const settled = childUsage(pid);
    const heap = await heapUsedMiB(controller.url);
    const writes = await controllerWrites(controller.url);
    const cpu = settled && before ? Math.round((settled.cpuSeconds - before.cpuSeconds) * 100) / 100 : NaN;
    const writesPerPod = Object.fromEntries(Object.entries(writes).map(([k, v]) => [k, Math.round((v / o.pods) * 100) / 100]));
    const lat = (f: (t: Track) => number) => p50p99(all.map(f));
    const figures: BurstFigures = {
      workload: `${o.pods} gated pods, ${nodes.length} KWOK nodes, every pod annotated at once`,
      pods: o.pods, nodes: nodes.length, heapCap: heapCap ? `${heapCap} (${o.nodeOptions !== undefined ? '--node-options' : 'manifests/controller.yaml'})` : 'none (V8 default)',
      createSeconds, allRunningSeconds,
      annotationToResultMs: lat((t) => t.resultSeenAt! - t.annotationSeenAt!),
      annotationToConditionMs: lat((t) => t.conditionSeenAt! - t.annotationSeenAt!),
      annotatingToLastResultMs: lastResult - a0,
      controllerCpuSeconds: cpu,
      controllerCpuMsPerPod: Math.round((cpu * 1000 / o.pods) * 100) / 100,
      controller: { idle, settled, heapUsedMiB: heap },
      writesPerPod,
      controllerWritesPerPod: Math.round((Object.values(writes).reduce((a, b) => a + b, 0) / o.pods) * 100) / 100,
      reporterWritesPerPod: 1,
      benchEventLoopDelayMs,
      // Issue 20: the existing Go controller on the same burst: 0.39 s p99 to its result, 3.1 ms of CPU per pod, 80 MiB.
      marks: { latencyP99Ms: 1000, cpuMsPerPod: 3, rssMiB: 100, idleRssMiB: 90, floorRatio: 1.5, controllerWritesPerPod: 2 },
    };
    o.log(`  annotation → result p50 ${figures.annotationToResultMs.p50} p99 ${figures.annotationToResultMs.p99} ms; → condition True p50 ${figures.annotationToConditionMs.p50} p99 ${figures.annotationToConditionMs.p99} ms; last result ${figures.annotatingToLastResultMs} ms after annotating began`);
    o.log(`  controller CPU ${cpu} s (${figures.controllerCpuMsPerPod} ms/pod), RSS settled ${settled?.rssMiB} MiB (peak ${settled?.peakRssMiB}), heap in use ${heap} MiB; writes/pod ${JSON.stringify(writesPerPod)}`);
    await controller.stop();
    return figures;
  } finally {
    for (const w of watches) await w.stop();
    await controller.stop();
    await writer.close();
    await observer.close();
    await cleanupNamespace(cp, ns);
  }
}

/**
 * The burst and its floor, one after the other, each with nothing of the other running:
 * dpready's controller is stopped before the floor's loop starts, and the other way round.
 */
export async function burst(cp: ControlPlane, o: BurstOptions): Promise<BurstFigures> {
  const order = o.order ?? 'dpready-first';
  const nodes = cp.nodeNames.slice(0, o.nodes);
  let floor: BurstFigures['floor'];
  let floorError: string | undefined;
  const runFloor = async () => {
    if (!o.floorNamespace) return;
    try {
      floor = await floorRun(cp, o.floorNamespace, o.pods, nodes, o.log);
    } catch (err) {
      floorError = String(err instanceof Error ? err.message : err).split('\n')[0];
      o.log(`  floor run failed: ${floorError}`);
    }
  };
  o.log(`  order: ${order === 'floor-first' ? 'the floor first, then dpready' : 'dpready first, then the floor'}`);
  if (order === 'floor-first') await runFloor();
  // dpready's side --burst-runs times, each on fresh pods in a namespace of its own; the floor
  // runs next to the first (before or after it, by order), whose figures are printed in full.
  const runs: BurstFigures[] = [];
  const soFar = (): BurstFigures => {
    const each = runs.map(runOf);
    return { ...runs[0]!, order, ...(floor ? { floor } : {}), ...(floorError || !floor ? { floorError: floorError ?? 'the floor run had not finished' } : {}), runs: each, median: medianOf(each) };
  };
  for (const [i, namespace] of burstNamespaces(o.namespace, o.runs ?? 1).entries()) {
    if (i > 0) o.log(`  dpready run ${i + 1} of ${o.runs} (namespace ${namespace})`);
    runs.push(await dpreadyRun(cp, { ...o, namespace, cpuProfDir: i === 0 ? o.cpuProfDir : undefined }));
    o.onFigures?.(soFar());
    if (i === 0 && order === 'dpready-first') await runFloor();
  }
  const figures = runs[0]!;
  const each = runs.map(runOf);
  const median = medianOf(each);
  if (runs.length > 1) o.log(`  median of ${runs.length} runs: result p99 ${median.resultP99Ms} ms, condition p99 ${median.conditionP99Ms} ms, CPU ${median.cpuMsPerPod} ms/pod, RSS settled ${median.rssSettledMiB} / idle ${median.rssIdleMiB} MiB`);
  return { ...figures, order, ...(floor ? { floor } : {}), ...(floorError ? { floorError } : {}), runs: each, median };
}
