// A kubeconfig for the local control plane: one cluster, one user, one context.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as k8s from '@kubernetes/client-node';

export function kubeconfigYaml(server: string, caFile: string, user: Record<string, string>): string {
  return k8s.dumpYaml({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'dpready-dev', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'dpready-dev', context: { cluster: 'dpready-dev', user: 'user' } }],
    'current-context': 'dpready-dev',
  });
}

/**
 * What the kubelet gives a pod, from a kubeconfig holding a token (podKubeconfig's): the API
 * server as KUBERNETES_SERVICE_HOST/PORT, and a directory with `token` and `ca.crt` beside the
 * kubeconfig, named by DPREADY_SERVICEACCOUNT_DIR (the reporter's stand-in for
 * /var/run/secrets/kubernetes.io/serviceaccount). For reporters run as processes, off a node.
 */
export function serviceAccountEnv(kubeconfig: string): Record<string, string> {
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string } }[];
    users: { user: { token?: string } }[];
  };
  const cluster = kc.clusters[0]!.cluster;
  const token = kc.users[0]!.user.token;
  if (!token) throw new Error(`${kubeconfig}: no token (the reporter authenticates as its ServiceAccount)`);
  const dir = join(kubeconfig.replace(/\.kubeconfig$/, ''), 'serviceaccount');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64') : readFileSync(cluster['certificate-authority']!));
  const url = new URL(cluster.server);
  return { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port || '443', DPREADY_SERVICEACCOUNT_DIR: dir };
}
