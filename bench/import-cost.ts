// What each dependency costs a process before it does anything: RSS of a bare `node` that
// imports one module (then settles 300 ms and runs a full GC), median of 3 fresh processes.
// The controller's own entry points are measured from dist/ (npm run build first): its modules
// as tsc writes them, and dist/controller.js, the bundle the CLI runs. Writes
// bench/results/import-cost-<date>-<commit>.json.
//   node --import tsx bench/import-cost.ts
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What to load: a package name, a dist/ file, or undici's Agent and request API alone (src/kube/http.ts). */
/** The controller's run-time libraries (no client-node): measured together, and each one left out of the set. */
export const LIBRARIES = ['fastify', '@fastify/swagger', '@fastify/swagger-ui', 'fastify-type-provider-zod', 'zod', 'pino', 'prom-client', 'undici (Agent + request only)', 'yaml', 'simple-statistics'];

export const MODULES = [
  '', '@kubernetes/client-node', 'fastify', '@fastify/swagger', '@fastify/swagger-ui', 'fastify-type-provider-zod', 'zod', 'pino', 'prom-client',
  'undici', 'undici (Agent + request only)', 'yaml', 'simple-statistics',
  './dist/contract.js', './dist/api/server.js', './dist/controller/controller.js', './dist/controller/main.js',
  // What `dpready controller` loads (scripts/bundle-controller.ts): the same entry as one bundle.
  './dist/controller.js',
] as const;

const loader = (m: string) => (m.startsWith('undici (')
  ? "require('undici/lib/dispatcher/agent.js'); require('undici/lib/api/api-request.js');"
  : `await import(${JSON.stringify(m)});`);

/** Joins several modules into one `m`: not ' + ', which 'undici (Agent + request only)' holds. */
const SEP = ' | ';

/** `m` is one module, or several joined by SEP. */
const SCRIPT = (m: string) => `
  const load = async () => { ${m === '' ? '' : m.split(SEP).map(loader).join(' ')} };
  load().then(() => setTimeout(() => { globalThis.gc(); const u = process.memoryUsage();
    console.log(JSON.stringify({ rss: u.rss, heapUsed: u.heapUsed })); }, 300));`;

function once(m: string): { rssMiB: number; heapUsedMiB: number } {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', SCRIPT(m)], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  const u = JSON.parse(out.trim().split('\n').pop()!) as { rss: number; heapUsed: number };
  return { rssMiB: Math.round(u.rss / 1048576), heapUsedMiB: Math.round(u.heapUsed / 1048576) };
}

export function importCost(runs = 3): Array<{ module: string; rssMiB: number; heapUsedMiB: number }> {
  const sets = [LIBRARIES.join(SEP), ...LIBRARIES.map((l) => LIBRARIES.filter((x) => x !== l).join(SEP))];
  const names = ['all the libraries above but client-node', ...LIBRARIES.map((l) => `all of them but ${l}`)];
  return [...MODULES, ...sets].map((m, i) => {
    const r = Array.from({ length: runs }, () => once(m)).sort((a, b) => a.rssMiB - b.rssMiB)[Math.floor(runs / 2)]!;
    return { module: i < MODULES.length ? (m || '(bare node)') : names[i - MODULES.length]!, ...r };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = importCost();
  const bare = rows[0]!.rssMiB;
  for (const r of rows) process.stdout.write(`${r.module.padEnd(36)} ${String(r.rssMiB).padStart(4)} MiB RSS (+${r.rssMiB - bare})  heap used ${r.heapUsedMiB} MiB\n`);
  const git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const date = new Date().toISOString();
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `import-cost-${date.slice(0, 10)}-${git}.json`);
  writeFileSync(file, `${JSON.stringify({ command: 'node --import tsx bench/import-cost.ts', node: process.version, date, git, rows }, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}
