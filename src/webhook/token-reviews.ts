// Who is reporting, at a bounded cost: every report shows a bearer token, and without this each
// one would cost a TokenReview, so any pod could make the controller hammer the API server (and
// starve its own lease renewals and condition patches of the same event loop and connections)
// by sending garbage. Three bounds:
//   - results are cached by the token's SHA-256 (the token itself is never kept): an accepted
//     token until its own expiry (a reporter reports two or three times with the same token),
//     a refused one for a short while (a flood repeating one token costs one review);
//   - at most maxConcurrent reviews are in flight; beyond that the caller answers 429 with
//     Retry-After instead of queueing (the reporter honours it);
//   - the cache holds at most maxEntries (least recently used dropped first): a flood of distinct
//     fake tokens costs memory bounded by it.
// Pure apart from the injected review call and clock.
import { createHash } from 'node:crypto';
import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import { Lru } from 'toad-cache';
import { boundPodOf, type Identity } from './report.ts';

export interface TokenReviewerOptions {
  /** One TokenReview call; throws when the API server could not answer (not cached). */
  review: (token: string) => Promise<V1TokenReviewStatus | undefined>;
  audience: string;
  now: () => number;
  maxConcurrent?: number;
  /** How long a refused token stays refused without another review. */
  negativeTtlMs?: number;
  /** Upper bound on how long an accepted token is trusted without another review, whatever its exp. */
  maxPositiveTtlMs?: number;
  maxEntries?: number;
}

export type Review = { busy: true } | { busy: false; identity: Identity; cached: boolean };

interface Entry { identity: Identity; until: number }

export class TokenReviewer {
  private readonly cache: Lru<Entry>;
  private readonly inflight = new Map<string, Promise<Identity>>();
  private readonly o: Required<TokenReviewerOptions>;
  /** TokenReviews sent since start: the flood test reports it. */
  sent = 0;

  constructor(o: TokenReviewerOptions) {
    this.o = { maxConcurrent: 8, negativeTtlMs: 10_000, maxPositiveTtlMs: 10 * 60_000, maxEntries: 10_000, ...o };
    this.cache = new Lru<Entry>(this.o.maxEntries, 0);
  }

  async review(token: string): Promise<Review> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.cache.get(key);
    const now = this.o.now();
    if (hit && hit.until > now) return { busy: false, identity: hit.identity, cached: true };
    const pending = this.inflight.get(key);
    if (pending) return { busy: false, identity: await pending, cached: true };
    if (this.inflight.size >= this.o.maxConcurrent) return { busy: true };
    const p = this.reviewAndCache(key, token);
    this.inflight.set(key, p);
    try {
      return { busy: false, identity: await p, cached: false };
    } finally {
      this.inflight.delete(key);
    }
  }

  private async reviewAndCache(key: string, token: string): Promise<Identity> {
    this.sent++;
    const identity = boundPodOf(await this.o.review(token), this.o.audience);
    const now = this.o.now();
    const until = identity.ok ? Math.min(expiryOf(token) ?? Infinity, now + this.o.maxPositiveTtlMs) : now + this.o.negativeTtlMs;
    this.cache.set(key, { identity, until });
    return identity;
  }
}

/** exp of a JWT, ms; read only after the API server accepted the token, so not verified here. */
export function expiryOf(token: string): number | undefined {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
