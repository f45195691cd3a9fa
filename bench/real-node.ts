// Accuracy on real parts: reporters in real containers on the real node probe a Service whose
// path is broken by an iptables DROP rule; the rule is removed at a known instant. Truth for
// "start" is the kernel's exec of the container's command (exec-trace.ts; containerd's
// StartedAt, CRI's status, is shown beside it); truth for "datapath ready" is the kernel's
// commit of the rule's removal (commit-trace.ts). Also the attempts per second each reporter
// sent while the path dropped its packets, and the reporter's cost per pod (reporter-cost.ts).
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_START, ProbeDetails } from '../src/contract.ts';
import { startControlPlane, kubernetesVersion } from '../src/devcluster/control-plane.ts';
import { gatedDeployment } from '../src/devcluster/demo-workload.ts';
import { installDpready } from '../src/devcluster/install.ts';
import { realNodeUnavailable } from '../src/devcluster/node-host.ts';
import { NODE_IMAGES, PathRule, targetObjects } from '../src/devcluster/node-workloads.ts';
import { NODE_IP } from '../src/devcluster/node-host.ts';
import { createCa, issueServing } from '../src/webhook/certs.ts';
import { reporterContainer, reporterSecurityContext, TOKEN_VOLUME } from '../src/webhook/inject.ts';
import { REPORT_AUDIENCE } from '../src/contract.ts';
import { DEFAULT_REPORTER_RESOURCES } from '../src/webhook/config.ts';
import { waiterCommand } from '../src/reporter/handover.ts';
import { creationOrder } from './create-order.ts';
import {
  BASELINE_MSG, baselineScript, containerCgroup, containerPids, containerPrograms, criStartedAt, firstAttemptAt, logLineAt, reportSink, sampleCgroup,
  type CgroupSample, type ContainerCgroup,
} from './reporter-cost.ts';
import { WARM_UP_MSG } from '../src/reporter/run.ts';
import { traceCommit, type CommitTrace } from '../src/devcluster/commit-trace.ts';
import { traceExecs, type Exec, type ExecTrace } from './exec-trace.ts';
import { groupOf, traceSwitches, type CoresWindow, type SchedTrace } from './sched-trace.ts';
import { readdirSync } from 'node:fs';
import { busyPercent, machineCpu, stealPercent } from './proc-usage.ts';
import { checkBrackets, expectedGridMaxMs, passChance, type Bracket, type BracketCheck } from './grid-floor.ts';
import { DEFAULT_SCHEDULE } from '../src/reporter/schedule.ts';
import { p50p99, summarizeAbsJudged, type Summary } from './stats.ts';

