// Policy in force on real parts: gated reporters in real pods on the real node probe a deny
// target (another pod, which answers until policy denies it) while kube-router, the node's
// NetworkPolicy engine, runs. An egress policy is created once every reporter is waiting on its
// deny target; the engine then programs each pod. Truth for "policy enforced" is the kernel's
// commit of the policy's rule in that pod's own chain (nft monitor names the transaction and
// its process, tracefs the sendmsg that carried it: src/devcluster/engine-commits.ts), the same
// kind of truth as the datapath part's. Also the attempts per second each reporter sent against its deny target.
import * as k8s from '@kubernetes/client-node';
import { ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, ConditionReason, CONDITION_TYPE, PolicyProbe } from '../src/contract.ts';
import { startControlPlane } from '../src/devcluster/control-plane.ts';
import { gatedDeployment } from '../src/devcluster/demo-workload.ts';
import { installDpready } from '../src/devcluster/install.ts';
import { realNodeUnavailable } from '../src/devcluster/node-host.ts';
import { egressOnlyTo, NODE_IMAGES, targetObjects } from '../src/devcluster/node-workloads.ts';
import { watchEngineCommits } from '../src/devcluster/engine-commits.ts';
import { policyEngineUnavailable } from '../src/devcluster/policy-engine.ts';
import { p50p99, summarizeAbs, type Summary } from './stats.ts';

export interface PolicyFigures {
  pods: number;
  engine: string;
  /** Reported policy-enforced − the engine's commit for that pod (nft monitor), ms (signed), and absolute. */
  enforcedError: ReturnType<typeof p50p99> & { min: number };
  enforcedAbsError: Summary;
  /** Policy created → the engine's commit for each pod, ms: the engine's own latency (what the gate waits for). */
  policyToCommitMs: ReturnType<typeof p50p99>;
  /** Distinct commits that programmed the pods (one sync can program several). */
  commits: number;
  /** Pods whose deny attempts per second could be read (their probe details), and the rate while the target answered. */
  denyAttemptsPerSecond: ReturnType<typeof p50p99>;
  /**
   * Reported enforced instant − the start of the last attempt that got an answer, ms: the gap the
   * schedule left around the commit (its interval grows while a deny target answers), the part
   * of the error that is quantisation rather than lateness.
   */
  lastAnswerGapMs: ReturnType<typeof p50p99>;
  /** Why no truth for some pods, when so (then the error mark is not measured). */
  truthProblem?: string;
  markErrorMs: number;
  markAttemptsPerSecond: number;
}

export type PolicyResult = PolicyFigures | { skipped: string };

const NS = 'bench-policy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const signed = (xs: number[]) => ({ ...p50p99(xs), min: Math.round(Math.min(...xs) * 10) / 10 });

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

export async function realNodePolicy(opts: { pods: number; waitingMs: number; log: (line: string) => void }): Promise<PolicyResult> {
  const unavailable = realNodeUnavailable() ?? policyEngineUnavailable();
  if (unavailable) return { skipped: unavailable };
  const cp = await startControlPlane({ realNode: true, policyEngine: true, log: (l) => opts.log(`  ${l}`) });
  const engine = await watchEngineCommits();
  try {
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
    const net = cp.kubeConfig.makeApiClient(k8s.NetworkingV1Api);
    await installDpready(cp, { workloadNamespaces: [NS], image: NODE_IMAGES.dpready });
    for (const name of ['target', 'forbidden']) {
      const [d, s] = targetObjects(name, NS);
      await apps.createNamespacedDeployment({ namespace: NS, body: d });
      await core.createNamespacedService({ namespace: NS, body: s });
    }
    const readyIp = (app: string) => waitUntil(`the ${app} pod Ready`, async () => {
      const p = (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items[0];
      return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP;
    }, 180_000);
    const forbiddenIp = await readyIp('forbidden');
    await readyIp('target');
    const serviceIp = (await core.readNamespacedService({ name: 'target', namespace: NS })).spec!.clusterIP!;

    opts.log(`bench: ${opts.pods} gated reporters on the real node, deny target ${forbiddenIp}:8080 answering until policy`);
    await apps.createNamespacedDeployment({ namespace: NS, body: gatedDeployment({
      name: 'pol', namespace: NS, replicas: opts.pods, target: `http://${serviceIp}/healthz`,
      images: { reporter: NODE_IMAGES.dpready, app: NODE_IMAGES.agnhost, appArgs: ['pause'] },
      env: { PROBE_DENY_TARGET: `tcp://${forbiddenIp}:8080` },
    }) });
    const list = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=pol' })).items;
    await waitUntil(`${opts.pods} reporters waiting on policy`, async () => {
      const pods = await list();
      return pods.length === opts.pods && pods.every((p) => p.status?.conditions?.find((c) => c.type === CONDITION_TYPE)?.reason === ConditionReason.AwaitingPolicy);
    }, 300_000);
    await sleep(opts.waitingMs);

    const policyAt = Date.now();
    await net.createNamespacedNetworkPolicy({ namespace: NS, body: egressOnlyTo('pol-egress', NS, 'pol', 'target') });
    const pods = await waitUntil('every reporter saw policy in force', async () => {
      const ps = await list();
      return ps.every((p) => p.metadata?.annotations?.[ANNOTATION_POLICY_ENFORCED]) && ps;
    }, 120_000);
    await sleep(500); // nft's report of the last commit

    const err: number[] = [];
    const latency: number[] = [];
    const commits = new Set<number>();
    const rates: number[] = [];
    const gaps: number[] = [];
    const noTruth: string[] = [];
    const noKernel: string[] = [];
    for (const p of pods) {
      const ip = p.status?.podIP;
      const commit = ip ? await engine.programmed(ip, policyAt) : undefined;
      if (commit === undefined) { noTruth.push(p.metadata!.name!); continue; }
      if (!commit.kernel) noKernel.push(p.metadata!.name!);
      const truth = commit.at;
      commits.add(truth);
      latency.push(truth - policyAt);
      err.push(Date.parse(p.metadata!.annotations![ANNOTATION_POLICY_ENFORCED]!) - truth);
      const d = PolicyProbe.safeParse(JSON.parse(p.metadata!.annotations![ANNOTATION_POLICY_PROBE] ?? '{}'));
      if (d.success && d.data.attempts && d.data.startToEnforcedMs) rates.push(d.data.attempts / (d.data.startToEnforcedMs / 1000));
      if (d.success && d.data.lastAnswerTs) gaps.push(Date.parse(p.metadata!.annotations![ANNOTATION_POLICY_ENFORCED]!) - Date.parse(d.data.lastAnswerTs));
    }
    return {
      pods: pods.length, engine: 'kube-router v2.1.0, firewall only (iptables-nft + ipset)',
      enforcedError: signed(err), enforcedAbsError: summarizeAbs(err),
      policyToCommitMs: p50p99(latency), commits: commits.size,
      denyAttemptsPerSecond: p50p99(rates), lastAnswerGapMs: p50p99(gaps),
      ...(noTruth.length ? { truthProblem: `nft reported no commit of the engine's rule for ${noTruth.join(', ')}` }
        : noKernel.length ? { truthProblem: `no kernel instant (tracefs) of the commit for ${noKernel.join(', ')}${engine.noKernelTruth ? `: ${engine.noKernelTruth}` : ''}` } : {}),
      markErrorMs: 50, markAttemptsPerSecond: 50,
    };
  } finally {
    await engine.stop();
    await cp.stop();
  }
}
