// The real node's daemons into system.slice (src/devcluster/system-slice.ts), against a directory
// laid out as each cgroup version lays out its files; the real hierarchy is used by the real-node
// suites and the benchmark.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { intoSystemSlice } from '../../src/devcluster/system-slice.ts';

test('cgroup v1: the slice is made in the cpu hierarchy with 1,024 shares, and each pid is added to it', () => {
  const root = mkdtempSync(join(tmpdir(), 'dpready-cg1-'));
  mkdirSync(join(root, 'cpu'));
  writeFileSync(join(root, 'cpu', 'cpu.shares'), '1024\n');
  assert.equal(intoSystemSlice(101, root), undefined);
  assert.equal(intoSystemSlice(102, root), undefined);
  assert.equal(readFileSync(join(root, 'cpu', 'system.slice', 'cpu.shares'), 'utf8'), '1024');
  assert.equal(readFileSync(join(root, 'cpu', 'system.slice', 'cgroup.procs'), 'utf8'), '101\n102\n');
});

test('cgroup v2: the cpu controller is enabled for the root\'s children, and the slice gets weight 100', () => {
  const root = mkdtempSync(join(tmpdir(), 'dpready-cg2-'));
  writeFileSync(join(root, 'cgroup.subtree_control'), 'memory pids\n');
  assert.equal(intoSystemSlice(7, root), undefined);
  assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+cpu');
  assert.equal(readFileSync(join(root, 'system.slice', 'cpu.weight'), 'utf8'), '100');
  assert.equal(readFileSync(join(root, 'system.slice', 'cgroup.procs'), 'utf8'), '7\n');
});

test('a hierarchy that cannot be written says which pid and where, and does not throw', () => {
  const why = intoSystemSlice(9, join(tmpdir(), 'dpready-no-such-cgroup-root'));
  assert.match(why ?? '', /^pid 9 not moved into .*dpready-no-such-cgroup-root\/system\.slice: ENOENT/);
});
