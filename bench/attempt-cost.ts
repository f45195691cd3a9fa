// Where a probe attempt's CPU goes (issue 18: "measure CPU per attempt and cut it"). The real
// node's figure (realNode.cost.*.cpuPerAttemptMs) is one number per pod; this splits it, on
// this machine, outside the node. Each variant runs in a process of its own, in a network
// namespace of its own whose loopback drops the target port (every attempt goes unanswered, as
// on a dropped path), one tick every 20 ms (the schedule's floor, 50 attempts/s), and reports
// user and system CPU per tick over 10 s after 3 s of warm-up (bench/attempt-cost-child.ts):
//   timer        a bare 20 ms timer: the wake-up alone, which any Node prober pays per attempt
//   socket       the timer plus a bare net.connect() per tick, destroyed 900 ms later by a later
//                tick (as the prober abandons an unconnected attempt): net.Socket's floor
//   handle       the same with the reporter's connectTcp (src/reporter/tcp-connect.ts), node's
//                TCP handle without a Socket: the floor of what the probes now make
//   prober-tcp   the reporter's prober and probes (src/reporter) against a tcp target
//   prober-http  the same against an http target (what the real node's reporters probe)
// The child is bundled with the reporter bundle's options, so the prober runs as in a pod.
// With --against=REF the prober variants also run as they were at that commit (its sources
// checked out in a temporary git worktree, measured by this tree's child), so a change's before
// and after come from one run.
// With --node-flags=FLAGS (space-separated, such as "--single-threaded") they also run under a
// node started with those flags, to weigh a flag before the image passes it.
// Five processes per variant, interleaved; the medians are reported (one process's figure moves
// by ±25 % on this machine). Needs root (ip netns, iptables). Writes
// bench/results/attempt-cost-<date>-<commit>.json.
//   node --import tsx bench/attempt-cost.ts [--against=REF] [--node-flags=FLAGS]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import { ESM_BUNDLE } from '../scripts/bundle-reporter.ts';
import { MEASURE_MS, TICK_MS, VARIANTS, WARMUP_MS, type Gaps, type PerTick, type Variant } from './attempt-cost-child.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The port the namespace's loopback drops. */
const PORT = 9;
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A variant run from a bundle: this tree's, or --against's commit's ("prober-http@abc1234"). */
export interface Run { name: string; bundle: string; variant: Variant; nodeFlags?: string[] }
export interface VariantRow {
  variant: string; userMs: number; systemMs: number; totalMs: number;
  /** Prober variants: the median over the processes of each one's gap quantiles (attempt-cost-child.ts's Gaps), ms. */
  gapsMs?: Omit<Gaps, 'n'>;
  runs: PerTick[];
}

/** The median of each variant's runs (user, system, and their sum per process), in the order given. */
export function summarize(names: string[], runs: Map<string, PerTick[]>): VariantRow[] {
  return names.map((variant) => {
    const rs = runs.get(variant) ?? [];
    if (rs.length === 0) throw new Error(`no run of ${variant} produced a figure`);
    const withGaps = rs.flatMap((r) => (r.gapsMs ? [r.gapsMs] : []));
    const gapsMs = withGaps.length
      ? { p1: median(withGaps.map((g) => g.p1)), p10: median(withGaps.map((g) => g.p10)), p50: median(withGaps.map((g) => g.p50)), p90: median(withGaps.map((g) => g.p90)), p99: median(withGaps.map((g) => g.p99)) }
      : undefined;
    return { variant, userMs: median(rs.map((r) => r.userMs)), systemMs: median(rs.map((r) => r.systemMs)), totalMs: median(rs.map((r) => round3(r.userMs + r.systemMs))), ...(gapsMs ? { gapsMs } : {}), runs: rs };
  });
}

const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** The child bundled from the sources under `tree`. */
async function bundleChild(tree: string, outfile: string): Promise<string> {
  await build({ ...ESM_BUNDLE, entryPoints: [join(tree, 'bench/attempt-cost-child.ts')], outfile });
  return outfile;
}

