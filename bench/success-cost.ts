// The CPU of a reporter's first success, with and without its warm-up (src/reporter/warm-up.ts).
// Each run is a process of its own (bench/success-cost-child.ts, bundled with the reporter
// bundle's options, so the code runs as in a pod) in a network namespace of its own, probing an
// http target on the namespace's loopback (a Node server in a process of its own) whose port
// drops packets for 1.5 s, as a broken path does, and then lets them through. The figure is the
// successful attempt's CPU from its launch to its answer read: what a reporter spends in the
// milliseconds when, on a node where many pods heal at once, its neighbours' ticks fall due.
// Cold and warm interleaved, eight processes each; the medians are reported. Needs root (ip
// netns, iptables). Writes bench/results/success-cost-<date>-<commit>.json.
//   node --import tsx bench/success-cost.ts
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import { ESM_BUNDLE } from '../scripts/bundle-reporter.ts';
import { MODES, type Mode, type SuccessRun } from './success-cost-child.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PORT = 8080;
const RUNS = 8;
/** How long the target's port drops packets in each run before it is let through. */
const BROKEN_MS = 1_500;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface ModeRow { mode: Mode; medianMs: number; minMs: number; maxMs: number; runs: number[]; warmUpCpuMedianMs?: number; toConnectedMedianMs?: number }

/** Each mode's median, min and max over its processes; a mode with no figure is named. */
export function summarizeModes(runs: SuccessRun[]): ModeRow[] {
  return MODES.map((mode) => {
    const xs = runs.filter((r) => r.mode === mode).map((r) => r.successCpuMs);
    if (xs.length === 0) throw new Error(`no ${mode} run produced a figure`);
    const warmUps = runs.filter((r) => r.mode === mode && r.warmUpCpuMs !== undefined).map((r) => r.warmUpCpuMs!);
    const toConnected = runs.filter((r) => r.mode === mode && r.toConnectedCpuMs !== undefined).map((r) => r.toConnectedCpuMs!);
    return {
      mode, medianMs: median(xs), minMs: Math.min(...xs), maxMs: Math.max(...xs), runs: xs,
      ...(warmUps.length ? { warmUpCpuMedianMs: median(warmUps) } : {}), ...(toConnected.length ? { toConnectedMedianMs: median(toConnected) } : {}),
    };
  });
}

const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/success-cost.ts needs root (a network namespace and an iptables rule in it)');
  const dir = mkdtempSync(join(tmpdir(), 'dpready-success-'));
  const bundle = join(dir, 'child.mjs');
  await build({ ...ESM_BUNDLE, entryPoints: [join(ROOT, 'bench/success-cost-child.ts')], outfile: bundle });
  const ns = `dpready-success-${process.pid}`;
  const inNs = (cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { cwd: ROOT, encoding: 'utf8' });
  execFileSync('ip', ['netns', 'add', ns]);
  const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
    `require('node:http').createServer((q, s) => s.end('ok')).listen(${PORT}, '127.0.0.1', () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`the target server exited (${code})`)));
    });
    const rule = ['INPUT', '-p', 'tcp', '--dport', String(PORT), '-j', 'DROP'];
    const runs: SuccessRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const mode of MODES) {
        inNs(['iptables', '-A', ...rule]);
        const heal = setTimeout(() => inNs(['iptables', '-D', ...rule]), BROKEN_MS);
        const child = spawn('ip', ['netns', 'exec', ns, process.execPath, bundle, mode, String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        clearTimeout(heal);
        if (code !== 0) throw new Error(`the ${mode} run exited with ${code}`);
        const run = JSON.parse(out.trim().split('\n').pop()!) as SuccessRun;
        runs.push(run);
        process.stdout.write(`${mode} run ${i + 1}: ${run.successCpuMs} ms (${run.attempts} attempts${run.warmUpCpuMs !== undefined ? `; warm-up ${run.warmUpCpuMs} ms` : ''})\n`);
      }
    }
    const rows = summarizeModes(runs);
    process.stdout.write(`\nCPU of the successful attempt, launch to answer (median of ${RUNS} processes; min–max):\n`);
    for (const r of rows) process.stdout.write(`  ${r.mode.padEnd(5)} ${r.medianMs.toFixed(3)} ms (${r.minMs}–${r.maxMs}); launch to connection up ${r.toConnectedMedianMs ?? '?'} ms${r.warmUpCpuMedianMs !== undefined ? `; the warm-up itself ${r.warmUpCpuMedianMs} ms, once` : ''}\n`);
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src', 'bench/success-cost.ts', 'bench/success-cost-child.ts']) ? '-dirty' : '';
    const date = new Date().toISOString();
    const results = join(ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    const file = join(results, `success-cost-${date.slice(0, 10)}-${commit}${dirty}.json`);
    writeFileSync(file, `${JSON.stringify({ command: 'node --import tsx bench/success-cost.ts', node: process.version, date, git: `${commit}${dirty}`, runs: RUNS, brokenMs: BROKEN_MS, rows }, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    server.kill();
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.length > 2) throw new Error(`bench/success-cost.ts takes no arguments, not ${JSON.stringify(process.argv.slice(2))}`);
  await main();
}
