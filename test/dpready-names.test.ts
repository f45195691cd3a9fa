// Every dpready.perf.github.com/ label or annotation that a manifest, the chart or an example
// sets is one the code reads (a name exported by src/contract.ts): a label nothing reads
// (manifests/namespace.yaml's dpready.perf.github.com/exclude was one) promises what it does not do.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as contract from '../src/contract.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && /\.(ya?ml|tpl|txt)$/.test(e.name)) out.push(join(e.parentPath, e.name));
  }
  return out;
}

test('every dpready.perf.github.com/ name in manifests/, charts/ and examples/ is one the code reads', async () => {
  const known = new Set<string>(Object.values(contract as Record<string, unknown>).filter((v): v is string => typeof v === 'string'));
  const unknown: string[] = [];
  const paths = [...await files('manifests'), ...await files('charts'), ...await files('examples')];
  assert.ok(paths.length > 10);
  for (const p of paths) {
    for (const m of (await readFile(p, 'utf8')).matchAll(/dpready\.perf\.github\.com\/[\w.-]+/g)) {
      if (!known.has(m[0])) unknown.push(`${p.slice(ROOT.length)}: ${m[0]}`);
    }
  }
  assert.deepEqual(unknown, []);
});
