// The real-node benchmark's truth: the delete of its own DROP rule, by handle, seen after the
// removal started. Lines are what `nft -j monitor rules` printed for iptables-nft changes here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deletedAt, insertedHandle, parseNftRuleEvent } from '../../src/devcluster/nft-events.ts';

const expr = '"expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.244.0.7"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}}, {"xt": {"type": "match", "name": "comment"}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]';
const line = (op: string, handle: number, chain = 'FORWARD') => `{"${op}": {"rule": {"family": "ip", "table": "filter", "chain": "${chain}", "handle": ${handle}, ${expr}}}}`;

test('nft -j monitor lines: inserts, adds and deletes of rules with their handle, address and port; anything else ignored', () => {
  assert.deepEqual(parseNftRuleEvent(line('insert', 8)), { op: 'insert', family: 'ip', table: 'filter', chain: 'FORWARD', handle: 8, daddr: '10.244.0.7', dport: 8080 });
  assert.equal(parseNftRuleEvent(line('delete', 8))?.op, 'delete');
  const subnet = '{"insert": {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.244.0.0", "len": 16}}}}, {"drop": null}]}}}';
  assert.equal(parseNftRuleEvent(subnet)?.daddr, '10.244.0.0/16');
  for (const other of ['', 'delete rule ip filter FORWARD handle 8', '{"add": {"table": {"family": "ip", "name": "x"}}}', '{"metainfo": {}}']) {
    assert.equal(parseNftRuleEvent(other), undefined, other);
  }
});

test('the inserted rule\'s handle: only a single matching insert names it', () => {
  const ev = (l: string) => parseNftRuleEvent(l)!;
  assert.deepEqual(insertedHandle([ev(line('insert', 4, 'KUBE-FORWARD')), ev(line('insert', 9))], 'FORWARD', '10.244.0.7/32', 8080), { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 9 });
  assert.equal(insertedHandle([ev(line('insert', 9))], 'FORWARD', '10.244.0.8', 8080), undefined, 'another address');
  assert.equal(insertedHandle([ev(line('insert', 9)), ev(line('insert', 10))], 'FORWARD', '10.244.0.7', 8080), undefined, 'two candidates: ambiguous');
});

test('the delete: matched by the rule\'s handle, and only at or after the removal started', () => {
  const rule = { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 9 };
  const at = (t: number, l: string) => ({ at: t, event: parseNftRuleEvent(l)! });
  // Another rule's delete (handle 12) first, then an earlier delete of a rule that reused handle 9's text before we began.
  const seen = [at(990, line('delete', 9)), at(1001, line('delete', 12)), at(1003, line('delete', 9, 'KUBE-FORWARD')), at(1004, line('delete', 9))];
  assert.equal(deletedAt(seen, rule, 1000), 1004);
  assert.equal(deletedAt(seen.slice(0, 3), rule, 1000), undefined, 'no delete of this rule after the removal started');
  assert.equal(deletedAt(seen, rule, 1005), undefined);
});
