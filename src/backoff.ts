// Capped exponential backoff with jitter, shared by every retry loop in dpready (reporter API
// calls, controller work queue, list/watch restarts). The delay after the n-th consecutive
// failure is drawn from [d/2, d) with d = min(cap, base·2^(n-1)): never zero (no hot loop), and
// spread out, so a thousand pods or replicas that failed together do not retry together.
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export function backoffDelay(failures: number, opts: BackoffOptions): number {
  const d = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
  return d / 2 + (d / 2) * (opts.random ?? Math.random)();
}
