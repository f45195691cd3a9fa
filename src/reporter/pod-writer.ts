// The reporter's only I/O with the API server: read its own pod's annotations and merge-patch
// them. Every call has its own timeout (the existing reporter could hang forever on one), and
// failures are retried with capped exponential backoff and jitter, but never past a deadline.
import { DpreadyError } from '../errors.ts';
import type { AnnotationPatch } from './annotations.ts';
import type { Clock } from './clock.ts';
import { backoffDelay } from '../backoff.ts';

/** The two calls the reporter makes, as an interface so tests substitute a recording fake. */
export interface PodApi {
  getAnnotations(signal: AbortSignal): Promise<Record<string, string>>;
  patch(body: AnnotationPatch, signal: AbortSignal): Promise<void>;
}

export interface RetryOptions {
  clock: Clock;
  /** Monotonic instant after which no call starts and no backoff sleeps. */
  until: number;
  callTimeoutMs: number;
  /** First backoff, ms; doubles per failure up to capMs. */
  baseMs?: number;
  capMs?: number;
  /** [0,1); injected so tests see deterministic delays. */
  random?: () => number;
  onRetry?: (info: { what: string; attempt: number; delayMs: number; error: string }) => void;
}

/**
 * A failed call, already described and classified by the client that made it (kube-pod-api.ts,
 * controller-api.ts); `code` is the HTTP status when the server answered.
 */
export class PodApiError extends Error {
  /** retryAfterMs: the server's Retry-After (429 from the controller's report endpoint); the next try waits at least this. */
  constructor(message: string, readonly retryable: boolean, readonly code?: number, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** An error already classified by its client (PodApiError or one shaped like it). */
function isRelayed(err: unknown): err is Error & { retryable: boolean } {
  return err instanceof Error && typeof (err as { retryable?: unknown }).retryable === 'boolean';
}

/** HTTP status of a failed call, if the server answered at all. */
function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A short, readable cause: client-node's ApiException message embeds every header. */
export function describeApiError(err: unknown): string {
  if (isRelayed(err)) return err.message;
  const status = statusOf(err);
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    let message: unknown;
    try {
      message = typeof body === 'string' ? (JSON.parse(body) as { message?: unknown }).message : (body as { message?: unknown } | undefined)?.message;
    } catch {
      message = body;
    }
    return `HTTP ${status}${message ? `: ${String(message)}` : ''}`;
  }
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

/**
 * Worth another try: no answer (network error, timeout), throttling, conflicts and server
 * errors. A definite "no" (400, 401, 403 from RBAC or the admission policy, 404 pod gone,
 * 422 invalid) will not change by retrying and fails at once.
 */
export function isRetryable(err: unknown): boolean {
  if (isRelayed(err)) return err.retryable;
  const status = statusOf(err);
  if (status !== undefined) return status === 408 || status === 409 || status === 429 || status >= 500;
  if (err instanceof CallTimeout) return true;
  // undici reports network failures as TypeError('fetch failed') with the socket error as
  // cause; anything else without a status is a client-side problem (e.g. an unusable
  // kubeconfig) that a retry cannot fix.
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return err instanceof TypeError && err.message === 'fetch failed' || typeof cause?.code === 'string';
}

/** Our per-call timeout fired. */
export class CallTimeout extends Error {}

/** Runs `call` with a per-call timeout, retrying as above; throws DPR_API_FAILURE at the end. */
export async function withRetry<T>(what: string, call: (signal: AbortSignal) => Promise<T>, opts: RetryOptions): Promise<T> {
  const { clock } = opts;
  const backoff = { baseMs: opts.baseMs ?? 200, capMs: opts.capMs ?? 5_000, random: opts.random ?? Math.random };
  for (let attempt = 1; ; attempt++) {
    const timeout = Math.min(opts.callTimeoutMs, Math.max(1, opts.until - clock.now()));
    const ac = new AbortController();
    void clock.sleep(timeout, ac.signal).then(() => {
      if (!ac.signal.aborted) ac.abort(new CallTimeout(`no answer within ${Math.round(timeout)} ms`));
    });
    let error: unknown;
    try {
      return await call(ac.signal);
    } catch (err) {
      error = ac.signal.aborted ? ac.signal.reason : err;
    } finally {
      ac.abort();
    }
    const text = describeApiError(error);
    if (!isRetryable(error)) {
      throw new DpreadyError('DPR_API_FAILURE', `${what}: ${text} (not retried)`, { cause: error });
    }
    // The server's Retry-After (429) is a floor: coming back sooner only earns another 429.
    const delayMs = Math.max(backoffDelay(attempt, backoff), (error as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0);
    if (clock.now() + delayMs >= opts.until) {
      throw new DpreadyError('DPR_API_FAILURE', `${what}: ${text} (gave up after ${attempt} attempts at the deadline)`, { cause: error });
    }
    opts.onRetry?.({ what, attempt, delayMs, error: text });
    await clock.sleep(delayMs);
  }
}
