// One watch request, read line by line. client-node's Watch keeps its inactivity timeout in a
// field its typings mark private (30 s, shorter than the API server's one-minute bookmarks);
// this is the same few lines of fetch with no timer at all: the reflector owns that, on its
// injected clock, so it is tested without sleeping.
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
      // Lines split by hand on the decoded text: a stream of a few thousand events a second
      // through readline (a Node stream adapter per watch, an event per line) cost more than
      // parsing them.
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let start = 0;
        let nl: number;
        while ((nl = buf.indexOf('\n', start)) >= 0) {
          emit(buf.slice(start, nl), onEvent);
          start = nl + 1;
        }
        buf = start ? buf.slice(start) : buf;
      }
      emit(buf + decoder.decode(), onEvent);
    } catch (err) {
      // Our own abort (stop, inactivity) ends the watch normally.
      if (signal.aborted) return;
      throw err;
    }
  };
}

function emit(line: string, onEvent: (type: string, obj: unknown) => void): void {
  if (!line.trim()) return;
  let event: { type?: string; object?: unknown };
  try { event = JSON.parse(line) as typeof event; } catch { return; }
  if (event.type) onEvent(event.type, event.object);
}
