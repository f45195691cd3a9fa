// client-node 2.x builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication
// → createDispatcher), so every API call opens a new connection: a TCP and TLS handshake with the
// client certificate, and a new TLS secure context parsed from the PEM files. Under a burst that
// was most of the controller's CPU and memory (docs/performance.md). This makes one KubeConfig
// reuse one Agent (keep-alive connections, HTTP/2 when the server offers it) for as long as its
// TLS options stay the same; when they change (a rotated client certificate), the next request
// gets a new Agent and the old one closes once its requests are done.
import type { KubeConfig } from '@kubernetes/client-node';

type Dispatcher = { close(): Promise<void> };
type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher | undefined;
const SHARED = Symbol.for('dpready.sharedDispatcher');
/** The options that shape a connection (client-node's createDispatcherOptions reads these). */
const KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function same(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

/** Makes `kc` reuse its HTTP connections; idempotent. Returns kc. */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher; [SHARED]?: true };
  if (target[SHARED]) return kc;
  const original = target.createDispatcher;
  if (typeof original !== 'function') return kc; // a client-node without it: nothing to share
  let current: { cluster: unknown; server?: string; proxy?: string; options: Record<string, unknown>; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = function (cluster: unknown, agentOptions: Record<string, unknown>) {
    const c = cluster as { server?: string; proxyUrl?: string } | null;
    // Compared field by field (certificates with Buffer.equals): cheap next to a request.
    if (current && current.server === c?.server && current.proxy === c?.proxyUrl && KEYS.every((k) => same(current!.options[k], agentOptions[k]))) {
      return current.dispatcher;
    }
    const old = current?.dispatcher;
    current = { cluster, server: c?.server, proxy: c?.proxyUrl, options: { ...agentOptions }, dispatcher: original.call(kc, cluster, agentOptions) };
    void old?.close().catch(() => {});
    return current.dispatcher;
  };
  target[SHARED] = true;
  return kc;
}
