import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseControllerArgs } from '../../src/controller/config.ts';
import { isDpreadyError } from '../../src/errors.ts';
import { namespaceHash, shardFilter, shardOf } from '../../src/controller/shard.ts';

const parse = (args: string[]) => parseControllerArgs(args, {});

test('namespace hash is FNV-1a: stable across processes, so replicas agree on who owns what', () => {
  // FNV-1a 32-bit reference values.
  assert.equal(namespaceHash(''), 0x811c9dc5);
  assert.equal(namespaceHash('a'), 0xe40c292c);
  assert.equal(namespaceHash('foobar'), 0xbf9cf968);
});

test('every namespace belongs to exactly one of N shards, and the split is even enough', () => {
  const count = 2;
  const filters = [0, 1].map((index) => shardFilter({ count, index })!);
  const sizes = [0, 0];
  for (let i = 0; i < 1000; i++) {
    const ns = `load-${i}`;
    const owners = filters.filter((f) => f(ns)).length;
    assert.equal(owners, 1, ns);
    sizes[shardOf(ns, count)]!++;
  }
  assert.ok(Math.min(...sizes) > 400, `split ${sizes.join('/')}`);
  assert.equal(shardFilter(undefined), undefined);
  assert.equal(shardFilter({ count: 1, index: 0 }), undefined);
});

test('--shards and --shard-index: each shard gets its own Lease; bad values name the flag', () => {
  const one = parse([]);
  assert.ok(one !== 'help');
  assert.equal(one.shard, undefined);
  assert.equal(one.leaseName, 'dpready-controller');
  const s1 = parse(['--shards=2', '--shard-index=1', '--leader-elect-name=dpr']);
  assert.ok(s1 !== 'help');
  assert.deepEqual(s1.shard, { count: 2, index: 1 });
  assert.equal(s1.leaseName, 'dpr-shard-1');
  for (const args of [['--shards=2'], ['--shards=2', '--shard-index=2'], ['--shards=0'], ['--shards=x', '--shard-index=0']]) {
    assert.throws(() => parse(args), (err: unknown) => isDpreadyError(err, 'DPR_BAD_CONFIG') && /--shard/.test(err.message), args.join(' '));
  }
});
