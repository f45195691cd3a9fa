// The truth of "the policy engine put this pod's egress policy in force", read while the engine
// works. kube-router gives every local pod a chain KUBE-POD-FW-<hash>, with or without a policy,
// and rewrites the whole filter table in one iptables-restore at each sync. A pod no egress policy
// selects has `-s <pod IP> -j KUBE-NWPLCY-DEFAULT` in its chain; once one selects it, the sync
// writes `-s <pod IP> -j KUBE-NWPLCY-<policy hash>` there instead, with the chain's REJECT of
// unmarked traffic. The first transaction holding that rule is the commit that denied what the
// policy does not allow (the pod's jump from KUBE-ROUTER-FORWARD is in every sync, so it marks
// nothing). `nft monitor` says which transaction and which process committed it
// (nft-transactions.ts); the kernel's trace of that process's sendmsg says when (commit-trace.ts).
// nft's lines alone are only an upper bound: on the loaded node this process reads them late.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { batchOf, traceSendmsg, type Commit, type SendmsgTrace } from './commit-trace.ts';
import { firstTransaction, NftTransactionLog, type NftRuleLine } from './nft-transactions.ts';
import { NFT } from './node-workloads.ts';

/** A rule in a pod's own chain sending its egress through a policy's chain (not the default one). */
export function egressPolicyRule(podIp: string): (rule: NftRuleLine) => boolean {
  return (r) => r.family === 'ip' && r.table === 'filter' && r.chain.startsWith('KUBE-POD-FW-') && r.saddr === podIp
    && r.jump !== undefined && r.jump.startsWith('KUBE-NWPLCY-') && r.jump !== 'KUBE-NWPLCY-DEFAULT';
}

export interface EngineCommit {
  /** The commit's instant, wall ms: the kernel's (the sendmsg's exit) when traced, else when nft's closing line was read (later). */
  at: number;
  /** The sendmsg that carried the batch; the commit lies within [enter, exit]. Absent where tracefs is not. */
  kernel?: Commit;
  /** When this process read nft's first and closing lines of the transaction. */
  firstLineAt: number;
  closedAt: number;
  /** The committing process, as the kernel named it. */
  pid: number;
  comm: string;
}

export interface EngineCommits {
  /** Why commits carry no kernel instant (tracefs unavailable), when so. */
  noKernelTruth?: string;
  /** The first commit, closed at or after `since` (wall ms), of an egress policy's rule for this pod address. */
  programmed(podIp: string, since?: number): Promise<EngineCommit | undefined>;
  stop(): Promise<void>;
}

export async function watchEngineCommits(): Promise<EngineCommits> {
  // Every iptables process to come (kube-router runs iptables-restore and iptables for each sync);
  // the pid in nft's report picks the one that committed.
  const traced = await traceSendmsg('comm ~ "iptables*"');
  const trace: SendmsgTrace | undefined = 'unavailable' in traced ? undefined : traced;
  // Ahead of the node's work in the CPU queue, as the datapath bench's monitor (node-workloads.ts).
  const child = spawn('nice', ['-n', '-10', NFT, 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const log = new NftTransactionLog();
  createInterface({ input: child.stdout }).on('line', (line) => log.push(line, Date.now()));
  // nft gives no sign that it has subscribed: a pause long enough for it to start.
  await new Promise((r) => setTimeout(r, 200));
  return {
    ...('unavailable' in traced ? { noKernelTruth: traced.unavailable } : {}),
    async programmed(podIp, since = 0) {
      const t = firstTransaction(log.transactions, egressPolicyRule(podIp), since);
      if (!t) return undefined;
      // The batch ended before nft's closing line was read; a few ms for the two clocks' pairing.
      const kernel = trace ? batchOf(await trace.calls(), t.pid, t.closedAt + 5) : undefined;
      return { at: kernel?.exit ?? t.closedAt, ...(kernel ? { kernel } : {}), firstLineAt: t.firstLineAt, closedAt: t.closedAt, pid: t.pid, comm: t.comm };
    },
    async stop() {
      child.kill();
      await trace?.stop();
    },
  };
}
