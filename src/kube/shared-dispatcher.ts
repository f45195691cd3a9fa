// client-node 2.x builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication
// → createDispatcher), so every API call opens a new connection: a TCP and TLS handshake with the
// client certificate, and a new TLS secure context parsed from the PEM files. Under a burst that
// was most of the controller's CPU and memory (docs/performance.md). This makes one KubeConfig
// reuse one Agent (keep-alive connections) for as long as its TLS options stay the same; when
// they change (a rotated client certificate), the next request gets a new Agent and the old one
// closes once its requests are done.
import type { KubeConfig } from '@kubernetes/client-node';

type Dispatcher = { close(): Promise<void> };
type CreateDispatcher = (cluster: unknown, agentOptions: object) => Dispatcher | undefined;
const SHARED = Symbol.for('dpready.sharedDispatcher');

/** Makes `kc` reuse its HTTP connections; idempotent. Returns kc. */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher; createDispatcherOptions(c: unknown, a: object): unknown; [SHARED]?: true };
  if (target[SHARED]) return kc;
  const original = target.createDispatcher;
  if (typeof original !== 'function') return kc; // a client-node without it: nothing to share
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = function (this: unknown, cluster: unknown, agentOptions: object) {
    const key = JSON.stringify(target.createDispatcherOptions(cluster, agentOptions));
    if (current?.key === key) return current.dispatcher;
    const old = current?.dispatcher;
    current = { key, dispatcher: original.call(kc, cluster, agentOptions) };
    void old?.close().catch(() => {});
    return current.dispatcher;
  };
  target[SHARED] = true;
  return kc;
}
