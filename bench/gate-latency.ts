// Gate latency against the physical floor. Two namespaces of identical unscheduled gated pods
// (their scheduler does not exist, so nothing else touches them): in A the dpready controller
// (its own process, --namespace A) owns the condition; in B a bare loop in a process of its own
// (bench/floor-loop.ts, as the burst's floor) watches the pods and patches the condition True the
// moment the ready annotation appears (no queue, no logic, no result, no event). The benchmark writes the reporter's annotations itself,
// pairs of pods A[i] and B[i] in random order, at a steady rate and then in one burst.
// Latency = our condition True seen on an observer's watch − the annotation seen on the same
// watch, so client-side queueing of the benchmark's own writes does not count; the time from
// the annotation patch being sent is reported too.
import { ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE } from '../src/contract.ts';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControllerProcess } from '../src/devcluster/controller-process.ts';
import { startProcess } from '../src/devcluster/processes.ts';
import { controllerArgs } from './controller-args.ts';
import { freePort } from './ports.ts';
import { Kube, mapLimit, sleep, until, type Obj } from './kube.ts';
import { p50p99 } from './stats.ts';

const FLOOR_LOOP = fileURLToPath(new URL('./floor-loop.ts', import.meta.url));

export interface GateLatencyOptions {
  steadyPods: number;
  ratePerSec: number;
  burstPods: number;
  built: boolean;
  nsA: string;
  nsB: string;
  log: (line: string) => void;
}

type Latencies = { n: number; p50: number; p99: number; max: number };
export interface GatePhase {
  phase: string;
  pods: number;
  dpready: Latencies;
  floor: Latencies;
  /** dpready p99 / floor p99 (mark: ≤ 1.5). */
  ratioP99: number;
  ratioP50: number;
  /** Same, measured from the instant the annotation patch was sent. */
  fromSend: { dpready: Latencies; floor: Latencies };
  pass: boolean;
}
export interface GateLatencyFigures {
  phases: GatePhase[];
  markRatio: number;
  /** The controller's own histogram (ready annotation seen on its watch → condition written), over both phases. */
  controllerSelf?: { count: number; meanMs: number };
}

interface Track { sentAt?: number; annotationSeenAt?: number; conditionSeenAt?: number }

function unscheduledPod(name: string): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: 'dpready-gate-bench' } },
    spec: {
      schedulerName: 'dpready-bench-no-such-scheduler',
      readinessGates: [{ conditionType: CONDITION_TYPE }],
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
    },
  };
}

const hasReady = (o: Obj) => !!o.metadata.annotations?.[ANNOTATION_DP_READY];
const conditionTrue = (o: Obj) => o.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True') ?? false;

/** The floor: the least any controller must do (watch, and patch at once), in its own process like the controller. */
async function startFloor(cp: ControlPlane, ns: string) {
  const loop = startProcess(`floor-${ns}`, process.execPath, ['--import', 'tsx', FLOOR_LOOP, cp.server, ns, cp.pki.caCert, cp.pki.adminCert, cp.pki.adminKey],
    join(cp.dir, `floor-${ns}.log`));
  await until('the floor loop watching', () => {
    if (loop.child.exitCode !== null) throw new Error(`the floor loop exited: ${loop.tail()}`);
    return loop.tail().includes('watching');
  }, 60_000, 100);
  return {
    /** Stops the loop; its last line is {"patched":N,"errors":M}. */
    stop: async () => { await loop.stop(); return loop.tail(1); },
  };
}

