// The truth of "the policy engine programmed this pod", read while the engine works. kube-router
// sends a pod's egress through its per-pod chain with `-s <pod IP> -j KUBE-POD-FW-…` in
// KUBE-ROUTER-FORWARD, committed with the rest of its sync in one iptables-restore of the whole
// filter table. `nft monitor` says which transaction first held that rule and which process
// committed it (nft-transactions.ts); the kernel's trace of that process's sendmsg says when
// (commit-trace.ts). nft's lines alone are only an upper bound: on the loaded node this process
// reads them late, and a test once judged a reporter 216 ms "early" against them.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { batchOf, traceSendmsg, type Commit, type SendmsgTrace } from './commit-trace.ts';
import { firstProgramming, NftTransactionLog } from './nft-transactions.ts';

const NFT = '/usr/sbin/nft';

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
  /** The first commit, closed at or after `since` (wall ms), of the engine's egress jump for this pod address. */
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
      const t = firstProgramming(log.transactions, podIp, 'KUBE-ROUTER-FORWARD', 'KUBE-POD-FW-', since);
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
