// Reporter accuracy: how late is the reported datapath-ready time, and how long after process
// start does the first probe go out? Run alone:
//   ./node_modules/.bin/node --import tsx bench/reporter-accuracy.ts
//
// 1. In-process, default settings, 20 runs each for a TCP and an HTTP target on 127.0.0.1
//    that start listening at T = reporter start + 2 s. The real prober, probes and run()
//    with a recording pod writer; "reported ready" is the annotation value, so its ms
//    rounding counts. Figure: reported ready − T (done-when: median ≤ 20 ms, max ≤ 50 ms).
// 2. The real `dpready reporter` process (tsx, and the compiled dist/ if built) against a
//    real local control plane (etcd + kube-apiserver, started after part 1 so that part runs
//    on a quiet machine), as a pod of its own with a token bound to it under the
//    manifests/reporter.yaml RBAC: process start → first probe attempt (from its log), and
//    the same ready − T end to end (the pod's annotation), T = spawn + 2 s.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ANNOTATION_DP_READY } from '../src/contract.ts';
import { startControlPlane, type ControlPlane } from '../src/devcluster/control-plane.ts';
import type { AnnotationPatch } from '../src/reporter/annotations.ts';
import { systemClock } from '../src/reporter/clock.ts';
import { loadConfig } from '../src/reporter/config.ts';
import { silentLogger } from '../src/reporter/log.ts';
import { probeOnce } from '../src/reporter/probes.ts';
import { run } from '../src/reporter/run.ts';
import { core } from '../test/support/cluster.ts';
import { applyReporterManifest, createPodWithToken, serviceAccountEnv } from '../test/support/reporter.ts';

export interface Stats { runs: number; medianMs: number; maxMs: number; minMs: number }
export interface ReporterAccuracyFigures {
  /** reported ready − T, in-process, default settings. */
  tcp: Stats;
  http: Stats;
  /** The real process. */
  process: Record<string, { firstAttemptMs: Stats; readyMinusTMs: Stats }>;
  targets: { medianMs: number; maxMs: number };
  pass: boolean;
}

const DELAY_MS = 2_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const r = (n: number) => Math.round(n * 10) / 10;
  return { runs: s.length, medianMs: r(mid), maxMs: r(s.at(-1)!), minMs: r(s[0]!) };
}

async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function makeServer(kind: 'tcp' | 'http'): Server {
  return kind === 'tcp' ? createTcpServer((s) => s.end()) : createHttpServer((_q, res) => res.writeHead(200).end('ok'));
}

/** Starts listening at wall-clock `atWall`; resolves with the wall instant it was listening. */
function listenAt(server: Server, port: number, atWall: number): Promise<number> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(performance.timeOrigin + performance.now()));
    }, Math.max(0, atWall - (performance.timeOrigin + performance.now())));
  });
}

const close = (server: Server) => new Promise<void>((r) => {
  if ('closeAllConnections' in server) (server as unknown as { closeAllConnections(): void }).closeAllConnections();
  server.close(() => r());
});

