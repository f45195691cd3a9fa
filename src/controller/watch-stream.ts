// One watch request, read line by line. client-node's Watch keeps its inactivity timeout in a
// field its typings mark private (30 s, shorter than the API server's one-minute bookmarks);
// this is the same few lines of fetch with no timer at all: the reflector owns that, on its
// injected clock, so it is tested without sleeping.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { ApiException, HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import { DpreadyError } from '../errors.ts';
import type { WatchFn } from './reflector.ts';

export function kubeWatch(kc: KubeConfig): WatchFn {
  return async (path, params, onEvent, signal) => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new DpreadyError('DPR_BAD_CONFIG', 'no current cluster in kubeconfig');
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    try {
      const res = await fetch(url, { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() as Dispatcher | undefined, signal });
      if (res.status !== 200) {
        // The same error type as every other API call, so httpStatus() and describeKubeError() read it.
        const body = await res.text().catch(() => '');
        throw new ApiException(res.status, `watch ${path}: HTTP ${res.status}`, body, Object.fromEntries(res.headers));
      }
      if (!res.body) return;
      const lines = createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line) continue;
        let event: { type?: string; object?: unknown };
        try { event = JSON.parse(line) as typeof event; } catch { continue; }
        if (event.type) onEvent(event.type, event.object);
      }
    } catch (err) {
      // Our own abort (stop, inactivity) ends the watch normally.
      if (signal.aborted) return;
      throw err;
    }
  };
}
