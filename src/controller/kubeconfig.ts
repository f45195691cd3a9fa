// Finds the controller's kubeconfig in client-node's own order, but stops with an error where
// client-node would fall back to http://localhost:8080 (a server that is never there, which the
// controller would retry forever).
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { DpreadyError } from '../errors.ts';
import { shareConnections } from '../kube/shared-dispatcher.ts';

/** The order, as the help states it: one string, so help and code cannot disagree. */
export const KUBECONFIG_LOOKUP = '$KUBECONFIG, then ~/.kube/config, then the in-cluster service account';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigLookup {
  env?: NodeJS.ProcessEnv;
  /** Where an in-cluster token would be mounted; tests point it elsewhere. */
  serviceAccountDir?: string;
}

export function loadKubeConfig(path?: string, lookup: KubeConfigLookup = {}): k8s.KubeConfig {
  const env = lookup.env ?? process.env;
  const saDir = lookup.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const kc = new k8s.KubeConfig();
  let source: string;
  try {
    const envFiles = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f);
    const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
    if (path) {
      source = path;
      kc.loadFromFile(path);
    } else if (envFiles.length) {
      source = `$KUBECONFIG=${env.KUBECONFIG}`;
      kc.loadFromFile(envFiles[0]!);
      for (const f of envFiles.slice(1)) {
        const more = new k8s.KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more);
      }
    } else if (home && existsSync(home)) {
      source = home;
      kc.loadFromFile(home);
    } else if (existsSync(join(saDir, 'token'))) {
      source = 'in-cluster service account';
      kc.loadFromCluster();
    } else {
      throw new DpreadyError('DPR_BAD_CONFIG', `no kubeconfig found: looked at --kubeconfig (not given), $KUBECONFIG (not set), ` +
        `${home ?? '~/.kube/config (HOME not set)'} (missing) and ${join(saDir, 'token')} (missing); pass --kubeconfig PATH`);
    }
  } catch (err) {
    if (err instanceof DpreadyError) throw err;
    throw new DpreadyError('DPR_BAD_CONFIG', `cannot load kubeconfig${path ? ` ${path}` : ''}: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new DpreadyError('DPR_BAD_CONFIG', `no current cluster in kubeconfig (${source})`);
  return shareConnections(kc);
}
