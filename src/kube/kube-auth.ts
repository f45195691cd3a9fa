// Authentication and the connection pool for every API call of one kubeconfig: the headers and
// the undici dispatcher a request needs. One Agent per config (keep-alive connections, one TLS
// handshake), rebuilt only when the TLS material changes (a rotated client certificate).
//
// Certificates, bearer tokens (a token file is re-read, as the kubelet rotates it), basic auth
// and the in-cluster account are handled here, without @kubernetes/client-node. A user with an
// exec credential plugin or another auth provider (oidc, azure, gcp) is client-node's: it is
// imported for that user only, the first time a request needs it, and its own
// applySecurityAuthentication runs the plugin (and caches the credential until it expires).
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from './http.ts';
import { clientNodeUser, type KubeCluster, type KubeConfigLike, type KubeUser } from './kube-config.ts';
import { DpreadyError } from '../errors.ts';

export interface KubeAuth {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** Headers and dispatcher (connection pool) for one request to `url`. */
  authenticate(url: string, method: string): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }>;
}

/** Files are read again after this long: tokens and certificates are rotated on disk. */
const REREAD_MS = 60_000;

const cache = new WeakMap<object, KubeAuth>();

/** The KubeAuth of `kc`, one per config object (so its calls and watches share one pool). */
export function kubeAuth(kc: KubeConfigLike): KubeAuth {
  let auth = cache.get(kc);
  if (!auth) {
    auth = makeAuth(kc);
    cache.set(kc, auth);
  }
  return auth;
}

/** Whether this user's credentials need client-node (an exec plugin or an auth provider other than a token file). */
export function needsClientNode(user: KubeUser | null, cluster: KubeCluster | null): boolean {
  if (cluster?.proxyUrl) return true;
  if (!user) return false;
  if (user.exec) return true;
  return !!user.authProvider && !(user.authProvider.name === 'tokenFile' && user.authProvider.config?.tokenFile);
}

function makeAuth(kc: KubeConfigLike): KubeAuth {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new DpreadyError('DPR_BAD_CONFIG', 'no current cluster in kubeconfig');
  const user = kc.getCurrentUser();
  const server = cluster.server.replace(/\/$/, '');
  return needsClientNode(user, cluster) ? clientNodeAuth(kc, cluster, user!, server) : directAuth(cluster, user, server);
}

function directAuth(cluster: KubeCluster, user: KubeUser | null, server: string): KubeAuth {
  const tokenFile = user?.tokenFile ?? (user?.authProvider?.name === 'tokenFile' ? user.authProvider.config?.tokenFile : undefined);
  let read = { at: -Infinity, token: undefined as string | undefined, tls: undefined as TlsMaterial | undefined };
  let pool: { key: string; agent: Agent } | undefined;
  const refresh = () => {
    const now = performance.now();
    if (now - read.at < REREAD_MS) return;
    read = { at: now, token: tokenFile ? readFileSync(tokenFile, 'utf8').trim() : user?.token, tls: tlsMaterial(cluster, user) };
    const key = JSON.stringify(read.tls);
    if (pool?.key === key) return;
    const old = pool?.agent;
    pool = { key, agent: new Agent({ connect: read.tls! }) };
    void old?.close().catch(() => {});
  };
  return {
    server,
    authenticate: async () => {
      refresh();
      const headers: Record<string, string> = {};
      if (read.token) headers.authorization = `Bearer ${read.token}`;
      else if (user?.username) headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
      if (user?.impersonateUser) headers['impersonate-user'] = user.impersonateUser;
      return { headers, dispatcher: pool!.agent };
    },
  };
}

interface TlsMaterial { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string }

function tlsMaterial(cluster: KubeCluster, user: KubeUser | null): TlsMaterial {
  const pem = (data: string | null | undefined, file: string | null | undefined) =>
    data ? Buffer.from(data, 'base64').toString('utf8') : file ? readFileSync(file, 'utf8') : undefined;
  const t: TlsMaterial = {};
  const ca = pem(cluster.caData, cluster.caFile);
  const cert = pem(user?.certData, user?.certFile);
  const key = pem(user?.keyData, user?.keyFile);
  if (ca) t.ca = ca;
  if (cert) t.cert = cert;
  if (key) t.key = key;
  if (cluster.skipTLSVerify) t.rejectUnauthorized = false;
  if (cluster.tlsServerName) t.servername = cluster.tlsServerName;
  return t;
}

/** An exec plugin or auth provider: client-node runs it, loaded now and only for this. */
function clientNodeAuth(kc: KubeConfigLike, cluster: KubeCluster, user: KubeUser, server: string): KubeAuth {
  let loaded: Promise<{ apply(url: string, method: string): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }> }> | undefined;
  // client-node gives no dispatcher for a plain-http server: then this pool is used.
  let plain: Agent | undefined;
  const load = async () => {
    const k8s = await import('@kubernetes/client-node');
    const { shareConnections } = await import('./shared-dispatcher.ts');
    // A client-node KubeConfig is used as it is; ours becomes one with the same cluster and user.
    let ckc: InstanceType<typeof k8s.KubeConfig>;
    if (kc instanceof k8s.KubeConfig) ckc = kc;
    else {
      ckc = new k8s.KubeConfig();
      ckc.loadFromClusterAndUser(cluster as never, clientNodeUser(user) as never);
    }
    shareConnections(ckc);
    return {
      apply: async (url: string, method: string) => {
        const ctx = new k8s.RequestContext(url, method as never);
        await ckc.applySecurityAuthentication(ctx);
        return { headers: ctx.getHeaders(), dispatcher: (ctx.getDispatcher() as Dispatcher | undefined) ?? (plain ??= new Agent()) };
      },
    };
  };
  return {
    server,
    authenticate: async (url, method) => {
      loaded ??= load();
      return (await loaded).apply(url, method);
    },
  };
}
