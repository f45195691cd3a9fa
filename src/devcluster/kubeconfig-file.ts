// A kubeconfig for the local control plane: one cluster, one user, one context.
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
