// The sidecar's handover: the waiter the reporter execs into must stay up (a native sidecar
// that exits is restarted) and end promptly, with code 0, on SIGTERM. Run here with this
// machine's /bin/sh and sleep; the real-node test runs it in the image.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { findWaiter, waiterCommand } from '../../src/reporter/handover.ts';

test('this image-like machine has a waiter: /bin/sh and a sleep', () => {
  const w = findWaiter();
  assert.ok(!('missing' in w), JSON.stringify(w));
  assert.equal(w.file, '/bin/sh');
});

test('the waiter: sh -c, the trap set before the sleep starts, then sleep & wait', () => {
  const w = waiterCommand('/bin/sh', '/bin/sleep');
  assert.deepEqual(w.args.slice(0, 2), ['/bin/sh', '-c']);
  assert.match(w.args[2]!, /trap .* TERM INT; \/bin\/sleep 2147483647 & p=\$!; wait \$p$/);
});

test('the waiter stays up, then exits 0 at once on SIGTERM, leaving no sleep behind', async () => {
  const w = findWaiter();
  assert.ok(!('missing' in w));
  const child = spawn(w.file, w.args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: performance.now() })));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(child.exitCode, null, 'still running after 500 ms');
  // Its one child is the sleep.
  const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  assert.equal(children.length, 1);
  const sleepPid = Number(children[0]);
  assert.match(readFileSync(`/proc/${sleepPid}/cmdline`, 'utf8'), /sleep/);
  const sentAt = performance.now();
  child.kill('SIGTERM');
  const { code, at } = await exited;
  assert.equal(code, 0);
  assert.ok(at - sentAt < 1_000, `exited ${at - sentAt} ms after SIGTERM`);
  assert.deepEqual(JSON.parse(stderr.trim()), { level: 'info', component: 'reporter', msg: 'signal received; stopping' });
  await new Promise((r) => setTimeout(r, 100));
  let state = 'gone';
  try { state = readFileSync(`/proc/${sleepPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]!; } catch { /* reaped */ }
  assert.ok(state === 'gone' || state === 'Z', `the sleep went with the shell (state ${state})`);
});
