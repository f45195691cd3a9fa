// dpready-start, the image's entrypoint, built as the Dockerfile builds it and run on this host:
// the start stamp and the clocks' offset it hands to the reporter.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { wallMinusMonotonic } from '../../src/reporter/wall-offset.ts';

const SOURCE = fileURLToPath(new URL('../../src/reporter/dpready-start.c', import.meta.url));
// test/controlplane/node-packages.sh installs gcc and the static libc (npm test runs it first).
const skip = existsSync('/usr/bin/gcc') ? false : 'no /usr/bin/gcc (test/controlplane/node-packages.sh installs it, as root)';
const dir = mkdtempSync(join(tmpdir(), 'dpready-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('dpready-start hands node the start stamp and the wall clock\'s offset from the monotonic clock, read together', { skip }, () => {
  const bin = join(dir, 'dpready-start');
  execFileSync('gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, SOURCE]);
  const before = Date.now();
  // The child prints what it was given, and the offset as it measures it itself (the slow way).
  const child = 'import("' + fileURLToPath(new URL('../../src/reporter/wall-offset.ts', import.meta.url)) + '").then((m) => console.log(JSON.stringify({ '
    + 'start: process.env.DPREADY_START_NS, offset: process.env.DPREADY_WALL_MINUS_MONO_NS, measured: m.wallMinusMonotonic() })))';
  const out = JSON.parse(execFileSync(bin, [process.execPath, '--import', 'tsx', '-e', child], { encoding: 'utf8' })) as { start: string; offset: string; measured: { offsetMs: number; uncertaintyMs: number } };
  assert.match(out.start, /^[1-9]\d{18}$/);
  const startMs = Number(BigInt(out.start) / 1_000_000n);
  assert.ok(startMs >= before - 1 && startMs <= Date.now(), `start ${startMs} within the run (${before}..${Date.now()})`);
  assert.match(out.offset, /^[1-9]\d+$/);
  const offsetMs = Number(BigInt(out.offset)) / 1e6;
  // Both are this host's clocks' offset: the C pairing (20 µs) agrees with the tick-over
  // measurement, in the child and here, within the measurement's own bracket (wider on a busy machine).
  const agrees = (m: { offsetMs: number; uncertaintyMs: number }, where: string) =>
    assert.ok(Math.abs(offsetMs - m.offsetMs) < 0.05 + m.uncertaintyMs, `dpready-start ${offsetMs}, measured ${where} ${m.offsetMs} ± ${m.uncertaintyMs}`);
  agrees(out.measured, 'in node');
  agrees(wallMinusMonotonic(), 'here');
});
