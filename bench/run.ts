// The benchmark suite: `npm run bench` (quick, a few minutes on 2 cores) or
// `npm run bench -- --full` (5,000 pods, 100,000 results). `--only a,b` runs some parts:
// burst, cost, accuracy, gate, scale, api, reporter, receive, realnode and policy (root only: skipped with the reason elsewhere),
// shards (two controllers splitting 5,000 pods by namespace; with --full or when named).
// `--cpu-prof=DIR` writes a V8 CPU profile of the burst's controller process into DIR (node --cpu-prof);
// `--node-options="..."` replaces the manifest's NODE_OPTIONS for the burst's controller. `--controller-args=--workers=32` (note the =) passes flags to
// every controller the suite starts. `--burst-runs=N` (default 3) runs the burst's dpready side N times, each on fresh
// pods in its own namespace, and judges its marks on the medians. `--burst-order=floor-first|dpready-first` (default: the other
// order than the last run's). Prints a table and writes
// bench/results/latest.json. Everything runs on loopback and stops by itself: each part has
// its own time bounds, and the whole run is capped (--max-minutes, default 15 quick (the 2,000-pod burst is in it) / 60 full).
// Every part asked for prints its marks: a part that failed, crashed or ran out of time prints
// MISS (not measured: why), one the machine cannot run prints SKIP with the reason. The run exits
// non-zero when any mark is missed, not measured or skipped; `--no-fail` always exits 0 (for
// exploring). The report is also written to bench/results/<date>-<commit>.json, the file docs cite.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startControlPlane, kubernetesVersion, type ControlPlane } from '../src/devcluster/control-plane.ts';
import { installDpready } from '../src/devcluster/install.ts';
import { accuracyFigures } from './accuracy.ts';
import { apiCost } from './api-cost.ts';
import { benchApi } from './api.ts';
import { burst, type BurstOrder } from './burst.ts';
import { burstNamespaces } from './burst-runs.ts';
import { setControllerArgs } from './controller-args.ts';
import { gateLatency } from './gate-latency.ts';
import { Kube } from './kube.ts';
import { runLifecycle } from './lifecycle.ts';
import { failingMarks, formatReport, marksOf, PARTS, type BenchReport, type Part } from './report.ts';
import { realNodeAccuracy } from './real-node.ts';
import { receiveLoad } from './receive-load.ts';
import { scale } from './scale.ts';
import { shards } from './shards.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({ options: {
  full: { type: 'boolean', default: false },
  only: { type: 'string' },
  'max-minutes': { type: 'string' },
  'controller-args': { type: 'string' },
  'cpu-prof': { type: 'string' },
  'node-options': { type: 'string' },
  'no-fail': { type: 'boolean', default: false },
  'burst-order': { type: 'string' },
  'burst-runs': { type: 'string' },
  // Fewer reporters for a quicker look; the realnode marks are for 20 (or 40 with --full).
  'realnode-pods': { type: 'string' },
  // The measured reporters' CPU request instead of the webhook's default (an experiment: the
  // start's error is the wait for a core after the exec, which the request's CPU weight sets).
  'realnode-reporter-cpu': { type: 'string' },
} });
setControllerArgs(values['controller-args']);
const full = values.full!;
// The two-shard simulation (5,000 pods) runs with --full or when named.
const only = new Set<string>(values.only ? values.only.split(',') : PARTS.filter((p) => full || p !== 'shards'));
for (const p of only) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`unknown part ${p}; parts: ${PARTS.join(', ')}`);
const noFail = values['no-fail']!;
/**
 * Which of dpready and its floor runs first in the burst: the other order from the last run's
 * (bench/results/latest.json), so that successive runs alternate; --burst-order sets it.
 */
function burstOrder(): BurstOrder {
  const asked = values['burst-order'];
  if (asked !== undefined) {
    if (asked !== 'dpready-first' && asked !== 'floor-first') throw new Error(`--burst-order=${asked}: dpready-first or floor-first`);
    return asked;
  }
  try {
    const last = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8')) as { burst?: { order?: BurstOrder } };
    return last.burst?.order === 'dpready-first' ? 'floor-first' : 'dpready-first';
  } catch {
    return 'dpready-first';
  }
}
// The benchmark's own event loop: it sends the annotations and reads the watches whose instants
// are the figures, so its delay is part of every latency measured here.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
// The burst's dpready side runs --burst-runs times (default 3; about 2 minutes each on 2 cores); its marks judge the medians.
const burstRunCount = Number(values['burst-runs'] ?? 3);
if (!Number.isInteger(burstRunCount) || burstRunCount < 1) throw new Error(`--burst-runs=${values['burst-runs']}: a whole number, at least 1`);
const maxMinutes = Number(values['max-minutes'] ?? (full ? 60 : 15) + 3 * (burstRunCount - 1));

