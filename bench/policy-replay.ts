// Replays the records of three `--only policy` runs on 8f4f97e (bench/results/2026-12-06-8f4f97e-policy-replay/)
// against the policy truth: per run, `nft monitor`'s lines as read (<ms> <line>), the sendmsg
// calls of every iptables process (tracefs), and each pod's reported instants with the truth the
// run used (the first transaction holding the pod's jump from KUBE-ROUTER-FORWARD). Prints, per
// pod, that old truth and the engine's commit of the policy's rule (src/devcluster/engine-commits.ts),
// and the pod's last answer and reported instant against the latter. docs/policy-engine.md cites it.
//   node --import tsx bench/policy-replay.ts
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { batchOf, type SendmsgCall } from '../src/devcluster/commit-trace.ts';
import { egressPolicyRule } from '../src/devcluster/engine-commits.ts';
import { firstTransaction, NftTransactionLog } from '../src/devcluster/nft-transactions.ts';

const DIR = new URL('results/2026-12-06-8f4f97e-policy-replay/', import.meta.url);
const text = (name: string) => gunzipSync(readFileSync(new URL(name, DIR))).toString('utf8');
const field = (line: string, re: RegExp) => re.exec(line)?.[1];

for (const run of ['run1', 'run2', 'run3']) {
  const log = new NftTransactionLog();
  for (const l of text(`${run}.nft.gz`).split('\n')) {
    const sp = l.indexOf(' ');
    if (sp > 0) log.push(l.slice(sp + 1), Number(l.slice(0, sp)));
  }
  const calls = JSON.parse(text(`${run}.sendmsg.json.gz`)) as SendmsgCall[];
  console.log(`${run}: pod, old truth − policy, policy → commit of its rule, last answer − commit, reported − commit (ms)`);
  for (const line of text(`${run}.pods.gz`).split('\n').filter(Boolean)) {
    const ip = field(line, /ip=(\S+)/)!;
    const policyAt = Number(field(line, /policyAt=(\d+)/));
    const oldTruth = (JSON.parse(field(line, /commit=(\{.*?\}\}?[^ ]*) enforced=/)!) as { at: number }).at;
    const enforced = Number(field(line, /enforced=(\d+)/));
    const lastAnswer = Date.parse(field(line, /"lastAnswerTs":"([^"]+)"/)!);
    const t = firstTransaction(log.transactions, egressPolicyRule(ip), policyAt);
    const kernel = t && batchOf(calls, t.pid, t.closedAt + 5);
    if (!kernel) { console.log(`  ${ip}: no commit of the policy's rule found`); continue; }
    const r = (x: number) => Math.round(x - kernel.exit);
    console.log(`  ${ip}: ${Math.round(oldTruth - policyAt)}, ${Math.round(kernel.exit - policyAt)}, ${r(lastAnswer)}, ${r(enforced)}`);
  }
}