/** One in-process run: returns reported ready − T, ms. */
async function inProcessRun(kind: 'tcp' | 'http'): Promise<number> {
  const port = await freePort();
  const target = kind === 'tcp' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}/healthz`;
  const config = loadConfig({ MY_POD_NAME: 'bench', MY_POD_NAMESPACE: 'bench', PROBE_TARGET: target });
  const server = makeServer(kind);
  const patches: AnnotationPatch[] = [];
  const processStart = systemClock.now();
  const listening = listenAt(server, port, systemClock.wallAt(processStart) + DELAY_MS);
  const result = await run({
    config, clock: systemClock, probe: probeOnce, log: silentLogger, start: { at: processStart, from: 'node' },
    podApi: async () => ({ getAnnotations: async () => ({}), patch: async (body) => { patches.push(body); } }),
  });
  const T = await listening;
  await close(server);
  if (result.outcome !== 'ready') throw new Error(`run ended ${result.outcome}: ${result.error ?? ''}`);
  const ready = patches.map((p) => p.metadata.annotations[ANNOTATION_DP_READY]).find((v) => v);
  return Date.parse(ready!) - T;
}

/** One real reporter process as pod `name` in `ns`: first-attempt time from its log, and ready − T from its annotation. */
async function processRun(cp: ControlPlane, ns: string, name: string, command: string[]): Promise<{ firstAttemptMs: number; readyMinusT: number }> {
  const port = await freePort();
  const pod = await createPodWithToken(cp, ns, name);
  const server = makeServer('tcp');
  try {
    const spawnedAt = performance.timeOrigin + performance.now();
    const child = spawn(command[0]!, [...command.slice(1), 'reporter'], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '', ...serviceAccountEnv(pod.kubeconfig), MY_POD_NAME: name, MY_POD_NAMESPACE: ns, PROBE_TARGET: `127.0.0.1:${port}`, PROBE_MODE: 'init' },
    });
    const listening = listenAt(server, port, spawnedAt + DELAY_MS);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    const T = await listening;
    if (code !== 0) throw new Error(`reporter exited ${code}:\n${stderr}`);
    const first = /"msg":"first probe attempt".*?"sinceProcessStartMs":([\d.]+)/.exec(stderr);
    const ready = (await core(cp).readNamespacedPod({ name, namespace: ns })).metadata?.annotations?.[ANNOTATION_DP_READY];
    if (!first || !ready) throw new Error(`no first-attempt line or no ready annotation:\n${stderr}`);
    return { firstAttemptMs: Number(first[1]), readyMinusT: Date.parse(ready) - T };
  } finally {
    await close(server);
  }
}

export async function reporterAccuracy(opts: { runs?: number; processRuns?: number; log?: (line: string) => void } = {}): Promise<ReporterAccuracyFigures> {
  const runs = opts.runs ?? 20;
  const processRuns = opts.processRuns ?? 5;
  const log = opts.log ?? (() => {});
  const tcp: number[] = [];
  const http: number[] = [];
  for (let i = 0; i < runs; i++) {
    // TCP and HTTP side by side, each on its own port.
    const [a, b] = await Promise.all([inProcessRun('tcp'), inProcessRun('http')]);
    tcp.push(a);
    http.push(b);
    log(`run ${i + 1}/${runs}: tcp ${a} ms, http ${b} ms`);
  }
  const node = process.execPath;
  const commands: Record<string, string[]> = { 'tsx src/cli.ts': [node, '--import', 'tsx', 'src/cli.ts'] };
  // Built: what the image runs, the entrypoint and the reporter's CommonJS bundle (src/entry.ts).
  if (existsSync(`${ROOT}dist/reporter.cjs`)) commands['node dist/entry.cjs'] = [node, 'dist/entry.cjs'];
  const proc: ReporterAccuracyFigures['process'] = {};
  if (processRuns > 0) {
    // A directory of our own: other tooling may sweep the harness's default dpready-cp-* ones.
    const dir = mkdtempSync(join(tmpdir(), 'dpready-bench-reporter-'));
    let cp: ControlPlane | undefined;
    try {
      log('starting a local control plane (etcd + kube-apiserver) for the reporter process runs');
      cp = await startControlPlane({ dir });
      const ns = 'bench-reporter';
      await cp.ensureNamespace(ns);
      await applyReporterManifest(cp, ns);
      let n = 0;
      for (const [name, command] of Object.entries(commands)) {
        const first: number[] = [];
        const ready: number[] = [];
        for (let i = 0; i < processRuns; i++) {
          const r = await processRun(cp, ns, `p-${n++}`, command);
          first.push(r.firstAttemptMs);
          ready.push(r.readyMinusT);
          log(`${name} run ${i + 1}/${processRuns}: first attempt ${r.firstAttemptMs} ms after process start, ready − T ${r.readyMinusT} ms`);
        }
        proc[name] = { firstAttemptMs: stats(first), readyMinusTMs: stats(ready) };
      }
    } finally {
      await cp?.stop();
      if (process.env.DPREADY_KEEP_DIR !== '1') rmSync(dir, { recursive: true, force: true });
    }
  }
  const targets = { medianMs: 20, maxMs: 50 };
  const t = stats(tcp);
  const h = stats(http);
  const pass = [t, h].every((s) => s.medianMs <= targets.medianMs && s.maxMs <= targets.maxMs);
  return { tcp: t, http: h, process: proc, targets, pass };
}

export function formatReporterAccuracy(f: ReporterAccuracyFigures): string {
  const row = (name: string, s: Stats) => `  ${name.padEnd(44)} ${String(s.runs).padStart(4)} ${String(s.medianMs).padStart(9)} ${String(s.maxMs).padStart(8)} ${String(s.minMs).padStart(8)}`;
  return [
    `reporter accuracy (target listens at T = reporter start + ${DELAY_MS} ms; default settings)`,
    `  ${'figure'.padEnd(44)} runs  median ms   max ms   min ms`,
    row('in-process tcp: reported ready − T', f.tcp),
    row('in-process http: reported ready − T', f.http),
    ...Object.entries(f.process).flatMap(([name, p]) => [
      row(`${name}: process start → first attempt`, p.firstAttemptMs),
      row(`${name}: reported ready − T (tcp)`, p.readyMinusTMs),
    ]),
    `  done-when: median ≤ ${f.targets.medianMs} ms and max ≤ ${f.targets.maxMs} ms for tcp and http: ${f.pass ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await reporterAccuracy({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${formatReporterAccuracy(figures)}\n`);
  process.exitCode = figures.pass ? 0 : 1;
}
