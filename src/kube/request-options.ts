// Per-call options for @kubernetes/client-node's typed APIs. The client has no default
// timeout (a hung API server would hang a reporter or a controller worker forever) and,
// without an explicit content type, sends patches as JSON Patch. Every dpready call goes
// through here to get a deadline and, for patches, the patch type it means.
import { Observable, type ConfigurationOptions, type PatchStrategy, type RequestContext, type ResponseContext } from '@kubernetes/client-node';

export interface CallOptions {
  timeoutMs: number;
  patch?: PatchStrategy;
}

export function callOptions({ timeoutMs, patch }: CallOptions): ConfigurationOptions {
  return {
    // The object-parameter APIs run middleware on the client's own Observable stub.
    middleware: [{
      pre: (ctx: RequestContext) => {
        ctx.setSignal(AbortSignal.timeout(timeoutMs));
        if (patch) ctx.setHeaderParam('Content-Type', patch);
        return new Observable(Promise.resolve(ctx));
      },
      post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
    }],
    middlewareMergeStrategy: 'append',
  };
}

/** HTTP status of a failed client-node call (ApiException.code), if it got that far. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown } | undefined);
  if (typeof code?.code === 'number') return code.code;
  if (typeof code?.statusCode === 'number') return code.statusCode;
  return undefined;
}
