// Per-call options for @kubernetes/client-node's typed APIs. The client has no default
// timeout (a hung API server would hang a reporter or a controller worker forever) and,
// without an explicit content type, sends patches as JSON Patch. Every dpready call goes
// through here to get a deadline and, for patches, the patch type it means.
import type { ConfigurationOptions, PatchStrategy, RequestContext, ResponseContext } from '@kubernetes/client-node';

/**
 * client-node's middleware returns its own Observable stub (a promise holder with toPromise and
 * pipe, gen/rxjsStub.js); this is the same few lines, so that the error helpers below (used by the
 * controller, which makes no typed calls) do not load client-node with it.
 */
class Observable<T> {
  constructor(private readonly promise: Promise<T>) {}
  toPromise(): Promise<T> { return this.promise; }
  pipe<S>(f: (v: T) => S | Promise<S>): Observable<S> { return new Observable(this.promise.then(f)); }
}

export interface CallOptions {
  timeoutMs: number;
  patch?: PatchStrategy;
}

/** Where callOptions leaves its deadline for callers that are not client-node (raw-apis.ts). */
export const CALL_TIMEOUT = Symbol.for('dpready.callTimeoutMs');

/** The deadline callOptions put in `opts`, else `fallback`. */
export function callTimeout(opts: unknown, fallback: number): number {
  const t = (opts as { [CALL_TIMEOUT]?: unknown } | undefined)?.[CALL_TIMEOUT];
  return typeof t === 'number' ? t : fallback;
}

export function callOptions({ timeoutMs, patch }: CallOptions): ConfigurationOptions {
  const opts: ConfigurationOptions & { [CALL_TIMEOUT]?: number } = {
    [CALL_TIMEOUT]: timeoutMs,
    // The object-parameter APIs run middleware on the client's own Observable stub.
    middleware: [{
      pre: (ctx: RequestContext) => {
        ctx.setSignal(AbortSignal.timeout(timeoutMs));
        if (patch) ctx.setHeaderParam('Content-Type', patch);
        return new Observable(Promise.resolve(ctx)) as never;
      },
      post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)) as never,
    }],
    middlewareMergeStrategy: 'append',
  };
  return opts;
}

/**
 * HTTP status of a failed client-node call (ApiException.code), if it got that far. Only
 * 100–599 counts: a timed-out call rejects with a DOMException whose legacy `code` is 23.
 */
export function httpStatus(err: unknown): number | undefined {
  const e = (err as { code?: unknown; statusCode?: unknown } | undefined);
  for (const c of [e?.code, e?.statusCode]) if (typeof c === 'number' && c >= 100 && c <= 599) return c;
  return undefined;
}

/** True when the call was cut off by its own deadline (callOptions' AbortSignal.timeout). */
export function isTimeout(err: unknown): boolean {
  const name = (err as { name?: unknown } | undefined)?.name;
  return name === 'TimeoutError' || (name === 'AbortError' && /timeout/i.test(String((err as Error).message)));
}

/** The `code` label of error metrics: the HTTP status, "timeout", or "0" (no response). */
export function errorLabel(err: unknown): string {
  const status = httpStatus(err);
  if (status !== undefined) return String(status);
  return isTimeout(err) ? 'timeout' : '0';
}

/** The Status object the API server sent with a failed call (client-node gives it parsed or as text). */
export function apiStatus(err: unknown): { reason?: string; message?: string; details?: { kind?: string; name?: string } } | undefined {
  const body = (err as { body?: unknown } | undefined)?.body;
  if (body && typeof body === 'object') return body as ReturnType<typeof apiStatus>;
  if (typeof body === 'string') {
    try { return JSON.parse(body) as ReturnType<typeof apiStatus>; } catch { return undefined; }
  }
  return undefined;
}

/**
 * A 404 that says the namespace itself does not exist ("namespaces \"x\" not found"), as opposed
 * to a 404 for a resource type the API server does not serve (a missing CRD).
 */
export function isNamespaceNotFound(err: unknown): boolean {
  return httpStatus(err) === 404 && apiStatus(err)?.details?.kind === 'namespaces';
}

/** A one-line description of a failed call: client-node's own messages carry whole header dumps. */
export function describeKubeError(err: unknown): string {
  const status = httpStatus(err);
  const body = (err as { body?: unknown } | undefined)?.body;
  let detail: string | undefined;
  if (typeof body === 'string') {
    try { detail = (JSON.parse(body) as { message?: string }).message ?? body; } catch { detail = body; }
  } else if (body && typeof body === 'object') {
    detail = (body as { message?: string }).message;
  }
  const text = detail ?? (err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));
  const line = text.replace(/\s+/g, ' ').trim().slice(0, 300);
  if (status !== undefined) return `HTTP ${status}: ${line}`;
  return isTimeout(err) ? `timeout: ${line}` : line;
}
