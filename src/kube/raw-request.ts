// One API call as plain JSON, for the controller's hot paths: the pod list and the condition
// patch. client-node's typed APIs turn every pod they receive into its model classes
// (ObjectSerializer walks every field of every object, managedFields included, and makes Date
// objects of timestamps); the controller reads a dozen fields of each pod and throws the rest
// away, and a patch's response is not read at all. Authentication and the connection pool are
// client-node's own (applySecurityAuthentication, shared-dispatcher.ts). A failed call rejects
// with `statusCode` and `body` as client-node's ApiException carries them (request-options.ts
// reads both).
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import { DpreadyError } from '../errors.ts';

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

export function rawRequester(kc: KubeConfig): RawRequest {
  return async <T>(method: string, path: string, call: RawCall): Promise<T> => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new DpreadyError('DPR_BAD_CONFIG', 'no current cluster in kubeconfig');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), method as HttpMethod);
    await kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = call.contentType ?? 'application/json';
    const res = await fetch(url, {
      method, headers, body: call.body === undefined ? undefined : JSON.stringify(call.body),
      dispatcher: ctx.getDispatcher() as Dispatcher | undefined, signal: AbortSignal.timeout(call.timeoutMs),
    });
    if (res.status >= 300) throw new KubeHttpError(res.status, await res.text().catch(() => ''), `${method} ${path}`);
    if (call.discardBody) {
      // Read to the end (not cancelled), so the connection goes back to the pool.
      await res.arrayBuffer();
      return undefined as T;
    }
    return await res.json() as T;
  };
}
