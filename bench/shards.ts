// Two shards on one control plane (docs/scaling.md): two controller processes, each with
// --shards=2 --shard-index=i and --leader-elect (so each elects on its own Lease,
// dpready-controller-shard-i), watching every namespace. N gated pods spread over several
// namespaces; the benchmark plays every reporter (annotates each pod the moment KWOK runs it).
// "Every pod handled once" is checked three ways: every pod gets its condition True and one
// DatapathResult; each controller's own result creates equal the pods of its shard's
// namespaces (by the same hash), so the sum is N with no create that hit an existing result;
// and no condition of a pod is written by the other shard's controller (its patch count stays
// within its own pods).
import { ANNOTATION_DP_READY, ANNOTATION_START, CONDITION_TYPE, GROUP, PLURAL, VERSION } from '../src/contract.ts';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';
import { startControllerProcess } from '../src/devcluster/controller-process.ts';
import { shardOf } from '../src/controller/shard.ts';
import { deploymentNodeOptions } from './deployment-env.ts';
import { freePort } from './ports.ts';
import { Kube, mapLimit, until } from './kube.ts';
import { childUsage, type ProcUsage } from './proc-usage.ts';

export interface ShardsOptions { pods: number; namespaces: number; built: boolean; log: (line: string) => void }
export interface ShardFigures {
  index: number;
  namespaces: number;
  /** Pods of this shard's namespaces, by the hash. */
  expectedPods: number;
  resultCreates: number;
  resultUpdates: number;
  conditionPatches: number;
  usage?: ProcUsage;
}
export interface ShardsFigures {
  pods: number;
  namespaces: number;
  shards: ShardFigures[];
  allTrueSeconds: number;
  resultsSeen: number;
  /** Result objects seen more than once as ADDED (a second create after a delete), should be 0. */
  duplicateResults: number;
  everyPodOnce: boolean;
}

async function writes(url: string): Promise<Record<string, number>> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^dpready_kube_api_writes_total\{([^}]*)\} (\S+)$/gm)) {
    const l = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out[`${l.verb} ${l.resource}`] = Number(m[2]);
  }
  return out;
}

export async function shards(cp: ControlPlane, o: ShardsOptions): Promise<ShardsFigures> {
  const resultsNs = 'bench-shard-results';
  const namespaces = Array.from({ length: o.namespaces }, (_, i) => `bench-shard-${i}`);
  for (const ns of [resultsNs, ...namespaces]) await cp.ensureNamespace(ns);
  const writer = new Kube(cp.server, cp, 64);
  const observer = new Kube(cp.server, cp, 4);
  const controllers = await Promise.all([0, 1].map(async (index) => startControllerProcess(cp, {
    kubeconfig: cp.kubeconfigPath, port: await freePort(), built: o.built, name: `controller-shard-${index}`, env: deploymentNodeOptions(),
    args: ['--shards=2', `--shard-index=${index}`, '--leader-elect', '--leader-elect-namespace=dpready-system',
      // Only this part's pods: pods of earlier parts may still be terminating in other namespaces.
      `--results-namespace=${resultsNs}`, '--label-selector=app=dpready-shards', '--log-level=warn'],
  })));
  const annotated = new Set<string>();
  const ready = new Set<string>();
  const results = new Map<string, number>();
  /** Pods ("ns/name") with a result seen. */
  const withResult = new Set<string>();
  const watches: Array<{ stop(): Promise<void> }> = [];
  try {
    watches.push(await observer.watch('/api/v1/pods?labelSelector=app%3Ddpready-shards', (e) => {
      const p = e.object;
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
      if (!annotated.has(key) && p.status?.phase === 'Running') {
        annotated.add(key);
        const now = Date.now();
        writer.annotatePod(p.metadata.namespace!, p.metadata.name, { [ANNOTATION_START]: new Date(now - 50).toISOString(), [ANNOTATION_DP_READY]: new Date(now).toISOString() })
          .catch((err: unknown) => o.log(`  annotate ${key} failed: ${String(err)}`));
      }
      if (p.status?.conditions?.some((c) => c.type === CONDITION_TYPE && c.status === 'True')) ready.add(key);
    }));
    watches.push(await observer.watch(`/apis/${GROUP}/${VERSION}/namespaces/${resultsNs}/${PLURAL}`, (e) => {
      if (e.type !== 'ADDED') return;
      results.set(e.object.metadata.name, (results.get(e.object.metadata.name) ?? 0) + 1);
      const ref = (e.object as { spec?: { podRef?: { namespace?: string; name?: string } } }).spec?.podRef;
      if (ref) withResult.add(`${ref.namespace}/${ref.name}`);
    }));
    const pods = Array.from({ length: o.pods }, (_, i) => ({ ns: namespaces[i % namespaces.length]!, name: `shard-pod-${i}` }));
    const t0 = Date.now();
    await mapLimit(pods, 32, (p) => writer.createPod(p.ns, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: p.name, labels: { app: 'dpready-shards' } },
      spec: { readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    }));
    o.log(`  ${o.pods} pods created over ${o.namespaces} namespaces in ${Math.round((Date.now() - t0) / 1000)} s`);
    await until('every shard pod True', () => ready.size >= o.pods, Math.max(180_000, o.pods * 100), 200);
    const allTrueSeconds = Math.round((Date.now() - t0) / 100) / 10;
    await until('a result for every shard pod', () => pods.every((p) => withResult.has(`${p.ns}/${p.name}`)), 300_000, 200);
    await new Promise((r) => setTimeout(r, 3_000));
    const figures: ShardFigures[] = [];
    for (const [index, c] of controllers.entries()) {
      const w = await writes(c.url);
      const mine = namespaces.filter((ns) => shardOf(ns, 2) === index);
      figures.push({
        index, namespaces: mine.length, expectedPods: pods.filter((p) => shardOf(p.ns, 2) === index).length,
        resultCreates: w['create datapathresults'] ?? 0, resultUpdates: w['update datapathresults'] ?? 0,
        conditionPatches: w['patch pods/status'] ?? 0, usage: childUsage(c.process.child.pid),
      });
    }
    const duplicateResults = [...results.values()].filter((n) => n > 1).length;
    const everyPodOnce = results.size === o.pods && duplicateResults === 0
      && figures.every((f) => f.resultCreates === f.expectedPods && f.resultUpdates === 0 && f.conditionPatches <= 2 * f.expectedPods)
      && figures.reduce((s, f) => s + f.resultCreates, 0) === o.pods;
    for (const f of figures) o.log(`  shard ${f.index}: ${f.namespaces} namespaces, ${f.expectedPods} pods; result creates ${f.resultCreates}, updates ${f.resultUpdates}, condition patches ${f.conditionPatches}; CPU ${f.usage?.cpuSeconds} s, RSS ${f.usage?.rssMiB} MiB`);
    return { pods: o.pods, namespaces: o.namespaces, shards: figures, allTrueSeconds, resultsSeen: results.size, duplicateResults, everyPodOnce };
  } finally {
    for (const w of watches) await w.stop();
    for (const c of controllers) await c.stop();
    await writer.close();
    await observer.close();
    const cleanup = new Kube(cp.server, cp, 8);
    for (const ns of namespaces) await cleanup.deleteCollection(ns).catch(() => {});
    await cleanup.close();
  }
}
