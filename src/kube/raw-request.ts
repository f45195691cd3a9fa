// One API call as plain JSON: every call the controller makes. client-node's typed APIs turn
// every object they receive into its model classes (ObjectSerializer walks every field of every
// object, managedFields included, and makes Date objects of timestamps), and importing them
// costs the process about 80 MiB; the controller reads a dozen fields of each pod and throws the
// rest away, and a patch's response is not read at all. Authentication and the connection pool
// are kube-auth.ts's. A failed call rejects with `statusCode` and `body` as client-node's
// ApiException carries them (request-options.ts reads both).
import { httpRequest } from './http.ts';
import { kubeAuth } from './kube-auth.ts';
import type { KubeConfigLike } from './kube-config.ts';

export interface RawCall {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs: number;
  /** Skip parsing the response (a write whose answer is not needed). */
  discardBody?: boolean;
}

export type RawRequest = <T = unknown>(method: 'GET' | 'PATCH' | 'POST' | 'PUT' | 'DELETE', path: string, call: RawCall) => Promise<T>;

export class KubeHttpError extends Error {
  constructor(readonly statusCode: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${statusCode}`);
  }
}

export function rawRequester(kc: KubeConfigLike): RawRequest {
  const auth = kubeAuth(kc);
  return async <T>(method: string, path: string, call: RawCall): Promise<T> => {
    const url = new URL(auth.server + path);
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const { headers: authHeaders, dispatcher } = await auth.authenticate(url.toString(), method);
    const headers: Record<string, string> = { ...authHeaders, accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = call.contentType ?? 'application/json';
    const res = await httpRequest(dispatcher, url, {
      method, headers, body: call.body === undefined ? undefined : JSON.stringify(call.body), signal: AbortSignal.timeout(call.timeoutMs),
    });
    if (res.statusCode >= 300) throw new KubeHttpError(res.statusCode, await res.body.text().catch(() => ''), `${method} ${path}`);
    if (call.discardBody) {
      // Read to the end (not cancelled), so the connection goes back to the pool.
      await res.body.dump({ limit: Infinity });
      return undefined as T;
    }
    return await res.body.json() as T;
  };
}
