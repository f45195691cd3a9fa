// One watch request, read line by line. client-node's Watch keeps its inactivity timeout in a
// field its typings mark private (30 s, shorter than the API server's one-minute bookmarks);
// this is the same few lines of fetch with no timer at all: the reflector owns that, on its
// injected clock, so it is tested without sleeping.
import { httpRequest } from '../kube/http.ts';
import { kubeAuth } from '../kube/kube-auth.ts';
import type { KubeConfigLike } from '../kube/kube-config.ts';
import { KubeHttpError } from '../kube/raw-request.ts';
import type { WatchFn } from './reflector.ts';

export function kubeWatch(kc: KubeConfigLike): WatchFn {
  const auth = kubeAuth(kc);
  return async (path, params, onEvent, signal) => {
    const url = new URL(auth.server + path);
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    const { headers, dispatcher } = await auth.authenticate(url.toString(), 'GET');
    try {
      const res = await httpRequest(dispatcher, url, { method: 'GET', headers, signal });
      if (res.statusCode !== 200) {
        // The same error type as every other API call, so httpStatus() and describeKubeError() read it.
        const body = await res.body.text().catch(() => '');
        throw new KubeHttpError(res.statusCode, body, `watch ${path}`);
      }
      // Lines split by hand on the decoded text: a stream of a few thousand events a second
      // through readline (a Node stream adapter per watch, an event per line) cost more than
      // parsing them.
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
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
