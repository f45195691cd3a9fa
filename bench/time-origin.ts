// How far a Node process's wall clock can lie from the host's, when the process starts on busy
// cores: performance.timeOrigin (Node pairs its wall-clock reading with the monotonic one that
// performance.now() counts from, at two moments of its start) against the reporter's origin
// (src/reporter/clock.ts: the two clocks read together by dpready-start). The truth in each
// process is measured where Date.now() ticks over (src/reporter/wall-offset.ts, to a few µs).
// Each round starts 4 busy loops for the 2 cores, then 30 processes at once through
// dpready-start (built with gcc, as the Dockerfile does), each bench/time-origin-child.ts bundled
// with the reporter bundle's options. Needs gcc with a static libc
// (test/controlplane/node-packages.sh installs it). Writes
// bench/results/time-origin-<date>-<commit>.json.
//   node --import tsx bench/time-origin.ts
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import { ESM_BUNDLE } from '../scripts/bundle-reporter.ts';
import type { OriginErrors } from './time-origin-child.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = 3;
const PROCESSES = 30;
const BUSY_LOOPS = 4;

const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export interface ErrorSummary { n: number; p50: number; max: number; overOneMs: number }

/** Absolute errors: the median, the largest, and how many exceed 1 ms. */
export function summarizeErrors(xs: number[]): ErrorSummary {
  const s = xs.map(Math.abs).sort((a, b) => a - b);
  if (s.length === 0) throw new Error('no process produced a figure');
  return { n: s.length, p50: r3(s[Math.floor((s.length - 1) / 2)]!), max: r3(s.at(-1)!), overOneMs: s.filter((x) => x > 1).length };
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}: ${err.slice(-2000)}`))));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dpready-time-origin-'));
  try {
    const start = join(dir, 'dpready-start');
    try {
      execFileSync('gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', start, join(ROOT, 'src/reporter/dpready-start.c')]);
    } catch (err) {
      throw new Error(`building dpready-start with gcc failed (test/controlplane/node-packages.sh installs gcc and libc6-dev, as root): ${(err as Error).message}`, { cause: err });
    }
    const child = join(dir, 'child.mjs');
    await build({ ...ESM_BUNDLE, entryPoints: [join(ROOT, 'bench/time-origin-child.ts')], outfile: child });
    const all: OriginErrors[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const busy = Array.from({ length: BUSY_LOOPS }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
      try {
        await new Promise((r) => setTimeout(r, 300));
        const outs = await Promise.all(Array.from({ length: PROCESSES }, () => run(start, [process.execPath, child])));
        for (const o of outs) all.push(JSON.parse(o.trim()) as OriginErrors);
      } finally {
        for (const b of busy) b.kill('SIGKILL');
      }
      process.stdout.write(`round ${round + 1}: ${all.length} processes so far\n`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const timeOrigin = summarizeErrors(all.map((e) => e.timeOriginMs));
    const reporter = summarizeErrors(all.map((e) => e.reporterMs));
    process.stdout.write(`\nwall clock of ${all.length} processes started on busy cores, |error| against this host's clocks, ms:\n`);
    process.stdout.write(`  performance.timeOrigin          p50 ${timeOrigin.p50}  max ${timeOrigin.max}  over 1 ms: ${timeOrigin.overOneMs}\n`);
    process.stdout.write(`  reporter (dpready-start's pair)  p50 ${reporter.p50}  max ${reporter.max}  over 1 ms: ${reporter.overOneMs}\n`);
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src', 'bench/time-origin.ts', 'bench/time-origin-child.ts']) ? '-dirty' : '';
    const date = new Date().toISOString();
    const results = join(ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    const file = join(results, `time-origin-${date.slice(0, 10)}-${commit}${dirty}.json`);
    writeFileSync(file, `${JSON.stringify({ command: 'node --import tsx bench/time-origin.ts', node: process.version, date, git: `${commit}${dirty}`,
      rounds: ROUNDS, processes: PROCESSES, busyLoops: BUSY_LOOPS, timeOrigin, reporter, errors: all.map((e) => ({ timeOriginMs: r3(e.timeOriginMs), reporterMs: r3(e.reporterMs) })) }, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.length > 2) throw new Error(`bench/time-origin.ts takes no arguments, got ${JSON.stringify(process.argv.slice(2).join(' '))}`);
  await main();
}
