// Top self-time functions of a V8 CPU profile (node --cpu-prof), and self time by package, so
// flame-graph findings can be quoted as percentages:
//   node --import tsx bench/profile-top.ts FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export function topSelf(p: Profile, n = 25): { totalMs: number; functions: Array<[string, number]>; packages: Array<[string, number]> } {
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    total += us;
    const where = f.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'nm:').replace(/.*\/dist\//, 'dist/');
    const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const pk = f.url === '' ? (f.functionName.startsWith('(') ? f.functionName : '(native)')
      : f.url.startsWith('node:') ? 'node:' + f.url.slice(5).split('/')[0]
        : /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)?.[1] ?? (/\/dist\/([^/]+)/.exec(f.url)?.[1] ? `dpready:${/\/dist\/([^/]+)/.exec(f.url)![1]}` : f.url);
    pkg.set(pk, (pkg.get(pk) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total / 1000, functions: sorted(fn).slice(0, n), packages: sorted(pkg).slice(0, n) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const p = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Profile;
  const r = topSelf(p, Number(process.argv[3] ?? 25));
  // Percentages of the time the process was busy: idle time says nothing about cost.
  const idleMs = (r.packages.find(([k]) => k === '(idle)')?.[1] ?? 0) / 1000;
  const busyMs = r.totalMs - idleMs;
  const pct = (us: number) => `${((us / 1000 / busyMs) * 100).toFixed(1)}%`.padStart(6);
  console.log(`sampled ${r.totalMs.toFixed(0)} ms, busy ${busyMs.toFixed(0)} ms (percentages are of busy time)`);
  console.log('self time by package:');
  for (const [k, us] of r.packages) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  console.log('top self-time functions:');
  for (const [k, us] of r.functions) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}
