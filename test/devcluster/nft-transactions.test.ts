import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchOf, sendmsgCalls } from '../../src/devcluster/commit-trace.ts';
import { egressPolicyRule } from '../../src/devcluster/engine-commits.ts';
import { firstTransaction, NftTransactionLog, parseRuleLine } from '../../src/devcluster/nft-transactions.ts';

// What `nft monitor` printed here for kube-router's per-pod egress jumps (iptables-nft).
const jump = (chain: string, saddr: string, target: string) => `add rule ip filter ${chain} ip saddr ${saddr} xt match physdev  counter packets 0 bytes 0 jump ${target}`;

test('nft monitor text: rule lines with their chain, source address and jump; anything else is not a rule', () => {
  assert.deepEqual(parseRuleLine(jump('KUBE-ROUTER-FORWARD', '10.244.0.12', 'KUBE-POD-FW-ABC')),
    { op: 'add', family: 'ip', table: 'filter', chain: 'KUBE-ROUTER-FORWARD', saddr: '10.244.0.12', jump: 'KUBE-POD-FW-ABC' });
  assert.deepEqual(parseRuleLine('delete rule ip filter DPTEST handle 258'), { op: 'delete', family: 'ip', table: 'filter', chain: 'DPTEST' });
  for (const other of ['', 'create chain ip filter DPTEST', '# new generation 3104 by process 8730 (iptables)', 'add table ip filter']) {
    assert.equal(parseRuleLine(other), undefined, other);
  }
});

test('transactions: each closed by its new-generation line, which names the committing process', () => {
  const log = new NftTransactionLog();
  log.push('create chain ip filter KUBE-POD-FW-A', 1000);
  log.push(jump('KUBE-ROUTER-FORWARD', '10.244.0.2', 'KUBE-POD-FW-A'), 1030); // nft paused 30 ms mid-transaction
  log.push('# new generation 7 by process 4242 (iptables-restor)', 1031);
  log.push('delete rule ip filter FORWARD handle 9', 1200);
  log.push('# new generation 8 by process 4250 (iptables)', 1201);
  assert.equal(log.transactions.length, 2);
  assert.deepEqual({ ...log.transactions[0]!, rules: log.transactions[0]!.rules.length },
    { generation: 7, pid: 4242, comm: 'iptables-restor', rules: 1, firstLineAt: 1000, closedAt: 1031 });
  assert.equal(log.transactions[1]!.pid, 4250);
});

// What `nft monitor` printed here for a pod's own chain, before and after an egress policy selected it.
const podRule = (saddr: string, target: string) => `insert rule ip filter KUBE-POD-FW-DWOFJ4FGHTUWCLX7 handle 74 ip saddr ${saddr}  counter packets 0 bytes 0 jump ${target}`;

test('the policy engine\'s commit of a pod\'s egress policy: the first transaction since a start whose rule sends the pod\'s traffic to a policy\'s chain', () => {
  const log = new NftTransactionLog();
  const tx = (at: number, pid: number, ...lines: string[]) => {
    for (const l of lines) log.push(l, at);
    log.push(`# new generation ${pid} by process ${pid} (iptables-restor)`, at + 1);
  };
  tx(900, 1, podRule('10.244.0.20', 'KUBE-NWPLCY-OLD')); // an earlier pod at this address, before `since`
  // Every sync has the pod's jump from KUBE-ROUTER-FORWARD and, without a policy, the default chain.
  tx(1000, 2, jump('KUBE-ROUTER-FORWARD', '10.244.0.20', 'KUBE-POD-FW-DWOFJ4FGHTUWCLX7'), podRule('10.244.0.20', 'KUBE-NWPLCY-DEFAULT'),
    podRule('10.244.0.21', 'KUBE-NWPLCY-2AQKS3666HXUZ7O7'), // another pod
    podRule('10.244.0.20', 'KUBE-NWPLCY-2AQKS3666HXUZ7O7').replace('KUBE-POD-FW-', 'KUBE-ROUTER-')); // not a pod's chain
  tx(1100, 3, jump('KUBE-ROUTER-FORWARD', '10.244.0.20', 'KUBE-POD-FW-DWOFJ4FGHTUWCLX7'), podRule('10.244.0.20', 'KUBE-NWPLCY-2AQKS3666HXUZ7O7'));
  tx(1500, 4, podRule('10.244.0.20', 'KUBE-NWPLCY-2AQKS3666HXUZ7O7')); // the next sync re-adds it
  const found = (ip: string, since?: number) => firstTransaction(log.transactions, egressPolicyRule(ip), since)?.pid;
  assert.equal(found('10.244.0.20', 950), 3);
  assert.equal(found('10.244.0.20'), 1);
  assert.equal(found('10.244.0.20', 1200), 4, 'never one closed before `since`');
  assert.equal(found('10.244.0.21', 950), 2);
  assert.equal(found('10.244.0.14'), undefined);
});

test('the kernel\'s commit: the last sendmsg of the committing process, entry paired with exit, ended before nft reported it', () => {
  const trace = [
    ' iptables-restor-4242    [001] ..... 100.000100: sys_sendmsg(fd: 3, msg: 0x7ffc30b6d1a0, flags: 0)',
    '        iptables-4250    [000] ..... 100.000200: sys_sendmsg(fd: 3, msg: 0x7ffd14933420, flags: 0)',
    ' iptables-restor-4242    [001] ..... 100.000300: sys_sendmsg -> 0x30',
    ' iptables-restor-4242    [001] ..... 100.010000: sys_sendmsg(fd: 3, msg: 0x7ffc30b6d1a0, flags: 0)',
    ' iptables-restor-4242    [001] .N... 100.012000: sys_sendmsg -> 0x130',
    '        iptables-4250    [000] ..... 100.000400: sys_sendmsg -> 0x5c',
    '        iptables-4242    [000] ..... 105.000000: sys_sendmsg(fd: 3, msg: 0x7ffd14933420, flags: 0)', // the pid reused, later
    '        iptables-4242    [000] ..... 105.000100: sys_sendmsg -> 0x5c',
  ].join('\n');
  const calls = sendmsgCalls(trace, (s) => Number(s) * 1000);
  assert.equal(calls.length, 4);
  assert.deepEqual(batchOf(calls, 4242, 100_050), { enter: 100_010, exit: 100_012 }, 'the batch, not the cache query before it nor a later process with that pid');
  assert.equal(batchOf(calls, 4250)?.exit, 100_000.4, 'processes interleaved');
  assert.equal(batchOf(calls, 9999), undefined);
});
