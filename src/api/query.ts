// Query parameters of the data routes, as zod schemas: fastify validates with them, the
// OpenAPI document is generated from them, and each problem names its parameter. Unknown
// parameters are rejected (the existing system silently ignored typos such as `labelselector`).
import { z } from 'zod';
import { Outcome, Rfc3339 } from '../contract.ts';
import { EXPORT_FORMATS } from './export.ts';
import { isDpreadyError } from '../errors.ts';
import { parseDuration } from '../durations.ts';
import { parseSelector } from '../labels/selector.ts';
import type { Filters } from './filters.ts';

export const TOP_N_DEFAULT = 10;
export const TOP_N_MAX = 1000;

const NAMESPACE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

function topN(dflt: number, what: string) {
  return z.string().optional()
  .transform((s, ctx) => {
    if (s === undefined) return dflt;
    // Digits only: "-1", "1e3", " 5" and "0x10" are refused rather than coerced.
    if (!/^\d{1,7}$/.test(s) || Number(s) > TOP_N_MAX) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from 0 to ${TOP_N_MAX}, got ${show(s)}` });
      return z.NEVER;
    }
    return Number(s);
  })
  .meta({ description: `${what}, 0..${TOP_N_MAX}; default ${dflt}.` });
}

const namespace = z.string().optional()
  .refine((s) => s === undefined || (s.length <= 63 && NAMESPACE.test(s)), {
    message: 'must be a namespace name (lower-case alphanumerics and "-", at most 63 characters)',
  })
  .meta({ description: 'Only pods in this namespace.' });

const labelSelector = z.string().optional()
  .transform((s, ctx) => {
    if (s === undefined || s.trim() === '') return undefined;
    try {
      return parseSelector(s, 'labelSelector');
    } catch (err) {
      if (!isDpreadyError(err, 'DPR_BAD_SELECTOR')) throw err;
      ctx.addIssue({ code: 'custom', message: err.message.replace(/^labelSelector: /, '') });
      return z.NEVER;
    }
  })
  .meta({ description: 'Kubernetes label selector, full syntax: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a, a>1, a<9; comma means AND.' });

const outcome = Outcome.optional().meta({ description: 'Only results with this outcome (pods without a result never match).' });

/** RFC3339, or a Go duration meaning that long before now. */
function instant(name: 'since' | 'until', now: () => number) {
  return z.string().optional()
    .transform((s, ctx) => {
      if (s === undefined) return undefined;
      if (Rfc3339.safeParse(s).success) return Date.parse(s);
      try {
        return now() - parseDuration(s, { name });
      } catch (err) {
        if (!isDpreadyError(err, 'DPR_BAD_DURATION')) throw err;
        ctx.addIssue({ code: 'custom', message: `must be an RFC3339 time such as 2025-01-31T12:00:00Z or a duration before now such as 30m or 1h30m, got ${show(s)}` });
        return z.NEVER;
      }
    })
    .meta({ description: `${name === 'since' ? 'Pods created at or after' : 'Pods created before'} this instant: RFC3339, or a duration meaning that long ago (30m, 1h, 2h30m).` });
}

function filterShape(now: () => number) {
  return { namespace, labelSelector, since: instant('since', now), until: instant('until', now), outcome };
}

function checkWindow(q: { since?: number; until?: number }, ctx: z.RefinementCtx): void {
  if (q.since !== undefined && q.until !== undefined && q.since >= q.until) {
    ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be later than since' });
  }
}

/** Query of the time routes. `now` is injected so "since=1h" is testable. */
export function timeQuery(now: () => number) {
  return z.strictObject({ topN: topN(TOP_N_DEFAULT, 'How many worst pods to list'), ...filterShape(now) }).superRefine(checkWindow);
}

/**
 * Query of /api/v1/pod-health: the same filters, and topN bounding each pod list (the existing
 * system's pipelines send topN here too). Without it the lists hold up to TOP_N_MAX pods.
 */
export function podHealthQuery(now: () => number) {
  return z.strictObject({ topN: topN(TOP_N_MAX, 'How many pods each list holds at most'), ...filterShape(now) }).superRefine(checkWindow);
}

/** Query of /api/v1/results: the same filters and the export format. */
export function resultsQuery(now: () => number) {
  const format = z.enum(EXPORT_FORMATS).default('ndjson').meta({ description: 'ndjson (one JSON object per line, default) or csv (RFC 4180, a header line)' });
  return z.strictObject({ format, ...filterShape(now) }).superRefine(checkWindow);
}

export function toFilters(q: { namespace?: string; labelSelector?: Filters['selector']; since?: number; until?: number; outcome?: Filters['outcome'] }): Filters {
  return { namespace: q.namespace, selector: q.labelSelector, sinceMs: q.since, untilMs: q.until, outcome: q.outcome };
}

export interface QueryProblem {
  parameter: string;
  problem: string;
}

/** zod issues -> one problem per parameter, in a form a person can read in a 400 body. */
export function queryProblems(issues: readonly { path?: readonly PropertyKey[]; instancePath?: string; message: string; keyword?: string; params?: Record<string, unknown> }[]): QueryProblem[] {
  const out: QueryProblem[] = [];
  for (const issue of issues) {
    const keys = issue.params?.keys;
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      for (const k of keys) out.push({ parameter: String(k), problem: 'unknown parameter' });
      continue;
    }
    const parameter = issue.path?.length ? String(issue.path[0]) : (issue.instancePath ?? '').replace(/^\//, '').split('/')[0] || 'query';
    out.push({ parameter, problem: issue.message });
  }
  return out;
}

function show(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}
