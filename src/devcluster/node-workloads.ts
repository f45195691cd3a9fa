// What runs on the real node besides dpready: the images the node was given, a probe target
// (agnhost netexec) behind a Service, and an iptables rule that breaks or thins the path to
// it for real, on the node's pod network.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { V1Deployment, V1NetworkPolicy, V1Service } from '@kubernetes/client-node';
import { deletedAt, insertedHandle, parseNftRuleEvent, type NftRuleEvent, type NftRuleId } from './nft-events.ts';
import { NODE_IP } from './node-host.ts';

const run = promisify(execFile);

export const NODE_IMAGES = {
  dpready: 'dpready.local/dpready:dev',
  agnhost: 'dpready.local/agnhost:dev',
} as const;

/**
 * agnhost netexec on 8080 behind Service `name` on port 80. It requests CPU: a BestEffort pod
 * shares the node's besteffort cgroup (cpu.shares 2) against the reporters' Burstable 10m each,
 * so on a busy node its answers could wait for CPU and be counted as the reporters' error
 * (not measured alone: 2026-12-05-d38fa52.json, the first run with the request, still shows
 * round trips of ~1.2 s, from SYN retransmission). A real test's target runs with its own resources, usually on another node.
 */
export function targetObjects(name: string, namespace: string): [V1Deployment, V1Service] {
  const labels = { app: name };
  return [{
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{
        name: 'netexec', image: NODE_IMAGES.agnhost, args: ['netexec', '--http-port=8080'],
        ports: [{ containerPort: 8080, name: 'http' }],
        resources: { requests: { cpu: '250m', memory: '32Mi' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
      }] } },
    },
  }, {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  }];
}

/**
 * An egress policy for the pods labelled `app: <app>`: they may reach the pods labelled
 * `app: <allowApp>` on 8080 and the node's address (the apiserver behind the `kubernetes`
 * Service, CoreDNS), and nothing else; any other pod, the deny target, is denied.
 */
export function egressOnlyTo(name: string, namespace: string, app: string, allowApp: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace },
    spec: {
      podSelector: { matchLabels: { app } }, policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: { matchLabels: { app: allowApp } } }], ports: [{ protocol: 'TCP', port: 8080 }] },
        { to: [{ ipBlock: { cidr: `${NODE_IP}/32` } }] },
      ],
    },
  };
}

/**
 * When a rule was removed: the kernel committed the change somewhere in [before, after] (ms
 * since the epoch), and `committed` is when `nft monitor` reported the delete of this very rule
 * (its handle), within a millisecond or two of the commit. Without it, `noTruth` says why.
 */
export interface Removal { before: number; after: number; committed?: number; noTruth?: string }

export const NFT = '/usr/sbin/nft';

/** `nft -j monitor rules`, each rule event with the instant it was read (also the policy engine's truth). */
export function nftMonitor() {
  // Ahead of the node's work in the CPU queue: on 2 loaded cores, nft printing a sync of
  // hundreds of rules late is the largest error of this truth (nice warns and runs it anyway
  // where lowering the niceness is denied).
  const child = spawn('nice', ['-n', '-10', NFT, '-j', 'monitor', 'rules'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const seen: Array<{ at: number; event: NftRuleEvent }> = [];
  let rest = '';
  child.stdout.on('data', (d: Buffer) => {
    const at = Date.now();
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const event = parseNftRuleEvent(line);
      if (event) seen.push({ at, event });
    }
  });
  // nft gives no sign that it has subscribed: a pause long enough for it to start.
  const ready = new Promise((r) => setTimeout(r, 200));
  return { seen, ready, stop: () => { child.kill(); } };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A FORWARD rule on the node, dropping TCP to `podIp:port` (or a CIDR such as the pod subnet): with bridge netfilter on, it
 * sees pod-to-pod traffic after kube-proxy's DNAT, so the Service path breaks as a misprogrammed
 * network would. `probability` below 1 drops only that share of packets (a lossy path).
 */
export class PathRule {
  private readonly spec: string[];
  private installed = false;
  /** The rule's place in the ruleset, read from nft's own report of the insert. */
  private nftRule: NftRuleId | undefined;
  private noHandle: string | undefined;

  constructor(private readonly podIp: string, private readonly port: number, probability = 1) {
    this.spec = ['-d', podIp.includes('/') ? podIp : `${podIp}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', String(port),
      ...(probability < 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)] : []),
      '-m', 'comment', '--comment', 'dpready-test-path-rule', '-j', 'DROP'];
  }

  async add(): Promise<void> {
    const monitor = existsSync(NFT) ? nftMonitor() : undefined;
    try {
      await monitor?.ready;
      await run('iptables', ['-I', 'FORWARD', '1', ...this.spec]);
      this.installed = true;
      if (!monitor) { this.noHandle = `${NFT} is not installed (test/controlplane/node-packages.sh installs it)`; return; }
      for (let i = 0; i < 100 && !this.nftRule; i++) {
        this.nftRule = insertedHandle(monitor.seen.map((s) => s.event), 'FORWARD', this.podIp, this.port);
        if (!this.nftRule) await pause(10);
      }
      if (!this.nftRule) this.noHandle = 'nft monitor reported no single insert of the rule';
    } finally {
      monitor?.stop();
    }
  }

  /**
   * Removes the rule at a precisely known instant. `iptables -D` spends most of its time
   * starting up and reading the table before it commits, so its start and end bracket the
   * commit loosely; an `iptables-restore --noflush` already running and already in the filter
   * table commits within a millisecond of reading COMMIT. `beforeCommit` runs once that process
   * is up and before it is sent the commit (the benchmark traces its syscalls). When it
   * answers 'traced', the kernel's record is the truth and nft monitor is not started: at
   * nice -10 it printed and was read in the very milliseconds the reporters' ticks after the
   * heal fell due (1.6 ms of the 40 the two cores had in the 20 ms after it, by a sched trace
   * taken by hand on 34054e9, not committed).
   */
  async remove(opts: { beforeCommit?: (pid: number) => Promise<'traced' | void> } = {}): Promise<Removal> {
    if (!this.installed) { const now = Date.now(); return { before: now, after: now }; }
    const restore = spawn('iptables-restore', ['--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    restore.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => restore.once('exit', resolve));
    restore.stdin.write('*filter\n');
    const traced = restore.pid !== undefined ? await opts.beforeCommit?.(restore.pid) : undefined;
    // Otherwise the kernel's report of the commit as nft monitor prints it.
    const monitor = this.nftRule && traced !== 'traced' ? nftMonitor() : undefined;
    const rule = this.nftRule;
    let committed: number | undefined;
    await Promise.all([pause(200), monitor?.ready]); // let both start (and the monitor subscribe)
    const before = Date.now();
    restore.stdin.end(`-D FORWARD ${this.spec.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}\nCOMMIT\n`);
    const code = await exited;
    const after = Date.now();
    if (monitor && rule) {
      for (let i = 0; i < 100 && committed === undefined; i++) {
        committed = deletedAt(monitor.seen, rule, before);
        if (committed === undefined) await pause(10);
      }
      monitor.stop();
    }
    if (code !== 0) throw new Error(`iptables-restore could not remove the rule (exit ${code}): ${stderr.trim()}`);
    this.installed = false;
    if (committed !== undefined) return { before, after, committed };
    if (traced === 'traced') return { before, after };
    return { before, after, noTruth: this.noHandle ?? `nft monitor reported no delete of handle ${rule?.handle} after the removal started` };
  }
}
