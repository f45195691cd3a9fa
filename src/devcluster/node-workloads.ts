// What runs on the real node besides dpready: the images the node was given, a probe target
// (agnhost netexec) behind a Service, and an iptables rule that breaks or thins the path to
// it for real, on the node's pod network.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';

const run = promisify(execFile);

export const NODE_IMAGES = {
  dpready: 'dpready.local/dpready:dev',
  agnhost: 'dpready.local/agnhost:dev',
} as const;

/** agnhost netexec on 8080 behind Service `name` on port 80. */
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
 * When a rule was removed: the kernel committed the change somewhere in [before, after] (ms
 * since the epoch), and `committed` is when `nft monitor` reported the commit (within a
 * millisecond or two of it), where nft is installed.
 */
export interface Removal { before: number; after: number; committed?: number }

/**
 * A FORWARD rule on the node, dropping TCP to `podIp:port` (or a CIDR such as the pod subnet): with bridge netfilter on, it
 * sees pod-to-pod traffic after kube-proxy's DNAT, so the Service path breaks as a misprogrammed
 * network would. `probability` below 1 drops only that share of packets (a lossy path).
 */
export class PathRule {
  private readonly spec: string[];
  private installed = false;

  constructor(podIp: string, port: number, probability = 1) {
    this.spec = ['-d', podIp.includes('/') ? podIp : `${podIp}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', String(port),
      ...(probability < 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)] : []),
      '-m', 'comment', '--comment', 'dpready-test-path-rule', '-j', 'DROP'];
  }

  async add(): Promise<void> {
    await run('iptables', ['-I', 'FORWARD', '1', ...this.spec]);
    this.installed = true;
  }

  /**
   * Removes the rule at a precisely known instant. `iptables -D` spends most of its time
   * starting up and reading the table before it commits, so its start and end bracket the
   * commit loosely; an `iptables-restore --noflush` already running and already in the filter
   * table commits within a millisecond of reading COMMIT.
   */
  async remove(): Promise<Removal> {
    if (!this.installed) { const now = Date.now(); return { before: now, after: now }; }
    // The kernel's own report of the commit: nft monitor prints each ruleset change as it happens.
    const monitor = existsSync('/usr/sbin/nft') ? spawn('nft', ['monitor', 'rules'], { stdio: ['ignore', 'pipe', 'ignore'] }) : undefined;
    let committed: number | undefined;
    monitor?.stdout!.on('data', (d: Buffer) => { if (committed === undefined && d.toString().includes('delete rule')) committed = Date.now(); });
    const restore = spawn('iptables-restore', ['--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    restore.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => restore.once('exit', resolve));
    restore.stdin.write('*filter\n');
    await new Promise((r) => setTimeout(r, 200)); // let both start (and the monitor subscribe)
    const before = Date.now();
    restore.stdin.end(`-D FORWARD ${this.spec.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}\nCOMMIT\n`);
    const code = await exited;
    const after = Date.now();
    if (monitor) {
      for (let i = 0; i < 100 && committed === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      monitor.kill();
    }
    if (code !== 0) throw new Error(`iptables-restore could not remove the rule (exit ${code}): ${stderr.trim()}`);
    this.installed = false;
    return { before, after, ...(committed !== undefined ? { committed } : {}) };
  }
}
