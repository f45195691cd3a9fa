// Finds the controller's kubeconfig in client-node's own order, but stops with an error where
// client-node would fall back to http://localhost:8080 (a server that is never there, which the
// controller would retry forever). Read by kube-config.ts, not client-node (whose import alone
// costs the process about 80 MiB); exec plugins still run through client-node (kube-auth.ts).
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DpreadyError } from '../errors.ts';
import { KubeConfigLite, SERVICE_ACCOUNT_DIR } from '../kube/kube-config.ts';

/** The order, as the help states it: one string, so help and code cannot disagree. */
export const KUBECONFIG_LOOKUP = '$KUBECONFIG, then ~/.kube/config, then the in-cluster service account';

export interface KubeConfigLookup {
  env?: NodeJS.ProcessEnv;
  /** Where an in-cluster token would be mounted; tests point it elsewhere. */
  serviceAccountDir?: string;
}

export function loadKubeConfig(path?: string, lookup: KubeConfigLookup = {}): KubeConfigLite {
  const env = lookup.env ?? process.env;
  const saDir = lookup.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  let kc: KubeConfigLite;
  let source: string;
  try {
    const envFiles = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f);
    const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
    if (path) {
      source = path;
      kc = KubeConfigLite.fromFiles([path]);
    } else if (envFiles.length) {
      source = `$KUBECONFIG=${env.KUBECONFIG}`;
      kc = KubeConfigLite.fromFiles(envFiles);
    } else if (home && existsSync(home)) {
      source = home;
      kc = KubeConfigLite.fromFiles([home]);
    } else if (existsSync(join(saDir, 'token'))) {
      source = 'in-cluster service account';
      kc = KubeConfigLite.inCluster(saDir, env);
    } else {
      throw new DpreadyError('DPR_BAD_CONFIG', `no kubeconfig found: looked at --kubeconfig (not given), $KUBECONFIG (not set), ` +
        `${home ?? '~/.kube/config (HOME not set)'} (missing) and ${join(saDir, 'token')} (missing); pass --kubeconfig PATH`);
    }
  } catch (err) {
    if (err instanceof DpreadyError) throw err;
    throw new DpreadyError('DPR_BAD_CONFIG', `cannot load kubeconfig${path ? ` ${path}` : ''}: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new DpreadyError('DPR_BAD_CONFIG', `no current cluster in kubeconfig (${source})`);
  return kc;
}