async function main(against: string | undefined, nodeFlags: string[] | undefined): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/attempt-cost.ts needs root (a network namespace and an iptables rule in it)');
  const dir = mkdtempSync(join(tmpdir(), 'dpready-attempt-'));
  const plan: Run[] = [];
  const here = await bundleChild(ROOT, join(dir, 'child.mjs'));
  for (const variant of VARIANTS) plan.push({ name: variant, bundle: here, variant });
  if (nodeFlags) for (const variant of VARIANTS.filter((v) => v.startsWith('prober'))) plan.push({ name: `${variant} ${nodeFlags.join(' ')}`, bundle: here, variant, nodeFlags });
  let againstCommit: string | undefined;
  if (against !== undefined) {
    againstCommit = git(['rev-parse', '--short', '--verify', `${against}^{commit}`]);
    const tree = join(dir, 'against');
    git(['worktree', 'add', '--detach', tree, againstCommit]);
    try {
      // This tree's child measures the commit's prober: the same figures (the gaps too) either side.
      copyFileSync(join(ROOT, 'bench/attempt-cost-child.ts'), join(tree, 'bench/attempt-cost-child.ts'));
      const before = await bundleChild(tree, join(dir, 'child-against.mjs'));
      for (const variant of VARIANTS.filter((v) => v.startsWith('prober'))) plan.push({ name: `${variant}@${againstCommit}`, bundle: before, variant });
    } finally {
      git(['worktree', 'remove', '--force', tree]);
    }
  }
  const ns = `dpready-attempt-${process.pid}`;
  const inNs = (cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { cwd: ROOT, encoding: 'utf8' });
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PORT), '-j', 'DROP']);
    const runs = new Map<string, PerTick[]>(plan.map((r) => [r.name, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const r of plan) {
        const out = inNs([process.execPath, ...(r.nodeFlags ?? []), r.bundle, r.variant, String(PORT)]).trim();
        runs.get(r.name)!.push(JSON.parse(out.split('\n').pop()!) as PerTick);
        process.stdout.write(`${r.name.padEnd(20)} run ${i + 1}: ${out}\n`);
      }
    }
    const rows = summarize(plan.map((r) => r.name), runs);
    process.stdout.write(`\nCPU per attempt (median of ${RUNS} processes, ${MEASURE_MS / 1000} s each at ${1000 / TICK_MS} attempts/s, unanswered):\n`);
    for (const r of rows) process.stdout.write(`  ${r.variant.padEnd(36)} user ${r.userMs.toFixed(3)} ms  system ${r.systemMs.toFixed(3)} ms  total ${r.totalMs.toFixed(3)} ms\n`);
    process.stdout.write(`\nIntervals between consecutive attempt starts (the schedule's ${TICK_MS} ms; median over the processes of each one's quantiles):\n`);
    for (const r of rows) if (r.gapsMs) process.stdout.write(`  ${r.variant.padEnd(36)} p1 ${r.gapsMs.p1} p10 ${r.gapsMs.p10} p50 ${r.gapsMs.p50} p90 ${r.gapsMs.p90} p99 ${r.gapsMs.p99} ms\n`);
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src', 'bench/attempt-cost.ts', 'bench/attempt-cost-child.ts']) ? '-dirty' : '';
    const date = new Date().toISOString();
    const results = join(ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    const file = join(results, `attempt-cost-${date.slice(0, 10)}-${commit}${dirty}.json`);
    const command = `node --import tsx bench/attempt-cost.ts${against === undefined ? '' : ` --against=${against}`}${nodeFlags ? ` --node-flags="${nodeFlags.join(' ')}"` : ''}`;
    writeFileSync(file, `${JSON.stringify({ command, node: process.version, date, git: `${commit}${dirty}`, ...(againstCommit ? { against: againstCommit } : {}), runs: RUNS, tickMs: TICK_MS, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, rows }, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const bad = args.find((a) => !/^--(against|node-flags)=./.test(a));
  if (bad !== undefined) throw new Error(`unknown argument ${JSON.stringify(bad)}: the arguments are --against=REF (a commit whose prober to run beside this tree's) and --node-flags=FLAGS (node flags to run the prober under too)`);
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const flags = value('node-flags')?.split(' ').filter(Boolean);
  if (flags?.some((f) => !f.startsWith('--'))) throw new Error(`--node-flags: each flag starts with --, got ${JSON.stringify(flags.join(' '))}`);
  await main(value('against'), flags);
}
