// Prints what docs/performance.md quotes from a committed bench result: the marks as a Markdown
// table, or with --report the run's printed report (kept in the file) as a text block.
// node --import tsx bench/marks-table.ts [--report] bench/results/<date>-<commit>.json
import { readFileSync } from 'node:fs';
import { marksMarkdown, reportBlock, type BenchReport } from './report.ts';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: bench/marks-table.ts [--report] bench/results/<date>-<commit>.json\n');
  process.exit(2);
}
const r = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
process.stdout.write(`${args.includes('--report') ? reportBlock(r) : marksMarkdown(r)}\n`);
