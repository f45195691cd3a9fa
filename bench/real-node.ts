// Accuracy on real parts: reporters in real containers on the real node probe a Service whose
// path is broken by an iptables DROP rule; the rule is removed at a known instant. Truth for
// "start" is the container's start instant as the runtime recorded it (CRI's status, in
// nanoseconds); truth for "datapath ready" is the instant the rule was removed. Also the
// attempts per second each reporter sent while the path dropped its packets.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_START, ProbeDetails } from '../src/contract.ts';
import { startControlPlane, kubernetesVersion } from '../src/devcluster/control-plane.ts';
import { gatedDeployment } from '../src/devcluster/demo-workload.ts';
import { installDpready } from '../src/devcluster/install.ts';
import { realNodeUnavailable } from '../src/devcluster/node-host.ts';
import { NODE_IMAGES, PathRule, targetObjects } from '../src/devcluster/node-workloads.ts';
import { p50p99, summarizeAbs, type Summary } from './stats.ts';

export interface RealNodeFigures {
  pods: number;
  /** Reported start − the reporter container's start in CRI, ms (signed), and its absolute value. */
  startError: ReturnType<typeof p50p99> & { min: number };
  startAbsError: Summary;
  /** Reported datapath-ready − the instant the DROP rule was removed, ms (signed), and absolute. */
  dpReadyError: ReturnType<typeof p50p99> & { min: number };
  dpReadyAbsError: Summary;
  /** The true instant lies between the commit being sent and iptables-restore exiting: this wide, ms. */
  ruleRemovalMs: number;
  /** Where the true instant came from: only nft's report of the rule's own delete is truth; the part fails without it. */
  truth: 'nft monitor' | 'commit sent';
  /** Why nft gave no truth (then the error figures are against the instant the commit was sent, and unjudged). */
  truthProblem?: string;
  attemptsPerSecond: ReturnType<typeof p50p99>;
  markErrorMs: number;
  markAttemptsPerSecond: number;
  versions: { kubernetes: string; containerd: string; runc: string; cni: string };
  setupSeconds: Record<string, number>;
}

export type RealNodeResult = RealNodeFigures | { skipped: string };

const NS = 'bench-real';

const signed = (xs: number[]) => ({ ...p50p99(xs), min: Math.round(Math.min(...xs) * 10) / 10 });

async function version(cmd: string, args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => execFile(cmd, args, (err, out) => resolve(err ? '?' : out.split('\n')[0]!.trim())));
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function realNodeAccuracy(opts: { pods: number; brokenMs: number; log: (line: string) => void }): Promise<RealNodeResult> {
  const unavailable = realNodeUnavailable();
  if (unavailable) return { skipped: unavailable };
  const cp = await startControlPlane({ realNode: true, log: (l) => opts.log(`  ${l}`) });
  let rule: PathRule | undefined;
  try {
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
    await installDpready(cp, { workloadNamespaces: [NS], image: NODE_IMAGES.dpready });
    const [targetDeploy, targetSvc] = targetObjects('target', NS);
    await apps.createNamespacedDeployment({ namespace: NS, body: targetDeploy });
    await core.createNamespacedService({ namespace: NS, body: targetSvc });
    const targetIp = await waitUntil('the target pod Ready', async () => {
      const p = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=target' })).items[0];
      return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP;
    }, 180_000);

    const serviceIp = (await core.readNamespacedService({ name: 'target', namespace: NS })).spec!.clusterIP!;
    rule = new PathRule(targetIp, 8080);
    await rule.add();
    opts.log(`bench: ${opts.pods} reporters on the real node, path to ${targetIp}:8080 dropped`);
    await apps.createNamespacedDeployment({ namespace: NS, body: gatedDeployment({
      name: 'acc', namespace: NS, replicas: opts.pods,
      // The Service's cluster IP, through kube-proxy: the measurement is of the path, not of
      // 20 reporters × 50 DNS lookups a second on a 2-core machine (the rollout test covers names).
      target: `http://${serviceIp}/healthz`,
      images: { reporter: NODE_IMAGES.dpready, app: NODE_IMAGES.agnhost, appArgs: ['pause'] },
    }) });
    const list = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=acc' })).items;
    await waitUntil(`${opts.pods} reporters started`, async () => {
      const pods = await list();
      return pods.length === opts.pods && pods.every((p) => p.metadata?.annotations?.[ANNOTATION_START]);
    }, 300_000);
    // Let every reporter wait on the broken path for a while, as in a slow network programming.
    await new Promise((r) => setTimeout(r, opts.brokenMs));
    const removal = await rule.remove();
    // Truth: the kernel's delete of this rule (its handle) as nft monitor reported it. Without
    // it the figures are against the moment the commit was sent, shown but not judged.
    const healedAt = removal.committed ?? removal.before;
    if (removal.noTruth) opts.log(`bench: no truth from nft: ${removal.noTruth}`);
    rule = undefined;
    const pods = await waitUntil('every reporter ready', async () => {
      const ps = await list();
      return ps.every((p) => p.metadata?.annotations?.[ANNOTATION_DP_READY]) && ps;
    }, 120_000);

    const criRoot = join(cp.dir, 'node', 'containerd', 'root', 'io.containerd.grpc.v1.cri', 'containers');
    const startErr: number[] = [];
    const dpErr: number[] = [];
    const rates: number[] = [];
    for (const p of pods) {
      const a = p.metadata!.annotations!;
      const reporter = p.status?.initContainerStatuses?.find((s) => s.name === 'dpready-reporter');
      const id = reporter?.containerID?.replace(/^containerd:\/\//, '');
      if (id) {
        // CRI's own record of the container, with StartedAt in nanoseconds since the epoch.
        const status = JSON.parse(await readFile(join(criRoot, id, 'status'), 'utf8')) as { StartedAt?: number };
        const startedNs = status.StartedAt;
        if (startedNs) startErr.push(Date.parse(a[ANNOTATION_START]!) - startedNs / 1e6);
      }
      dpErr.push(Date.parse(a[ANNOTATION_DP_READY]!) - healedAt);
      const probe = ProbeDetails.safeParse(JSON.parse(a[ANNOTATION_PROBE] ?? '{}'));
      if (probe.success && probe.data.startToReadyMs) rates.push(probe.data.attempts / (probe.data.startToReadyMs / 1000));
    }
    return {
      pods: pods.length,
      startError: signed(startErr), startAbsError: summarizeAbs(startErr),
      dpReadyError: signed(dpErr), dpReadyAbsError: summarizeAbs(dpErr),
      ruleRemovalMs: removal.after - removal.before,
      truth: removal.committed !== undefined ? 'nft monitor' : 'commit sent',
      ...(removal.noTruth ? { truthProblem: removal.noTruth } : {}),
      attemptsPerSecond: p50p99(rates),
      markErrorMs: 20, markAttemptsPerSecond: 50,
      versions: {
        kubernetes: await kubernetesVersion(cp),
        containerd: await version('containerd', ['--version']),
        runc: await version('runc', ['--version']),
        cni: await version('dpkg-query', ['-W', '-f=${Version}', 'containernetworking-plugins']),
      },
      setupSeconds: cp.realNode?.timings ?? {},
    };
  } finally {
    await rule?.remove().catch(() => {});
    await cp.stop();
  }
}