export async function gateLatency(cp: ControlPlane, o: GateLatencyOptions): Promise<GateLatencyFigures> {
  // Separate connection pools: the writer, the floor and the observer never queue behind each other.
  const writer = new Kube(cp.server, cp, 64);
  const observer = new Kube(cp.server, cp, 4);
  const controller = await startControllerProcess(cp, {
    kubeconfig: cp.kubeconfigPath, port: await freePort(), built: o.built, name: `controller-${o.nsA}`,
    args: controllerArgs(o.nsA),
  });
  const tracks = new Map<string, Track>(); // key ns/name
  const watches: Array<{ stop(): Promise<void>; restarts(): number }> = [];
  let floor: Awaited<ReturnType<typeof startFloor>> | undefined;
  try {
    const names = [...Array.from({ length: o.steadyPods }, (_, i) => `s-${i}`), ...Array.from({ length: o.burstPods }, (_, i) => `b-${i}`)];
    for (const ns of [o.nsA, o.nsB]) for (const n of names) tracks.set(`${ns}/${n}`, {});
    const uids = new Map<string, string>();
    await mapLimit(names.flatMap((n) => [[o.nsA, n], [o.nsB, n]] as const), 32, async ([ns, n]) => {
      const pod = await writer.createPod(ns, unscheduledPod(n));
      uids.set(`${ns}/${n}`, pod.metadata.uid);
    });
    o.log(`  ${names.length} unscheduled gated pods in each of ${o.nsA} (dpready) and ${o.nsB} (floor)`);
    // Let the controller settle: each of its pods gets its pending (False) condition first.
    const pendingSeen = new Set<string>();
    for (const ns of [o.nsA, o.nsB]) {
      watches.push(await observer.watch(`/api/v1/namespaces/${ns}/pods`, (e) => {
        const key = `${ns}/${e.object.metadata.name}`;
        const t = tracks.get(key);
        if (!t || (e.type !== 'ADDED' && e.type !== 'MODIFIED')) return;
        if (e.object.status?.conditions?.some((c) => c.type === CONDITION_TYPE)) pendingSeen.add(key);
        if (t.annotationSeenAt === undefined && hasReady(e.object)) t.annotationSeenAt = e.at;
        if (t.conditionSeenAt === undefined && conditionTrue(e.object)) t.conditionSeenAt = e.at;
      }));
    }
    await until('the controller to mark every pod pending', () => names.every((n) => pendingSeen.has(`${o.nsA}/${n}`)), 120_000);
    await sleep(1_000);
    floor = await startFloor(cp, o.nsB);

    const annotate = (ns: string, n: string) => {
      const t = tracks.get(`${ns}/${n}`)!;
      const now = Date.now();
      t.sentAt = now;
      return writer.annotatePod(ns, n, { [ANNOTATION_START]: new Date(now - 300).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() })
        .catch((err: unknown) => o.log(`  annotate ${ns}/${n} failed: ${String(err)}`));
    };
    const pair = (n: string) => (Math.random() < 0.5 ? [o.nsA, o.nsB] : [o.nsB, o.nsA]).map((ns) => annotate(ns, n));
    const phases: GatePhase[] = [];
    const measure = async (phase: string, group: string[]) => {
      await until(`${phase}: every condition True`, () => group.every((n) => tracks.get(`${o.nsA}/${n}`)!.conditionSeenAt && tracks.get(`${o.nsB}/${n}`)!.conditionSeenAt), 180_000);
      const lat = (ns: string, from: 'annotationSeenAt' | 'sentAt') => p50p99(group.map((n) => { const t = tracks.get(`${ns}/${n}`)!; return t.conditionSeenAt! - t[from]!; }));
      const dpready = lat(o.nsA, 'annotationSeenAt');
      const fl = lat(o.nsB, 'annotationSeenAt');
      const r2 = (x: number) => Math.round(x * 100) / 100;
      const ratioP99 = r2(dpready.p99 / Math.max(1, fl.p99));
      phases.push({
        phase, pods: group.length, dpready, floor: fl, ratioP99, ratioP50: r2(dpready.p50 / Math.max(1, fl.p50)),
        fromSend: { dpready: lat(o.nsA, 'sentAt'), floor: lat(o.nsB, 'sentAt') }, pass: ratioP99 <= 1.5,
      });
      o.log(`  ${phase}: dpready p50 ${dpready.p50} p99 ${dpready.p99} ms; floor p50 ${fl.p50} p99 ${fl.p99} ms; ratio p99 ${ratioP99}`);
    };

    // Steady: one pair every 1/rate s, on a schedule that does not drift.
    const steady = names.slice(0, o.steadyPods);
    const t0 = performance.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < steady.length; i++) {
      const wait = t0 + (i * 1000) / o.ratePerSec - performance.now();
      if (wait > 0) await sleep(wait);
      inflight.push(...pair(steady[i]!));
    }
    await Promise.all(inflight);
    await measure(`steady ${o.ratePerSec} pods/s × ${steady.length}`, steady);
    await sleep(2_000);

    // Burst: every pair at once (the writer's 64 connections are the only limit).
    const burst = names.slice(o.steadyPods);
    await Promise.all(burst.flatMap((n) => pair(n)));
    await measure(`burst ${burst.length} at once`, burst);
    const restarts = watches.reduce((n, w) => n + w.restarts(), 0);
    if (restarts) o.log(`  watches resumed ${restarts} times (kube-apiserver closes watchers it finds slow)`);
    const metrics = await fetch(`${controller.url}/metrics`).then((r) => r.text(), () => '');
    const sum = Number(/^dpready_gate_latency_seconds_sum (\S+)$/m.exec(metrics)?.[1] ?? NaN);
    const count = Number(/^dpready_gate_latency_seconds_count (\S+)$/m.exec(metrics)?.[1] ?? NaN);
    const controllerSelf = { count, meanMs: Math.round((sum / count) * 10_000) / 10 };
    o.log(`  controller's own gate latency (its watch → its write): mean ${controllerSelf.meanMs} ms over ${count}`);
    return { phases, markRatio: 1.5, controllerSelf };
  } finally {
    for (const w of watches) await w.stop();
    if (floor) o.log(`  floor loop: ${await floor.stop()}`);
    await controller.stop();
    for (const k of [writer, observer]) await k.close();
    // Leave nothing behind for later parts.
    const cleanup = new Kube(cp.server, cp, 4);
    for (const ns of [o.nsA, o.nsB]) await cleanup.deleteCollection(ns).catch(() => {});
    await cleanup.close();
  }
}
