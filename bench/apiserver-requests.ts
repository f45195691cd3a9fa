// kube-apiserver's own request counter, apiserver_request_total, scraped from /metrics and
// summed over response codes, keyed "VERB resource[/subresource]" (group prefixed when not core).
import type { Kube } from './kube.ts';

export type RequestCounts = Map<string, number>;

export const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION', 'APPLY']);
export const READ_VERBS = new Set(['GET', 'LIST', 'WATCH']);

export function parseRequestTotals(text: string): RequestCounts {
  const out: RequestCounts = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels: Record<string, string> = {};
    for (const m of line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    const value = Number(line.slice(close + 1).trim());
    const resource = `${labels.group ? `${labels.group}/` : ''}${labels.resource ?? ''}${labels.subresource ? `/${labels.subresource}` : ''}`;
    const key = `${labels.verb} ${resource}`;
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

export async function scrapeRequests(kube: Kube): Promise<RequestCounts> {
  return parseRequestTotals(await kube.text('/metrics'));
}

export function diff(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}