const size = full
  ? { nodes: 20, burstPods: 2000, costPods: 50, accuracyPods: 50, steady: 1000, rate: 50, burst: 1000, scalePods: 5000, scaleResults: 100_000, scaleRequests: 2000,
    api: { results: 100_000 }, reporter: { runs: 20, processRuns: 5 } }
  : { nodes: 10, burstPods: 2000, costPods: 20, accuracyPods: 20, steady: 250, rate: 50, burst: 300, scalePods: 200, scaleResults: 2_000, scaleRequests: 300,
    api: { results: 20_000, pendingPods: 200, requestsPerRoute: 300, maxSecondsPerRoute: 2 }, reporter: { runs: 5, processRuns: 2 } };

const log = (line: string) => process.stderr.write(`${line}\n`);
/** Pods of the cost and accuracy runs are created this far apart (see LifecycleOptions.paceMs). */
const PACE_MS = 300;
const began = Date.now();
// The whole run is bounded: a stuck part cannot hold the machine.
const cap = setTimeout(() => {
  log(`bench: over ${maxMinutes} minutes, giving up; writing the parts that finished`);
  notes.push(`stopped after ${maxMinutes} minutes (--max-minutes).`);
  // A part with figures in hand (the burst before its floor, scale before its queries) shows them; each mark it lacks says why.
  const partial: Partial<Record<Part, unknown>> = { burst: report.burst, scale: report.scale };
  for (const p of only as Set<Part>) {
    report.parts[p] ??= partial[p] ? { status: 'done' } : { status: 'failed', why: `the run was stopped after ${maxMinutes} minutes (--max-minutes) before this part finished` };
  }
  finish();
  // Children die with this process (exit hook, pdeathsig); their directory goes too.
  if (cpDir && process.env.DPREADY_KEEP_DIR !== '1') rmSync(cpDir, { recursive: true, force: true });
  process.exit(noFail ? 0 : 2);
}, maxMinutes * 60_000);
cap.unref();

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The commit measured, "+dirty" when src/ had uncommitted changes (dist/ is built from the working tree). */
function gitRevision(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return '?';
  }
}

/** Reporters and controllers run from dist/ as in the image; rebuild it when src/ is newer. */
function ensureBuilt(): void {
  const cli = join(ROOT, 'dist', 'cli.js');
  if (existsSync(cli) && statSync(cli).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  log('bench: building dist/ (src/ is newer)');
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  // As `npm run build`: dist/cli.js runs the reporter and the controller from their bundles.
  for (const script of ['scripts/bundle-reporter.ts', 'scripts/bundle-controller.ts']) execFileSync(process.execPath, [script], { cwd: ROOT, stdio: 'inherit' });
}

const notes: string[] = [
  'percentiles are nearest rank (sorted[ceil(n·p)−1]); with fewer than 100 samples p99 is the maximum.',
  'the controller and reporters run as separate processes from dist/; the benchmark, control plane and KWOK share the same cores, so figures include CPU contention.',
];
if (values['controller-args']) notes.push(`controller flags added: ${values['controller-args']}`);
if (!full) notes.push(`quick mode: ${size.costPods}/${size.accuracyPods} reporter pods, gate latency ${size.steady} pods at ${size.rate}/s and a burst of ${size.burst} (the issue's example is 1,000), scale ${size.scalePods} pods + ${size.scaleResults} results (the RSS mark is for --full).`);

const report: BenchReport = {
  mode: full ? 'full' : 'quick',
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine: {
    cores: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? '?', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version,
    kubernetes: '?', os: `${type()} ${release()}`, date: new Date().toISOString(), git: gitRevision(),
  },
  durationSeconds: 0, parts: {}, notes, marks: [],
};

/** Runs one part, recording how it ended: an error ends this part only, with its reason in the report. */
async function part(name: Part, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    report.parts[name] ??= { status: 'done' };
  } catch (err) {
    const why = String(err instanceof Error ? err.message : err).split('\n').slice(0, 3).join(' ');
    log(`bench: part ${name} failed: ${why}`);
    report.parts[name] = { status: 'failed', why };
  }
}