export interface RealNodeFigures {
  pods: number;
  /**
   * The measured (classic) reporters' CPU request when it was not the webhook's default
   * (--realnode-reporter-cpu): a run that asks how the start's error depends on it.
   */
  reporterCpuRequest?: string;
  /** Reported start − the reporter container's start in CRI, ms (signed), and its absolute value. */
  startError: ReturnType<typeof p50p99> & { min: number };
  startAbsError: Summary;
  /**
   * The same start against the kernel's exec of the reporter container's command (the image's
   * entrypoint, dpready-start, which then execs node under the same pid; tracefs
   * sched_process_exec, bench/exec-trace.ts): reported − exec, and how far
   * containerd's StartedAt record lies from that exec (CRI − exec), ms (signed).
   */
  startVsExec?: { reportedMinusExec: ReturnType<typeof p50p99> & { min: number }; reportedMinusExecAbs: Summary; criMinusExec: ReturnType<typeof p50p99> & { min: number } } | { unavailable: string };
  /** Reported datapath-ready − the instant the DROP rule was removed, ms (signed), and absolute. */
  dpReadyError: ReturnType<typeof p50p99> & { min: number };
  dpReadyAbsError: Summary;
  /**
   * That error in two parts, from each pod's probe details: the successful attempt's start −
   * the truth (how soon after the path opened an attempt went out; about −1 s when an older
   * attempt's retransmitted SYN won, as in 2026-12-05-d38fa52.json), and its round trip
   * (connect, request, the target's answer, the reporter's event loop).
   */
  dpReadySplit?: {
    attemptStartMs: ReturnType<typeof p50p99> & { min: number }; roundTripMs: ReturnType<typeof p50p99>;
    /** How many pods recorded the attempt's start (it completed within 1 s) and how many its answer (probe details' readyFrom). */
    recordedAs?: { sent: number; done: number };
    /** Of the attempt's start − truth, how late its tick fired against the schedule (probe details' lateMs); the rest is the interval's quantisation. */
    lateMs?: ReturnType<typeof p50p99>;
    /**
     * From the attempt's start to its SYN, the instant recorded (probe details' sendDelayMs;
     * reporters from 2026-12-06 on date the SYN just after its connect(2)): a wait for a core
     * before the call. Recorded error = start − truth + this.
     */
    sendDelayMs?: ReturnType<typeof p50p99>;
    /**
     * Per pod, the attempt's start − truth − its lateness: where the heal fell before the
     * attempt's planned tick. At most one interval (20 ms) when the first tick planned after the
     * heal brought the success; more means a later attempt did.
     */
    plannedAfterTruthMs?: ReturnType<typeof p50p99> & { min: number };
    /** Each pod's figures, by name (acc-N is the N-th created), to see which pod set the p99. */
    perPod?: Array<{ pod: string; errorMs: number; /** The pod's bracket's lower end (its latest failed attempt) − truth. */ failedMs?: number; attemptStartMs?: number; lateMs?: number; sendDelayMs?: number; rttMs?: number; attempts?: number; startVsExecMs?: number }>;
  };
  /**
   * The probe interval's share of the mark (bench/grid-floor.ts): the judged p99 of n pods is
   * their maximum, which the interval alone puts at `expectedGridMaxMs` on average; and the
   * chance a run passes, at random phases, were each pod's delay (lateMs + sendDelayMs) what it
   * was in this run.
   */
  dpReadyFloor?: { intervalMs: number; expectedGridMaxMs: number; passChanceWithTheseDelays: number };
  /**
   * Each pod's own error bar (probe details' failedAfterMs to the reported instant) against the
   * truth: how many held it, and how wide they were.
   */
  dpReadyBracket?: BracketCheck;
  /**
   * How busy the node's CPUs were (% of all), while the classic reporters waited on the dropped
   * path and over the second after the rule went: a saturated node starves the reporters'
   * 10m requests, and their event loops see answers late.
   */
  nodeBusyPercent?: { brokenWindow: number; secondAfterHeal: number };
  /**
   * Of the same windows, the share of the CPUs' time the hypervisor gave to something else while
   * this machine had work (/proc/stat's steal; counted as busy above), %: on a VM, a wait for a
   * core that no trace inside it shows.
   */
  stealPercent?: { brokenWindow: number; secondAfterHeal: number };
  /**
   * Who had the cores, from the kernel's context switches (bench/sched-trace.ts): windows in ms
   * from the heal, each with its busy share and the CPU ms of each group of threads. A tick after
   * the heal that fired late waited for these.
   */
  coresAfterHeal?: CoresWindow[] | { unavailable: string };
  /**
   * Each classic reporter whose start was stamped more than START_WAIT_SHOWN_MS after its exec:
   * that wait, and who had the cores during it (ms of CPU by owner and the busiest commands, from
   * a sched_switch trace of the start phase; the waiting reporter's own time at the wait's end
   * counts under reporters).
   */
  startWaits?: Array<{ pod: string; waitMs: number; busyPercent: number; tracedPercent?: number; ms: CoresWindow['ms']; top?: CoresWindow['top'] }> | { unavailable: string };
  /** Of that second, the CPU the classic reporter containers used, all together, ms (of 2,000 on 2 cores). */
  reportersCpuMsSecondAfterHeal?: number;
  /** Pods were created one per this many ms (reporters and baselines interleaved). */
  createIntervalMs?: number;
  /** The true instant lies between the commit being sent and iptables-restore exiting: this wide, ms. */
  ruleRemovalMs: number;
  /**
   * Where the true instant came from: the kernel's commit (the exit of the sendmsg carrying the
   * batch, tracefs) or, before it was traced, nft's report of the rule's own delete, read by this
   * process's event loop; the part fails without either.
   */
  truth: 'kernel commit' | 'nft monitor' | 'commit sent';
  /** How long the sendmsg that committed took (its entry to its exit), ms: the truth's own width. */
  commitSyscallMs?: number;
  /** nft monitor's report of the delete, as this process read it, − the kernel's commit, ms. */
  nftMonitorLateMs?: number;
  /** Why nft gave no truth (then the error figures are against the instant the commit was sent, and unjudged). */
  truthProblem?: string;
  attemptsPerSecond: ReturnType<typeof p50p99>;
  /**
   * The reporters' warm-up (src/reporter/warm-up.ts), from each pod's log line: how many ran it
   * before the heal, and its CPU per pod.
   */
  warmUp?: { pods: number; warmed: number; cpuMs: ReturnType<typeof p50p99> };
  markErrorMs: number;
  markAttemptsPerSecond: number;
  versions: { kubernetes: string; containerd: string; runc: string; cni: string };
  setupSeconds: Record<string, number>;
  /** The one image (controller and reporter) as this node's containerd holds it: `ctr images ls` SIZE. */
  imageSize?: string;
  /** The reporter's own cost, per mode, from its container's cgroup (bench/reporter-cost.ts). */
  cost: Record<CostMode, ModeCost>;
  /**
   * The bare Node baseline of each mode's start: pods of the same shape created with that
   * mode's reporters, whose sidecar is the image's `node -e` printing one line. Its line −
   * its container's CRI start, ms; `processStartMs` of it is Node's own start before user code.
   */
  baseline: Record<CostMode, Baseline>;
  /** Sidecar reporters after their handover (classic mode, the accuracy pods). */
  afterHandover: {
    pods: number;
    /** What the container runs then (its processes' names). */
    programs: string[];
    rssMiB: P50Max;
    /** Charged memory, page cache included. */
    usageMiB: P50Max;
    /** CPU used over `overSeconds` after the handover, ms. */
    cpuMs: P50Max;
    overSeconds: number;
    /** Most restarts of any reporter container, read ≥ restartWindowSeconds after the handover. */
    maxRestarts: number;
    restartWindowSeconds: number;
  };
  marks: {
    /** (first attempt − CRI start) ÷ (bare node -e line − CRI start), p50 over p50. */
    firstAttemptRatio: number;
    firstAttemptMs: number; peakMiB: Record<'report' | 'classic', number>; afterRssMiB: number; afterCpuMs: number; errorMs: number;
  };
}

export type CostMode = 'report' | 'classic' | 'init';
/** The bare `node -e` pods started with a mode's reporters. */
export interface Baseline {
  pods: number;
  /** Its line − its container's CRI start, ms. */
  printMs: P50Max;
  /** Its line − the kernel's exec of its container's command, node (tracefs), ms. */
  printSinceExecMs?: P50Max;
  /** Node's own start before user code: line − uptime − CRI start, ms. */
  processStartMs: P50Max;
  /** CPU used when it printed (process.cpuUsage), ms. */
  cpuMs: P50Max;
}
type P50Max = { n: number; p50: number; max: number };
export interface ModeCost {
  pods: number;
  /** Peak charged memory of the reporter container, MiB. */
  peakMiB: P50Max;
  /** Resident memory (anonymous + mapped files) while probing, MiB. */
  probingRssMiB: P50Max;
  /** First probe attempt (its log line) − the container's CRI start, ms. */
  firstAttemptMs: P50Max;
  /** The same from the kernel's exec of the container's command (tracefs), ms. */
  firstAttemptSinceExecMs?: P50Max;
  /** Of that, Node's own start before any user code runs: the process's start (line − uptime) − CRI start, ms. */
  processStartMs: P50Max;
  /** And the reporter's part: its first attempt − its process start (Node's uptime then), ms. */
  sinceProcessStartMs: P50Max;
  /** CPU the process had used at its first attempt (its own process.cpuUsage in that log line), ms. */
  cpuToFirstAttemptMs: P50Max;
  /** Container CPU over the broken window ÷ the attempts sent in it, ms. */
  cpuPerAttemptMs: P50Max;
  /** Container CPU from start to the end of the broken window, less its attempts: start-up and API calls, ms. */
  cpuStartMs: P50Max;
}

