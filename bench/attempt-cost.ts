// Where a probe attempt's CPU goes (issue 18: "measure CPU per attempt and cut it"). The real
// node's figure (realNode.cost.*.cpuPerAttemptMs) is one number per pod; this splits it, on
// this machine, outside the node. Each variant runs in a process of its own, in a network
// namespace of its own whose loopback drops the target port (every attempt goes unanswered, as
// on a dropped path), one tick every 20 ms (the schedule's floor, 50 attempts/s), and reports
// user and system CPU per tick over 10 s after 3 s of warm-up (bench/attempt-cost-child.ts):
//   timer        a bare 20 ms timer: the wake-up alone, which any Node prober pays per attempt
//   socket       the timer plus a bare net.connect() per tick, destroyed 900 ms later by a later
//                tick (as the prober abandons an unconnected attempt): Node's own floor
//   prober-tcp   the reporter's prober and probes (src/reporter) against a tcp target
//   prober-http  the same against an http target (what the real node's reporters probe)
// The child is bundled with the reporter bundle's options, so the prober runs as in a pod.
// Three processes per variant, interleaved; the medians are reported. Needs root (ip netns,
// iptables). Writes bench/results/attempt-cost-<date>-<commit>.json.
//   node --import tsx bench/attempt-cost.ts
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import { REPORTER_BUNDLE } from '../scripts/bundle-reporter.ts';
import { MEASURE_MS, TICK_MS, VARIANTS, WARMUP_MS, type PerTick, type Variant } from './attempt-cost-child.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The port the namespace's loopback drops. */
const PORT = 9;
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export interface VariantRow { variant: Variant; userMs: number; systemMs: number; totalMs: number; runs: PerTick[] }

/** The median of each variant's runs, user and system apart. */
export function summarize(runs: Map<Variant, PerTick[]>): VariantRow[] {
  return VARIANTS.map((variant) => {
    const rs = runs.get(variant) ?? [];
    if (rs.length === 0) throw new Error(`no run of ${variant} produced a figure`);
    const userMs = median(rs.map((r) => r.userMs));
    const systemMs = median(rs.map((r) => r.systemMs));
    return { variant, userMs, systemMs, totalMs: round3(userMs + systemMs), runs: rs };
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/attempt-cost.ts needs root (a network namespace and an iptables rule in it)');
  const dir = mkdtempSync(join(tmpdir(), 'dpready-attempt-'));
  const child = join(dir, 'attempt-cost-child.mjs');
  await build({ ...REPORTER_BUNDLE, entryPoints: ['bench/attempt-cost-child.ts'], outfile: child });
  const ns = `dpready-attempt-${process.pid}`;
  const inNs = (cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { cwd: ROOT, encoding: 'utf8' });
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PORT), '-j', 'DROP']);
    const runs = new Map<Variant, PerTick[]>(VARIANTS.map((v) => [v, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const v of VARIANTS) {
        const out = inNs([process.execPath, child, v, String(PORT)]).trim();
        runs.get(v)!.push(JSON.parse(out.split('\n').pop()!) as PerTick);
        process.stdout.write(`${v.padEnd(12)} run ${i + 1}: ${out}\n`);
      }
    }
    const rows = summarize(runs);
    process.stdout.write(`\nCPU per attempt (median of ${RUNS} processes, ${MEASURE_MS / 1000} s each at ${1000 / TICK_MS} attempts/s, unanswered):\n`);
    for (const r of rows) process.stdout.write(`  ${r.variant.padEnd(12)} user ${r.userMs.toFixed(3)} ms  system ${r.systemMs.toFixed(3)} ms  total ${r.totalMs.toFixed(3)} ms\n`);
    const git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench/attempt-cost.ts', 'bench/attempt-cost-child.ts'], { cwd: ROOT, encoding: 'utf8' }).trim() ? '-dirty' : '';
    const date = new Date().toISOString();
    const results = join(ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    const file = join(results, `attempt-cost-${date.slice(0, 10)}-${git}${dirty}.json`);
    writeFileSync(file, `${JSON.stringify({ command: 'node --import tsx bench/attempt-cost.ts', node: process.version, date, git, tickMs: TICK_MS, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, rows }, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
