// What runs on the real node besides dpready: the images the node was given, a probe target
// (agnhost netexec) behind a Service, and an iptables rule that breaks or thins the path to
// it for real, on the node's pod network.
import { execFile } from 'node:child_process';
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
 * A FORWARD rule on the node, dropping TCP to `podIp:port`: with bridge netfilter on, it
 * sees pod-to-pod traffic after kube-proxy's DNAT, so the Service path breaks as a misprogrammed
 * network would. `probability` below 1 drops only that share of packets (a lossy path).
 */
export class PathRule {
  private readonly spec: string[];
  private installed = false;

  constructor(podIp: string, port: number, probability = 1) {
    this.spec = ['FORWARD', '-d', `${podIp}/32`, '-p', 'tcp', '--dport', String(port),
      ...(probability < 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)] : []),
      '-m', 'comment', '--comment', 'dpready-test-path-rule', '-j', 'DROP'];
  }

  async add(): Promise<void> {
    await run('iptables', ['-I', ...this.spec.slice(0, 1), '1', ...this.spec.slice(1)]);
    this.installed = true;
  }

  /** Removes the rule; returns the instant just after iptables returned (ms since the epoch). */
  async remove(): Promise<number> {
    if (!this.installed) return Date.now();
    await run('iptables', ['-D', ...this.spec]);
    this.installed = false;
    return Date.now();
  }
}