export type RealNodeResult = RealNodeFigures | { skipped: string };

const NS = 'bench-real';
/** The datapath-ready marks: |error| p99, at no more than this many attempts per second per pod while the path drops packets. */
const MARK_ERROR_MS = 20;
const MARK_ATTEMPTS_PER_SECOND = 50;

const signed = (xs: number[]) => ({ ...p50p99(xs), min: Math.round(Math.min(...xs) * 10) / 10 });
const p50max = (xs: number[]): P50Max => {
  const { p50, max } = p50p99(xs.length ? xs : [NaN]);
  return { n: xs.length, p50, max };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A reporter container of a pod: its id, whether it runs as an init (or native sidecar) container. */
function reporterId(p: k8s.V1Pod): string | undefined {
  const s = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].find((c) => c.name === 'dpready-reporter');
  return s?.containerID?.replace(/^containerd:\/\//, '');
}

/** Per-pod cgroup bookkeeping through one broken window: samples at its start and end. */
interface Tracked {
  pod: k8s.V1Pod; id: string; cg: ContainerCgroup; start?: CgroupSample; end?: CgroupSample; windowMs: number;
  /** Peak read after the work was done (v1's max_usage_in_bytes keeps the container's high-water mark). */
  peakMiB?: number;
  /** Its processes when tracked (an init container's cgroup goes when it exits). */
  pids: Set<number>;
}

/** A sidecar's handover is complete: Node is gone and the waiter's sleep runs. */
const handedOver = (programs: string[]) => !programs.includes('node') && programs.includes('sleep');

/**
 * The first traced exec by one of these pids: the container's command. A reporter's is
 * dpready-start, which execs node under the same pid (as the sidecar's handover later execs sh);
 * a baseline's is node itself.
 */
const execIn = (pids: Set<number>, execs: Exec[]) => execs.find((e) => pids.has(e.pid))?.at;
const pidsOf = async (cg: ContainerCgroup) => new Set(await containerPids(cg));

async function track(pods: k8s.V1Pod[]): Promise<Tracked[]> {
  const out: Tracked[] = [];
  for (const pod of pods) {
    const id = reporterId(pod);
    const cg = id ? await containerCgroup(id) : undefined;
    if (id && cg) out.push({ pod, id, cg, windowMs: 0, pids: await pidsOf(cg) });
  }
  return out;
}

async function sampleAll(ts: Tracked[], which: 'start' | 'end'): Promise<void> {
  await Promise.all(ts.map(async (t) => { t[which] = await sampleCgroup(t.cg).catch(() => undefined); }));
}

/** The cost figures of one mode, given each pod's attempt rate in the window. */
async function modeCost(ts: Tracked[], criRoot: string, attemptsPerSecond: (t: Tracked) => number | undefined, execs: Exec[]): Promise<ModeCost> {
  const first: number[] = [];
  const sinceExec: number[] = [];
  const proc: number[] = [];
  const own: number[] = [];
  const cpuFirst: number[] = [];
  const perAttempt: number[] = [];
  const startCpu: number[] = [];
  for (const t of ts) {
    const m = t.pod.metadata!;
    const [at, started] = await Promise.all([firstAttemptAt({ namespace: m.namespace!, name: m.name!, uid: m.uid! }, 'dpready-reporter'), criStartedAt(criRoot, t.id).catch(() => undefined)]);
    if (at !== undefined && started !== undefined) {
      first.push(Math.round((at.at - started) * 10) / 10);
      const exec = execIn(t.pids, execs);
      if (exec !== undefined) sinceExec.push(Math.round((at.at - exec) * 10) / 10);
      if (at.sinceProcessStartMs !== undefined) {
        proc.push(Math.round((at.at - at.sinceProcessStartMs - started) * 10) / 10);
        own.push(Math.round(at.sinceProcessStartMs * 10) / 10);
      }
      if (at.cpuMs !== undefined) cpuFirst.push(at.cpuMs);
    }
    const rate = attemptsPerSecond(t);
    if (t.start && t.end && rate) {
      const attempts = rate * (t.windowMs / 1000);
      perAttempt.push(Math.round(((t.end.cpuMs - t.start.cpuMs) / attempts) * 1000) / 1000);
      startCpu.push(t.start.cpuMs);
    }
  }
  return {
    pods: ts.length,
    peakMiB: p50max(ts.flatMap((t) => (t.end || t.peakMiB !== undefined ? [Math.max(t.end?.peakMiB ?? 0, t.peakMiB ?? 0)] : []))),
    probingRssMiB: p50max(ts.flatMap((t) => (t.end ? [t.end.rssMiB] : []))),
    firstAttemptMs: p50max(first),
    ...(sinceExec.length ? { firstAttemptSinceExecMs: p50max(sinceExec) } : {}),
    processStartMs: p50max(proc),
    sinceProcessStartMs: p50max(own),
    cpuToFirstAttemptMs: p50max(cpuFirst),
    cpuPerAttemptMs: p50max(perAttempt),
    cpuStartMs: p50max(startCpu),
  };
}

async function imageSize(cp: Awaited<ReturnType<typeof startControlPlane>>): Promise<{ imageSize: string } | undefined> {
  const out = await cp.realNode?.ctr(['images', 'ls', `name==${NODE_IMAGES.dpready}`]).catch(() => '');
  // REF TYPE DIGEST SIZE PLATFORMS LABELS, SIZE as "82.3 MiB".
  const size = out?.split('\n')[1]?.match(/\s(\d+(?:\.\d+)? [KMG]i?B)\s/)?.[1];
  return size ? { imageSize: size } : undefined;
}

/** A Deployment of `replicas` pods running `reporter` (as an init container or native sidecar) beside a pause app. */
function reporterDeployment(name: string, replicas: number, reporter: k8s.V1Container, extra: Partial<k8s.V1PodSpec> = {}): k8s.V1Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS, labels },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: {
      initContainers: [reporter],
      containers: [{ name: 'app', image: NODE_IMAGES.agnhost, args: ['pause'] }],
      ...extra,
    } } },
  };
}

