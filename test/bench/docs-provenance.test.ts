// Every figure README and docs cite comes from a committed bench result: each names the file,
// the file is in the repository, and each marks table in docs/performance.md is exactly what
// bench/marks-table.ts prints for the file it names.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { marksMarkdown, reportBlock, type BenchReport } from '../../bench/report.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The pages whose figures are benchmark figures: each must name its files. */
const DOCS = ['README.md', 'docs/performance.md', 'docs/scaling.md'];
const ALL = ['README.md', ...readdirSync(fileURLToPath(new URL('../../docs', import.meta.url))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (f: string) => readFileSync(`${ROOT}/${f}`, 'utf8');

test('README, docs/performance.md and docs/scaling.md cite committed bench results, and every file any doc cites exists', () => {
  for (const doc of ALL) {
    const cited = [...read(doc).matchAll(/bench\/results\/([\w.-]+\.json)/g)].map((m) => m[1]!);
    if (DOCS.includes(doc)) assert.ok(cited.length > 0, `${doc} names the bench result its figures come from`);
    for (const f of cited) {
      assert.notEqual(f, 'latest.json', `${doc}: latest.json is not committed; cite the dated file`);
      assert.ok(existsSync(`${ROOT}/bench/results/${f}`), `${doc} cites bench/results/${f}, which is not in the repository`);
      // Written by a bench script: it names the command and the commit measured.
      const r = JSON.parse(read(`bench/results/${f}`)) as { command?: string; git?: string; machine?: { git?: string } };
      assert.ok(r.command?.includes('bench') && (r.machine?.git ?? r.git), `bench/results/${f} names the bench command and the commit it measured`);
    }
  }
});

test('each marks table in docs/performance.md is the one bench/marks-table.ts prints for its file', () => {
  const doc = read('docs/performance.md');
  const tables = [...doc.matchAll(/<!-- marks: bench\/results\/([\w.-]+\.json) -->\n([\s\S]*?)\n<!-- \/marks -->/g)];
  assert.ok(tables.length > 0, 'docs/performance.md holds at least one marks table');
  for (const [, f, table] of tables) {
    assert.equal(table, marksMarkdown(JSON.parse(read(`bench/results/${f}`)) as BenchReport), `the table for ${f}`);
  }
});

test('each printed report quoted in docs/performance.md is the one kept in the file it names', () => {
  const doc = read('docs/performance.md');
  for (const [, f, block] of doc.matchAll(/<!-- report: bench\/results\/([\w.-]+\.json) -->\n([\s\S]*?)\n<!-- \/report -->/g)) {
    assert.equal(block, reportBlock(JSON.parse(read(`bench/results/${f}`)) as BenchReport), `the report of ${f}`);
  }
});