/** bench/results/<date>-<commit>.json, -2, -3… when a run of the same commit that day is already there. */
function resultFile(dir: string): string {
  const base = `${report.machine.date.slice(0, 10)}-${report.machine.git.replace('+', '-')}`;
  for (let i = 1; ; i++) {
    const f = join(dir, `${base}${i > 1 ? `-${i}` : ''}.json`);
    if (!existsSync(f)) return f;
  }
}

function finish(): void {
  report.durationSeconds = Math.round((Date.now() - began) / 1000);
  loopDelay.disable();
  // The histogram holds the time between samples: the 10 ms interval plus the delay.
  const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - 1000) / 100);
  report.benchEventLoopDelayMs = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
  report.marks = marksOf(report);
  const text = formatReport(report);
  report.text = text;
  process.stdout.write(`${text}\n`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = resultFile(dir);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  log(`bench: wrote ${file.slice(ROOT.length)} and bench/results/latest.json (${report.durationSeconds} s)`);
  const failing = failingMarks(report.marks);
  if (failing.length) log(`bench: ${failing.length} mark(s) missed, not measured or skipped${noFail ? ' (--no-fail: exit 0)' : ''}`);
  process.exitCode = failing.length && !noFail ? 1 : 0;
}

const clusterParts: Part[] = ['burst', 'shards', 'cost', 'accuracy', 'gate', 'scale'];
const needsCluster = clusterParts.some((p) => only.has(p));
let cp: ControlPlane | undefined;
let cpDir: string | undefined;
let kube: Kube | undefined;
try {
  if (needsCluster) {
    try {
      ensureBuilt();
      log(`bench: starting the local control plane with ${size.nodes} KWOK nodes`);
      // A directory of our own: other tooling may sweep the harness's default dpready-cp-* ones.
      cpDir = mkdtempSync(join(tmpdir(), 'dpready-bench-'));
      cp = await startControlPlane({ nodes: size.nodes, dir: cpDir, log: (l) => log(`  ${l}`) });
      report.machine.kubernetes = await kubernetesVersion(cp);
      await installDpready(cp, { workloadNamespaces: [...burstNamespaces('bench-burst', burstRunCount), 'bench-burst-floor', 'bench-cost', 'bench-acc', 'bench-legacy', 'bench-gate-a', 'bench-gate-b', 'bench-scale'] });
      kube = new Kube(cp.server, cp, 32);
    } catch (err) {
      const why = `the control plane did not start: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`;
      log(`bench: ${why}`);
      for (const p of clusterParts) if (only.has(p)) report.parts[p] = { status: 'failed', why };
      cp = undefined;
    }
  }
  // First, on a fresh control plane, as the issue measured it.
  if (only.has('burst') && cp) {
    const c = cp;
    await part('burst', async () => {
      log(`bench: burst, ${size.burstPods} gated pods on 10 KWOK nodes, every pod annotated at once`);
      report.burst = await burst(c, { pods: size.burstPods, nodes: 10, namespace: 'bench-burst', floorNamespace: 'bench-burst-floor', built: true, log, cpuProfDir: values['cpu-prof'], nodeOptions: values['node-options'], order: burstOrder(), runs: burstRunCount,
        // dpready's figures before the floor runs: a run stopped by --max-minutes still shows them.
        onFigures: (f) => { report.burst = f; } });
    });
  }
  if (only.has('shards') && cp) {
    const c = cp;
    await part('shards', async () => {
      log('bench: two shards (--shards=2), 5000 pods over 20 namespaces');
      report.shards = await shards(c, { pods: 5000, namespaces: 20, built: true, log });
    });
  }
  let lateRun: Awaited<ReturnType<typeof runLifecycle>> | undefined;
  if (only.has('cost') && cp && kube) {
    const [c, k] = [cp, kube];
    await part('cost', async () => {
      log('bench: API cost, datapath working from the start');
      const fast = await runLifecycle(c, k, { namespace: 'bench-cost', pods: size.costPods, target: 'before', controller: true, built: true, paceMs: PACE_MS, log });
      (report.apiCost ??= []).push(apiCost(fast, 'datapath works within the reporter\'s first second', 2, 1));
    });
  }
  if ((only.has('accuracy') || only.has('cost')) && cp && kube) {
    const [c, k] = [cp, kube];
    try {
      log('bench: accuracy (dpready), target opened after every reporter started');
      lateRun = await runLifecycle(c, k, { namespace: 'bench-acc', pods: size.accuracyPods, target: 'after-start', controller: true, built: true, paceMs: PACE_MS, log });
      if (only.has('cost')) (report.apiCost ??= []).push(apiCost(lateRun, 'datapath works later (target opened after the reporters started)', 4, 2));
    } catch (err) {
      // Both parts need this run: each is marked failed with the reason.
      const why = `the late-datapath run failed: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`;
      log(`bench: ${why}`);
      for (const p of ['cost', 'accuracy'] as const) if (only.has(p)) report.parts[p] = { status: 'failed', why };
    }
  }
  if (only.has('accuracy') && cp && kube && lateRun) {
    const [c, k, late] = [cp, kube, lateRun];
    await part('accuracy', async () => {
      log('bench: accuracy (existing system\'s method: 2 s probe interval, creationTimestamp)');
      const legacy = await runLifecycle(c, k, {
        namespace: 'bench-legacy', pods: size.accuracyPods, target: 'after-start', controller: false, built: true, paceMs: PACE_MS, log,
        reporterEnv: { PROBE_INTERVAL: '2s', PROBE_INITIAL_INTERVAL: '2s', PROBE_INTERVAL_GROWTH: '0', PROBE_START_GRACE: '0s' },
      });
      report.accuracy = accuracyFigures(late, legacy);
    });
  }
  if (only.has('gate') && cp) {
    const c = cp;
    await part('gate', async () => {
      log('bench: gate latency vs floor');
      report.gateLatency = await gateLatency(c, { steadyPods: size.steady, ratePerSec: size.rate, burstPods: size.burst, built: true, nsA: 'bench-gate-a', nsB: 'bench-gate-b', log });
    });
  }
  if (only.has('scale') && cp) {
    const c = cp;
    await part('scale', async () => {
      log(`bench: scale, ${size.scalePods} pods then ${size.scaleResults} results`);
      report.scale = await scale(c, { pods: size.scalePods, results: size.scaleResults, clients: 20, requestsPerRoute: size.scaleRequests, namespace: 'bench-scale', built: true, log,
        onFigures: (f) => { report.scale = f; } });
    });
  }
} finally {
  await kube?.close();
  await cp?.stop();
  if (cpDir && process.env.DPREADY_KEEP_DIR !== '1') rmSync(cpDir, { recursive: true, force: true });
}
// In-process parts run after the control plane is gone, on a quieter machine.
if (only.has('api')) {
  await part('api', async () => {
    log('bench: stats API in-process (bench/api.ts)');
    report.statsApi = await benchApi({ ...size.api, log: (l) => log(`  ${l}`) });
  });
}
if (only.has('reporter')) {
  await part('reporter', async () => {
    log('bench: reporter alone (bench/reporter-accuracy.ts)');
    const { reporterAccuracy } = await import('./reporter-accuracy.ts');
    report.reporterAccuracy = await reporterAccuracy({ ...size.reporter, log: (l) => log(`  ${l}`) });
  });
}
if (only.has('receive')) {
  await part('receive', async () => {
    log('bench: receive prober load at 1,000 pending pods (bench/receive-load.ts, in-process)');
    report.receiveLoad = await receiveLoad({ pods: 1_000, seconds: full ? 30 : 10 });
  });
}
if (only.has('realnode')) {
  await part('realnode', async () => {
    log('bench: real node (bench/real-node.ts), its own control plane');
    const pods = values['realnode-pods'] !== undefined ? Number(values['realnode-pods']) : full ? 40 : 20;
    if (!(Number.isInteger(pods) && pods >= 1)) throw new Error(`--realnode-pods=${values['realnode-pods']}: expected a whole number ≥ 1`);
    const reporterCpu = values['realnode-reporter-cpu'];
    if (reporterCpu !== undefined && !/^\d+m$|^\d+(\.\d+)?$/.test(reporterCpu)) throw new Error(`--realnode-reporter-cpu=${reporterCpu}: expected a CPU quantity such as 100m or 0.5`);
    const r = await realNodeAccuracy({ pods, brokenMs: 10_000, ...(reporterCpu !== undefined ? { reporterCpu } : {}), log });
    // The machine cannot run a real node (not root, no cgroups, packages missing): skipped, not failed.
    if ('skipped' in r) report.parts.realnode = { status: 'skipped', why: r.skipped };
    else report.realNode = r;
  });
}
if (only.has('policy')) {
  await part('policy', async () => {
    log('bench: policy in force on the real node (bench/policy.ts), its own control plane and kube-router');
    const { realNodePolicy } = await import('./policy.ts');
    const r = await realNodePolicy({ pods: full ? 20 : 10, waitingMs: 1_000, log });
    if ('skipped' in r) report.parts.policy = { status: 'skipped', why: r.skipped };
    else report.policy = r;
  });
}
finish();
clearTimeout(cap);