/**
 * The reporter's resources as the webhook injects them: every mode's pods, and the baselines,
 * get the same. Its securityContext is given to all of them too (reporterSecurityContext():
 * restricted, seccomp RuntimeDefault, read-only root, no capabilities), as the examples give
 * it. Only report mode's pods had it before: their start-up was compared with bare node -e
 * pods without it (2026-12-06-022a871.json: 246.6 ms of CPU to the first attempt against
 * 190.5 for the init pods beside them, and 189.8 for the baseline).
 */
const REPORTER_RESOURCES = DEFAULT_REPORTER_RESOURCES as k8s.V1ResourceRequirements;

/** Pods of the reporters' shape whose sidecar is the image's bare `node -e` (bench/reporter-cost.ts). */
function baselineDeployment(name: string): k8s.V1Deployment {
  return reporterDeployment(name, 0, {
    name: 'baseline', image: NODE_IMAGES.dpready, restartPolicy: 'Always', resources: REPORTER_RESOURCES, securityContext: reporterSecurityContext(),
    command: ['node', '-e', baselineScript(waiterCommand('/bin/sh', '/bin/sleep'))],
  });
}

/** One baseline pod after every second reporter pod: with one per four (5 and 7 pods), the baseline's p50 swung 8× between runs. */
const BASELINE_EVERY = 2;

/**
 * Pods are created one per this many ms. Each pod's start costs the node ~0.2 s of CPU (the
 * sandbox, the CNI, Node's own start), so 25 pods created at once kept both cores busy for
 * seconds: containerd then recorded StartedAt up to 1.1 s after Node had started in the container,
 * and the start error measured that lag, not the reporter (2026-12-05-7f731a7.json). Two pods a
 * second on one node is still well above a density test's per-node arrival rate.
 */
const CREATE_INTERVAL_MS = 500;
const baselineCount = (reporters: number) => Math.floor(reporters / BASELINE_EVERY);

/**
 * Creates the pods of these Deployments' templates as bare pods, one every CREATE_INTERVAL_MS,
 * in creationOrder (bench/create-order.ts): each group spread over the whole sequence, and a
 * baseline pod after every BASELINE_EVERY reporter pods. A Deployment's ReplicaSet creates its
 * pods in doubling batches (1, 2, 4, 8, …), so a small baseline Deployment would be all
 * created, and started, before the last and most loaded reporters. Interleaved, the baseline
 * starts under the load the reporters start under.
 */
async function createInterleaved(core: k8s.CoreV1Api, groups: { of: k8s.V1Deployment; count: number }[], baseline: k8s.V1Deployment): Promise<void> {
  const podOf = (d: k8s.V1Deployment, i: number): k8s.V1Pod => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `${d.metadata!.name}-${i}`, namespace: NS, labels: d.spec!.template.metadata!.labels! },
    spec: d.spec!.template.spec!,
  });
  const order = creationOrder(groups.map((g) => g.count), BASELINE_EVERY)
    .map((s) => ('baseline' in s ? podOf(baseline, s.index) : podOf(groups[s.group]!.of, s.index)));
  const t0 = Date.now();
  for (const [i, body] of order.entries()) {
    await sleep(t0 + i * CREATE_INTERVAL_MS - Date.now());
    await core.createNamespacedPod({ namespace: NS, body });
  }
}

