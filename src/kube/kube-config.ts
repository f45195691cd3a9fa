// A kubeconfig as the controller needs it: the current context's cluster and user, read from
// kubeconfig files or from the in-cluster service account. Field names are client-node's own
// (Cluster, User), so a client-node KubeConfig (the tests' and the dev cluster's) can be used
// wherever this is. Importing client-node costs a process about 80 MiB (every generated API and
// model is loaded by its KubeConfig module); the controller needs none of it for certificates,
// tokens and the in-cluster account, so this reads kubeconfig YAML itself. Exec plugins and auth
// providers are client-node's to run: kube-auth.ts loads it only for a user that has one.
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface KubeCluster {
  name: string;
  server: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify?: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}

export interface KubeUser {
  name: string;
  token?: string;
  /** A token file re-read as it rotates (the in-cluster account's, or `tokenFile` in a kubeconfig). */
  tokenFile?: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  /** An exec credential plugin (client.authentication.k8s.io ExecConfig), run by client-node. */
  exec?: unknown;
  /** An auth provider (oidc, …), run by client-node; `tokenFile` is the in-cluster account's. */
  authProvider?: { name?: string; config?: Record<string, string> } | null;
  impersonateUser?: string;
}

export interface KubeContext { name: string; cluster: string; user: string; namespace?: string }

/** What every consumer reads: client-node's KubeConfig has these too. */
export interface KubeConfigLike {
  getCurrentCluster(): KubeCluster | null;
  getCurrentUser(): KubeUser | null;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class KubeConfigLite implements KubeConfigLike {
  constructor(readonly clusters: KubeCluster[], readonly users: KubeUser[], readonly contexts: KubeContext[], readonly currentContext: string) {}

  getCurrentContextObject(): KubeContext | undefined { return this.contexts.find((c) => c.name === this.currentContext); }
  getCurrentCluster(): KubeCluster | null {
    const ctx = this.getCurrentContextObject();
    return (ctx && this.clusters.find((c) => c.name === ctx.cluster)) ?? null;
  }
  getCurrentUser(): KubeUser | null {
    const ctx = this.getCurrentContextObject();
    return (ctx && this.users.find((u) => u.name === ctx.user)) ?? null;
  }

  /**
   * Kubeconfig files merged as kubectl merges $KUBECONFIG: the first file to name a cluster, user
   * or context wins, and the first current-context set wins. Relative file paths are relative to
   * the file that names them.
   */
  static fromFiles(files: string[]): KubeConfigLite {
    const clusters: KubeCluster[] = [];
    const users: KubeUser[] = [];
    const contexts: KubeContext[] = [];
    let current = '';
    for (const file of files) {
      const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as RawConfig;
      if (typeof doc !== 'object') throw new Error(`${file} is not a kubeconfig (not a YAML mapping)`);
      const dir = dirname(file);
      const abs = (p: unknown) => (typeof p === 'string' && p !== '' ? (isAbsolute(p) ? p : join(dir, p)) : undefined);
      list(doc.clusters, 'clusters', file).forEach((e, i) => {
        const c = e.cluster as Record<string, unknown> | undefined;
        if (!c) throw new Error(`${file}: clusters[${i}].cluster is missing`);
        if (typeof c.server !== 'string' || !c.server) throw new Error(`${file}: clusters[${i}].cluster.server is missing`);
        if (clusters.some((x) => x.name === e.name)) return;
        clusters.push(compact({
          name: e.name, server: c.server.replace(/\/$/, ''), caData: str(c['certificate-authority-data']), caFile: abs(c['certificate-authority']),
          skipTLSVerify: c['insecure-skip-tls-verify'] === true, tlsServerName: str(c['tls-server-name']), proxyUrl: str(c['proxy-url']),
        }));
      });
      list(doc.users, 'users', file).forEach((e) => {
        const u = (e.user ?? {}) as Record<string, unknown>;
        if (users.some((x) => x.name === e.name)) return;
        users.push(compact({
          name: e.name, token: str(u.token), tokenFile: abs(u.tokenFile ?? u['token-file']),
          certData: str(u['client-certificate-data']), certFile: abs(u['client-certificate']),
          keyData: str(u['client-key-data']), keyFile: abs(u['client-key']),
          username: str(u.username), password: str(u.password),
          exec: u.exec ?? undefined, authProvider: (u['auth-provider'] as KubeUser['authProvider']) ?? undefined, impersonateUser: str(u.as),
        }));
      });
      list(doc.contexts, 'contexts', file).forEach((e, i) => {
        const c = e.context as Record<string, unknown> | undefined;
        if (!c) throw new Error(`${file}: contexts[${i}].context is missing`);
        if (contexts.some((x) => x.name === e.name)) return;
        contexts.push(compact({ name: e.name, cluster: String(c.cluster ?? ''), user: String(c.user ?? ''), namespace: str(c.namespace) }));
      });
      if (!current && typeof doc['current-context'] === 'string') current = doc['current-context'];
    }
    return new KubeConfigLite(clusters, users, contexts, current);
  }

  /** The pod's own service account, as client-go's rest.InClusterConfig reads it. */
  static inCluster(saDir = SERVICE_ACCOUNT_DIR, env: NodeJS.ProcessEnv = process.env): KubeConfigLite {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) throw new Error('in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set');
    const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    const nsFile = join(saDir, 'namespace');
    const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
    return new KubeConfigLite(
      [{ name: 'inCluster', server, caFile: join(saDir, 'ca.crt') }],
      [{ name: 'inClusterUser', tokenFile: join(saDir, 'token') }],
      [compact({ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', namespace })],
      'inClusterContext');
  }
}

type RawConfig = { clusters?: unknown; users?: unknown; contexts?: unknown; 'current-context'?: unknown };

function list(v: unknown, what: string, file: string): Array<{ name: string; [k: string]: unknown }> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${file}: ${what} is not a list`);
  return v.map((e: unknown, i) => {
    const o = e as { name?: unknown } | null;
    if (!o || typeof o.name !== 'string' || !o.name) throw new Error(`${file}: ${what}[${i}].name is missing`);
    return o as { name: string };
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The user as client-node's KubeConfig reads it: it has no `tokenFile` field of its own (it reads
 * a kubeconfig's token-file once), but re-reads the token of a `tokenFile` auth provider, which
 * is what its own in-cluster loading sets up.
 */
export function clientNodeUser(user: KubeUser): KubeUser {
  if (!user.tokenFile || user.exec || user.authProvider || user.token) return user;
  return { ...user, authProvider: { name: 'tokenFile', config: { tokenFile: user.tokenFile } } };
}
