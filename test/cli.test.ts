// `dpready` as a shell or a pipeline calls it: --version, and usage errors on stderr with exit
// 64 (EX_USAGE), the codes docs/api.md lists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function dpready(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('dpready --version and -v print the version and the revision', () => {
  for (const flag of ['--version', '-v']) {
    const r = dpready([flag], { DPREADY_REVISION: '0123abc' });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^dpready ${VERSION.replaceAll('.', '\\.')} \\(revision 0123abc, Node v\\d+`));
  }
  assert.match(dpready(['--version'], { DPREADY_REVISION: '' }).out, /revision unknown/);
});

test('usage errors go to stderr and exit 64; --help goes to stdout and exits 0', () => {
  const none = dpready([]);
  assert.equal(none.code, 64);
  assert.equal(none.out, '');
  assert.match(none.err, /DPR_USAGE: no command given\nusage: dpready <command>/);
  const unknown = dpready(['stat']);
  assert.equal(unknown.code, 64);
  assert.equal(unknown.out, '');
  assert.match(unknown.err, /unknown command "stat"/);
  const help = dpready(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: dpready <command>/);
  // stats: a bad selector and a token without --server are usage errors too.
  const sel = dpready(['stats', '--server', 'http://127.0.0.1:9', '--label-selector', 'a in ()']);
  assert.equal(sel.code, 64, sel.err);
  assert.match(sel.err, /--label-selector/);
  const token = dpready(['stats', '--token-file', '/dev/null']);
  assert.equal(token.code, 64, token.err);
  assert.match(token.err, /port-forward/);
  // A bad threshold keeps its own code, 2, as documented.
  assert.equal(dpready(['stats', '--server', 'http://127.0.0.1:9', '--threshold', 'p99<<1']).code, 2);
});