/** Each baseline pod's line − its container's CRI start, and Node's own start within it. */
async function baselineOf(pods: k8s.V1Pod[], criRoot: string, execs: Exec[]): Promise<Baseline> {
  const print: number[] = [];
  const sinceExec: number[] = [];
  const proc: number[] = [];
  const cpu: number[] = [];
  for (const p of pods) {
    const m = p.metadata!;
    const s = [...(p.status?.initContainerStatuses ?? [])].find((c) => c.name === 'baseline');
    const id = s?.containerID?.replace(/^containerd:\/\//, '');
    if (!id) continue;
    const [line, started] = await Promise.all([logLineAt({ namespace: m.namespace!, name: m.name!, uid: m.uid! }, 'baseline', BASELINE_MSG), criStartedAt(criRoot, id).catch(() => undefined)]);
    if (!line || started === undefined) continue;
    print.push(Math.round((line.at - started) * 10) / 10);
    const cg = await containerCgroup(id);
    const exec = cg ? execIn(await pidsOf(cg), execs) : undefined;
    if (exec !== undefined) sinceExec.push(Math.round((line.at - exec) * 10) / 10);
    if (line.sinceProcessStartMs !== undefined) proc.push(Math.round((line.at - line.sinceProcessStartMs - started) * 10) / 10);
    if (line.cpuMs !== undefined) cpu.push(Math.round(line.cpuMs * 10) / 10);
  }
  return { pods: pods.length, printMs: p50max(print), ...(sinceExec.length ? { printSinceExecMs: p50max(sinceExec) } : {}), processStartMs: p50max(proc), cpuMs: p50max(cpu) };
}

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

/** Quiet on this process's side after the heal, ms (a second: what `secondAfterHeal` covers). */
const QUIET_AFTER_HEAL_MS = 1_000;
/** A reporter whose start was stamped later than this after its exec gets its wait split by owner (startWaits). */
const START_WAIT_SHOWN_MS = 5;
/** The windows after the heal whose cores are split by owner: the first ticks after it, the quiet after their successes, the rest. */
const CORES_WINDOWS: Array<[number, number]> = [[-20, 0], [0, 20], [20, 60], [60, 1_000]];

/** A process's threads (tids), while it runs; none once it is gone. */
function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

export async function realNodeAccuracy(opts: { pods: number; brokenMs: number; reporterCpu?: string; log: (line: string) => void }): Promise<RealNodeResult> {
  const unavailable = realNodeUnavailable();
  if (unavailable) return { skipped: unavailable };
  const cp = await startControlPlane({ realNode: true, log: (l) => opts.log(`  ${l}`) });
  let rule: PathRule | undefined;
  let tracing: ExecTrace | undefined;
  /** The sched_switch traces, removed however the part ends (each holds up to 32 MiB a CPU). */
  const schedTraces: SchedTrace[] = [];
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
    const accSpec = gatedDeployment({
      name: 'acc', namespace: NS, replicas: opts.pods,
      // The Service's cluster IP, through kube-proxy: the measurement is of the path, not of
      // 20 reporters × 50 DNS lookups a second on a 2-core machine (the rollout test covers names).
      target: `http://${serviceIp}/healthz`,
      images: { reporter: NODE_IMAGES.dpready, app: NODE_IMAGES.agnhost, appArgs: ['pause'] },
    });
    // The resources the webhook injects and the examples give: without them these pods would be
    // BestEffort, with 2 CPU shares between them all against the injected pods' 10m each.
    accSpec.spec!.template.spec!.initContainers![0]!.resources = opts.reporterCpu === undefined ? REPORTER_RESOURCES
      : { ...REPORTER_RESOURCES, requests: { ...REPORTER_RESOURCES.requests, cpu: opts.reporterCpu } };
    accSpec.spec!.template.spec!.initContainers![0]!.securityContext = reporterSecurityContext();
    const execTrace = await traceExecs(['dpready-start', 'node']);
    // And who had the cores while the reporters started, read at the end (see startWaits): the
    // 20 pods start over ~15 s, some 300,000 switches here; 32 MiB a CPU holds them.
    const startSwitches = await traceSwitches('start', 32_768);
    if (!('unavailable' in startSwitches)) schedTraces.push(startSwitches);
    if (!('unavailable' in execTrace)) tracing = execTrace;
    await createInterleaved(core, [{ of: accSpec, count: opts.pods }], baselineDeployment('base-classic'));
    const list = async (app = 'acc') => (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items;
    const started = await waitUntil(`${opts.pods} reporters started`, async () => {
      const pods = await list();
      return pods.length === opts.pods && pods.every((p) => p.metadata?.annotations?.[ANNOTATION_START] && reporterId(p)) && pods;
    }, 300_000);
    // Let every reporter wait on the broken path for a while, as in a slow network programming.
    // CPU is read from each reporter's cgroup at both ends of that wait: attempts only, no start-up.
    const classic = await track(started);
    if (!('unavailable' in startSwitches)) await startSwitches.pause();
    const startThreads = { reporters: new Set(classic.flatMap((t) => [...t.pids].flatMap(threadsOf))), bench: new Set(threadsOf(process.pid)) };
    await sampleAll(classic, 'start');
    const windowStart = Date.now();
    const cpuAtStart = machineCpu();
    await sleep(opts.brokenMs);
    const cpuAtHeal = machineCpu();
    await sampleAll(classic, 'end');
    for (const t of classic) t.windowMs = Date.now() - windowStart;
    let commitTrace: CommitTrace | { unavailable: string } | undefined;
    // Who has the cores from just before the heal to the end of the quiet second (sched-trace.ts).
    // ~30,000 switches in 1.5 s around a heal (34054e9's run, by hand): 8 MiB a CPU holds that.
    const switches = await traceSwitches('heal', 8192);
    if (!('unavailable' in switches)) schedTraces.push(switches);
    const threads = { reporters: new Set(classic.flatMap((t) => [...t.pids].flatMap(threadsOf))), bench: new Set(threadsOf(process.pid)) };
    const removal = await rule.remove({
      beforeCommit: async (pid) => {
        commitTrace = await traceCommit(pid);
        return 'unavailable' in commitTrace ? undefined : 'traced';
      },
    });
    // The second after the heal is the reporters': this process reads nothing and asks the API
    // nothing until it is over, so the CPU it would take is not taken from their ticks (by a sched trace
    // taken by hand on 34054e9, not committed, this process used 7.6 ms of the 40 core-ms of the first 20 ms).
    const afterHeal = await sleep(QUIET_AFTER_HEAL_MS).then(async () => {
      const node = machineCpu();
      const reporters = await Promise.all(classic.map((t) => sampleCgroup(t.cg).then((x) => x.cpuMs - (t.end?.cpuMs ?? x.cpuMs), () => 0)));
      return { node, reportersMs: Math.round(reporters.reduce((a, b) => a + b, 0)) };
    });
    const kernelCommit = commitTrace && !('unavailable' in commitTrace) ? await commitTrace.commit() : undefined;
    if (commitTrace && !('unavailable' in commitTrace)) await commitTrace.stop();
    // Truth: the kernel's commit, at the exit of the sendmsg that carried iptables-restore's batch
    // (src/devcluster/commit-trace.ts); else the delete of this rule (its handle) as nft monitor reported
    // it, stamped by this process's event loop. Without either the figures are against the
    // moment the commit was sent, shown but not judged.
    const healedAt = kernelCommit?.exit ?? removal.committed ?? removal.before;
    const coresAfterHeal = 'unavailable' in switches ? switches
      : await switches.finish(healedAt, CORES_WINDOWS, (tid, comm) => groupOf(tid, comm, threads))
        .catch((err: unknown) => ({ unavailable: `the sched_switch trace could not be read: ${(err as Error).message}` }));
    if (!kernelCommit) opts.log(`bench: no kernel commit from tracefs: ${commitTrace && 'unavailable' in commitTrace ? commitTrace.unavailable : 'no sendmsg by iptables-restore traced'}`);
    if (removal.noTruth) opts.log(`bench: no truth from nft: ${removal.noTruth}`);
    rule = undefined;
    const pods = await waitUntil('every reporter ready', async () => {
      const ps = await list();
      return ps.every((p) => p.metadata?.annotations?.[ANNOTATION_DP_READY]) && ps;
    }, 120_000);

    const criRoot = join(cp.dir, 'node', 'containerd', 'root', 'io.containerd.grpc.v1.cri', 'containers');
    const baseClassic = await waitUntil('the classic baseline pods', async () => {
      const ps = await list('base-classic');
      return ps.length === baselineCount(opts.pods) && ps.every((p) => p.status?.initContainerStatuses?.[0]?.state?.running) && ps;
    }, 60_000);
    const startErr: number[] = [];
    const vsExec: number[] = [];
    const criVsExec: number[] = [];
    const execs = (await tracing?.execs()) ?? [];
    const dpErr: number[] = [];
    const attemptStart: number[] = [];
    const roundTrip: number[] = [];
    const recordedAs = { sent: 0, done: 0 };
    const lateness: number[] = [];
    const sendDelays: number[] = [];
    const plannedAfter: number[] = [];
    const delays: number[] = [];
    const brackets: Bracket[] = [];
    const perPod: NonNullable<NonNullable<RealNodeFigures['dpReadySplit']>['perPod']> = [];
    const startGaps: Array<{ pod: string; exec: number; waitMs: number }> = [];
    const rates: number[] = [];
    const warmUpCpu: number[] = [];
    const rateOf = new Map<string, number>();
    for (const p of pods) {
      const a = p.metadata!.annotations!;
      const id = reporterId(p);
      let startVsExec: number | undefined;
      if (id) {
        // CRI's own record of the container, with StartedAt in nanoseconds since the epoch.
        const startedAt = await criStartedAt(criRoot, id);
        if (startedAt) startErr.push(Date.parse(a[ANNOTATION_START]!) - startedAt);
        const pids = classic.find((t) => t.id === id)?.pids;
        const exec = pids ? execIn(pids, execs) : undefined;
        if (exec !== undefined) {
          // Judged unrounded (summarizeAbsJudged); shown per pod to 0.1 ms.
          const vs = Date.parse(a[ANNOTATION_START]!) - exec;
          vsExec.push(vs);
          startVsExec = Math.round(vs * 10) / 10;
          if (startVsExec > START_WAIT_SHOWN_MS) startGaps.push({ pod: p.metadata!.name!, exec, waitMs: startVsExec });
          if (startedAt) criVsExec.push(Math.round((startedAt - exec) * 10) / 10);
        }
      }
      const err = Date.parse(a[ANNOTATION_DP_READY]!) - healedAt;
      dpErr.push(err);
      const probe = ProbeDetails.safeParse(JSON.parse(a[ANNOTATION_PROBE] ?? '{}'));
      if (probe.success && probe.data.rttMs !== undefined) {
        roundTrip.push(probe.data.rttMs);
        // The recorded instant is the successful attempt's start ('sent') or its answer ('done').
        const from = probe.data.perTarget?.[0]?.readyFrom ?? 'done';
        recordedAs[from]++;
        const late = probe.data.perTarget?.[0]?.lateMs;
        // The pod's own bracket, on its monotonic clock: back from the reported instant to its latest failed attempt.
        const { readyAfterMs, failedAfterMs } = probe.data.perTarget?.[0] ?? {};
        const failedMs = readyAfterMs !== undefined && failedAfterMs !== undefined ? Math.round((err - (readyAfterMs - failedAfterMs)) * 1000) / 1000 : undefined;
        if (failedMs !== undefined) brackets.push({ pod: p.metadata!.name!, lowerMs: failedMs, upperMs: err });
        // A 'sent' instant is the SYN's: its attempt started sendDelayMs before it.
        const sendDelay = from === 'sent' ? probe.data.perTarget?.[0]?.sendDelayMs : undefined;
        if (sendDelay !== undefined) sendDelays.push(sendDelay);
        const start = Math.round((from === 'sent' ? err - (sendDelay ?? 0) : err - probe.data.rttMs) * 10) / 10;
        attemptStart.push(start);
        if (late !== undefined) {
          delays.push(late + (sendDelay ?? 0));
          lateness.push(late);
          plannedAfter.push(Math.round((start - late) * 10) / 10);
        }
        perPod.push({ pod: p.metadata!.name!, errorMs: err, failedMs, attemptStartMs: start, lateMs: late, sendDelayMs: sendDelay, rttMs: probe.data.rttMs, attempts: probe.data.attempts, startVsExecMs: startVsExec });
      } else {
        perPod.push({ pod: p.metadata!.name!, errorMs: err, startVsExecMs: startVsExec });
      }
      const warm = await logLineAt({ namespace: p.metadata!.namespace!, name: p.metadata!.name!, uid: p.metadata!.uid! }, 'dpready-reporter', WARM_UP_MSG).catch(() => undefined);
      if (warm?.cpuMs !== undefined && warm.at < healedAt) warmUpCpu.push(warm.cpuMs);
      if (probe.success && probe.data.startToReadyMs) {
        rates.push(probe.data.attempts / (probe.data.startToReadyMs / 1000));
        rateOf.set(p.metadata!.name!, probe.data.attempts / (probe.data.startToReadyMs / 1000));
      }
    }
    // Who had the cores while a reporter's first instruction waited after its exec.
    const startWaits: RealNodeFigures['startWaits'] = 'unavailable' in startSwitches ? startSwitches
      : await startSwitches.finish(0, startGaps.map((g) => [g.exec, g.exec + g.waitMs]), (tid, comm) => groupOf(tid, comm, startThreads))
        .then((ws) => ws.map((w, i) => ({ pod: startGaps[i]!.pod, waitMs: startGaps[i]!.waitMs, busyPercent: w.busyPercent, tracedPercent: w.tracedPercent, ms: w.ms, top: w.top })))
        .catch((err: unknown) => ({ unavailable: `the sched_switch trace could not be read: ${(err as Error).message}` }));
    // After the work: each sidecar hands over to a shell waiter. Its memory and CPU from then on,
    // once the handover is complete: node gone and the shell's sleep started (seen as soon as
    // node was gone, the window took in the shell's own start: 3.1 ms in 2026-12-05-5a9c43f.json).
    await waitUntil('every classic reporter handed over', async () =>
      (await Promise.all(classic.map(async (t) => handedOver(await containerPrograms(t.cg))))).every(Boolean), 60_000);
    const handedOverAt = Date.now();
    const after0 = await Promise.all(classic.map((t) => sampleCgroup(t.cg)));
    classic.forEach((t, i) => { t.peakMiB = after0[i]!.peakMiB; });
    const classicCost = await modeCost(classic, criRoot, (t) => rateOf.get(t.pod.metadata!.name!), execs);
    const programs = [...new Set((await Promise.all(classic.map((t) => containerPrograms(t.cg)))).flat())].sort();

    // Report mode (what the webhook injects) and init mode, each through a broken window of its own.
    const ca = createCa(Date.now());
    const sink = await reportSink(NODE_IP, issueServing(ca, [NODE_IP], Date.now()));
    let other: { report: ModeCost; init: ModeCost };
    let baseOther: Awaited<ReturnType<typeof baselineOf>>;
    try {
      rule = new PathRule(targetIp, 8080);
      await rule.add();
      const target = `http://${serviceIp}/healthz`;
      const injected = reporterContainer({ reporterImage: NODE_IMAGES.dpready, reportUrl: sink.url, caBundle: ca.cert, excludedNamespaces: [] }, target, '10m', 'sidecar');
      const repSpec = reporterDeployment('rep', opts.pods, injected, {
        volumes: [{ name: TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { audience: REPORT_AUDIENCE, expirationSeconds: 3600, path: 'token' } }] } }],
      });
      const initSpec = gatedDeployment({ name: 'ini', namespace: NS, replicas: Math.ceil(opts.pods / 2), target,
        images: { reporter: NODE_IMAGES.dpready, app: NODE_IMAGES.agnhost, appArgs: ['pause'] }, env: { PROBE_MODE: 'init' } });
      delete initSpec.spec!.template.spec!.initContainers![0]!.restartPolicy;
      initSpec.spec!.template.spec!.initContainers![0]!.resources = REPORTER_RESOURCES;
      initSpec.spec!.template.spec!.initContainers![0]!.securityContext = reporterSecurityContext();
      await createInterleaved(core, [{ of: repSpec, count: opts.pods }, { of: initSpec, count: Math.ceil(opts.pods / 2) }], baselineDeployment('base-other'));
      const [rep, ini] = await Promise.all([
        waitUntil('report-mode reporters started', async () => {
          const ps = await list('rep');
          return ps.length === opts.pods && ps.every((p) => sink.patches.has(p.metadata!.name!) && reporterId(p)) && ps;
        }, 300_000),
        waitUntil('init-mode reporters started', async () => {
          const ps = await list('ini');
          return ps.length === Math.ceil(opts.pods / 2) && ps.every((p) => p.metadata?.annotations?.[ANNOTATION_START] && reporterId(p)) && ps;
        }, 300_000),
      ]);
      const report = await track(rep);
      const init = await track(ini);
      await sampleAll([...report, ...init], 'start');
      const t0 = Date.now();
      await sleep(opts.brokenMs / 2);
      // An init container's cgroup goes when it exits: its peak is read while it still probes.
      await sampleAll([...report, ...init], 'end');
      for (const t of [...report, ...init]) t.windowMs = Date.now() - t0;
      await rule.remove();
      rule = undefined;
      await waitUntil('report-mode reporters ready', async () => (await list('rep')).every((p) => (sink.patches.get(p.metadata!.name!) ?? []).some((a) => a[ANNOTATION_DP_READY])), 120_000);
      await waitUntil('init-mode reporters ready', async () => (await list('ini')).every((p) => p.metadata?.annotations?.[ANNOTATION_DP_READY]), 120_000);
      // Report mode's peak can come after the window (its ready patch): read it once it handed over.
      await waitUntil('every report-mode reporter handed over', async () =>
        (await Promise.all(report.map(async (t) => handedOver(await containerPrograms(t.cg))))).every(Boolean), 60_000);
      await Promise.all(report.map(async (t) => { t.peakMiB = (await sampleCgroup(t.cg)).peakMiB; }));
      const sinkRate = (t: Tracked) => {
        // The ready patch's details (the start patch carries details too, without startToReadyMs).
        const ready = (sink.patches.get(t.pod.metadata!.name!) ?? []).find((a) => a[ANNOTATION_DP_READY] && a[ANNOTATION_PROBE]);
        const d = ready ? ProbeDetails.safeParse(JSON.parse(ready[ANNOTATION_PROBE]!)) : undefined;
        return d?.success && d.data.startToReadyMs && d.data.attempts ? d.data.attempts / (d.data.startToReadyMs / 1000) : undefined;
      };
      const initNow = await list('ini');
      const initRate = (t: Tracked) => {
        const a = initNow.find((p) => p.metadata!.name === t.pod.metadata!.name)?.metadata?.annotations ?? {};
        const d = ProbeDetails.safeParse(JSON.parse(a[ANNOTATION_PROBE] ?? '{}'));
        return d.success && d.data.startToReadyMs ? d.data.attempts / (d.data.startToReadyMs / 1000) : undefined;
      };
      const execsNow = (await tracing?.execs()) ?? [];
      other = { report: await modeCost(report, criRoot, sinkRate, execsNow), init: await modeCost(init, criRoot, initRate, execsNow) };
      baseOther = await baselineOf(await waitUntil('the other baseline pods', async () => {
        const ps = await list('base-other');
        return ps.length === baselineCount(opts.pods + Math.ceil(opts.pods / 2)) && ps.every((p) => p.status?.initContainerStatuses?.[0]?.state?.running) && ps;
      }, 60_000), criRoot, execsNow);
    } finally {
      await sink.close();
    }

    // The classic sidecars, ≥ 30 s after their handover: CPU since, and restarts over ≥ 60 s.
    await sleep(Math.max(0, handedOverAt + 30_000 - Date.now()));
    const after30 = await Promise.all(classic.map((t) => sampleCgroup(t.cg)));
    await sleep(Math.max(0, handedOverAt + 60_000 - Date.now()));
    const restarts = (await list()).map((p) => [...(p.status?.initContainerStatuses ?? [])].find((c) => c.name === 'dpready-reporter')?.restartCount ?? 0);
    return {
      pods: pods.length,
      ...(opts.reporterCpu !== undefined ? { reporterCpuRequest: opts.reporterCpu } : {}),
      startError: signed(startErr), startAbsError: summarizeAbsJudged(startErr),
      startVsExec: 'unavailable' in execTrace ? execTrace
        : vsExec.length === 0 ? { unavailable: `tracefs reported ${execs.length} execs of dpready-start or node, none in a reporter container` }
        : { reportedMinusExec: signed(vsExec), reportedMinusExecAbs: summarizeAbsJudged(vsExec), criMinusExec: signed(criVsExec.length ? criVsExec : [NaN]) },
      dpReadyError: signed(dpErr), dpReadyAbsError: summarizeAbsJudged(dpErr),
      dpReadySplit: { attemptStartMs: signed(attemptStart.length ? attemptStart : [NaN]), roundTripMs: p50p99(roundTrip.length ? roundTrip : [NaN]), recordedAs, ...(lateness.length ? { lateMs: p50p99(lateness), plannedAfterTruthMs: signed(plannedAfter) } : {}), ...(sendDelays.length ? { sendDelayMs: p50p99(sendDelays) } : {}), perPod },
      ...(delays.length === pods.length ? {
        dpReadyFloor: {
          intervalMs: DEFAULT_SCHEDULE.initialMs,
          expectedGridMaxMs: Math.round(expectedGridMaxMs(pods.length, DEFAULT_SCHEDULE.initialMs) * 100) / 100,
          passChanceWithTheseDelays: Math.round(passChance(MARK_ERROR_MS, DEFAULT_SCHEDULE.initialMs, delays) * 1000) / 1000,
        },
      } : {}),
      dpReadyBracket: checkBrackets(pods.length, brackets),
      createIntervalMs: CREATE_INTERVAL_MS,
      nodeBusyPercent: { brokenWindow: busyPercent(cpuAtStart, cpuAtHeal), secondAfterHeal: busyPercent(cpuAtHeal, afterHeal.node) },
      stealPercent: { brokenWindow: stealPercent(cpuAtStart, cpuAtHeal), secondAfterHeal: stealPercent(cpuAtHeal, afterHeal.node) },
      reportersCpuMsSecondAfterHeal: afterHeal.reportersMs,
      coresAfterHeal,
      startWaits,
      ruleRemovalMs: removal.after - removal.before,
      truth: kernelCommit ? 'kernel commit' : removal.committed !== undefined ? 'nft monitor' : 'commit sent',
      ...(kernelCommit ? { commitSyscallMs: Math.round((kernelCommit.exit - kernelCommit.enter) * 1000) / 1000 } : {}),
      ...(kernelCommit && removal.committed !== undefined ? { nftMonitorLateMs: Math.round((removal.committed - kernelCommit.exit) * 10) / 10 } : {}),
      ...(removal.noTruth ? { truthProblem: removal.noTruth }
        : !kernelCommit && removal.committed === undefined ? { truthProblem: 'tracefs recorded no sendmsg by iptables-restore (and nft monitor was not started, as the trace was on)' } : {}),
      attemptsPerSecond: p50p99(rates),
      warmUp: { pods: pods.length, warmed: warmUpCpu.length, cpuMs: p50p99(warmUpCpu) },
      markErrorMs: MARK_ERROR_MS, markAttemptsPerSecond: MARK_ATTEMPTS_PER_SECOND,
      versions: {
        kubernetes: await kubernetesVersion(cp),
        containerd: await version('containerd', ['--version']),
        runc: await version('runc', ['--version']),
        cni: await version('dpkg-query', ['-W', '-f=${Version}', 'containernetworking-plugins']),
      },
      setupSeconds: cp.realNode?.timings ?? {},
      cost: { classic: classicCost, ...other },
      baseline: { classic: await baselineOf(baseClassic, criRoot, execs), report: baseOther, init: baseOther },
      ...(await imageSize(cp) ?? {}),
      afterHandover: {
        pods: classic.length, programs,
        rssMiB: p50max(after0.map((x) => x.rssMiB)), usageMiB: p50max(after0.map((x) => x.usageMiB)),
        cpuMs: p50max(after30.map((x, i) => Math.round((x.cpuMs - after0[i]!.cpuMs) * 1000) / 1000)), overSeconds: 30,
        maxRestarts: Math.max(...restarts), restartWindowSeconds: Math.round((Date.now() - handedOverAt) / 1000),
      },
      marks: { firstAttemptRatio: 1.5, firstAttemptMs: 50, peakMiB: { report: 40, classic: 48 }, afterRssMiB: 4, afterCpuMs: 0, errorMs: 20 },
    };
  } finally {
    await rule?.remove().catch(() => {});
    await tracing?.stop();
    for (const t of schedTraces) await t.finish(0, [], () => 'other').catch(() => {});
    await cp.stop();
  }
}
