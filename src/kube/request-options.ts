// Per-call options for @kubernetes/client-node's typed APIs. The client has no default
// timeout (a hung API server would hang a reporter or a controller worker forever) and,
// without an explicit content type, sends patches as JSON Patch. Every dpready call goes
// through here to get a deadline and, for patches, the patch type it means.
import type { ConfigurationOptions, PatchStrategy, RequestContext, ResponseContext } from '@kubernetes/client-node';

export interface CallOptions {
  timeoutMs: number;
  patch?: PatchStrategy;
}

export function callOptions({ timeoutMs, patch }: CallOptions): ConfigurationOptions {
  return {
    middleware: [{
      pre: async (ctx: RequestContext) => {
        ctx.setSignal(AbortSignal.timeout(timeoutMs));
        if (patch) ctx.setHeaderParam('Content-Type', patch);
        return ctx;
      },
      post: async (rsp: ResponseContext) => rsp,
    }],
    middlewareMergeStrategy: 'append',
  } as unknown as ConfigurationOptions;
}

/** HTTP status of a failed client-node call (ApiException.code), if it got that far. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown } | undefined);
  if (typeof code?.code === 'number') return code.code;
  if (typeof code?.statusCode === 'number') return code.statusCode;
  return undefined;
}
