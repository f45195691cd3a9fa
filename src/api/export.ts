// Per-pod records for analysis (`GET /api/v1/results?format=ndjson|csv`, `dpready stats --output
// csv|ndjson`): every result of a selection, one line each, produced in chunks so 100,000
// results stream without building one large string. Pure apart from reading the index.
import { PHASES } from './phases.ts';
import type { IndexedResult } from './result-index.ts';

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** One exported record. Latencies in ms (null when not measured), instants RFC3339 ('' when none). */
export interface ExportRecord {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  outcome: string;
  reason: string;
  createdAt: string;
  startTs: string;
  dpReadyTs: string;
  latStartMs: number | null;
  latDpReadyMs: number | null;
  /** The receive check's instant and latency ('' and null when the check was off or nothing arrived). */
  receiveTs: string;
  latReceiveMs: number | null;
  /** The policy check's instant and latency ('' and null when the pod had no deny targets or the policy was not seen in force). */
  policyEnforcedTs: string;
  latPolicyMs: number | null;
  /** Each phase of GET /api/v1/phases, ms (null when unknown), keyed by phase name. */
  phases: Record<string, number | null>;
  message: string;
  labels: Record<string, string>;
}

/**
 * The CSV columns, in order: the record's fields, each phase as its own column (`phase:<name>`),
 * then message and labels (one column, in selector form a=b,c=d).
 */
export const CSV_COLUMNS: readonly string[] = [
  'namespace', 'name', 'uid', 'nodeName', 'outcome', 'reason', 'createdAt', 'startTs', 'dpReadyTs', 'latStartMs', 'latDpReadyMs',
  'receiveTs', 'latReceiveMs', 'policyEnforcedTs', 'latPolicyMs', ...PHASES.map((p) => `phase:${p.name}`), 'message', 'labels',
];

function column(rec: ExportRecord, c: string): unknown {
  return c.startsWith('phase:') ? rec.phases[c.slice('phase:'.length)] : rec[c as keyof ExportRecord];
}

export function toRecord(r: IndexedResult): ExportRecord {
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  return {
    namespace: r.namespace, name: r.name, uid: r.uid, nodeName: r.nodeName, outcome: r.outcome, reason: r.reason,
    createdAt: r.createdAt, startTs: r.startTs, dpReadyTs: r.dpReadyTs,
    latStartMs: num(r.latStartMs), latDpReadyMs: num(r.latDpReadyMs),
    receiveTs: r.receiveTs, latReceiveMs: num(r.latReceiveMs),
    policyEnforcedTs: r.policyEnforcedTs, latPolicyMs: num(r.latPolicyMs),
    phases: Object.fromEntries(PHASES.map((p) => [p.name, num(p.value(r))])),
    message: r.message, labels: r.labels,
  };
}

/** RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object'
    ? Object.entries(v as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${k}=${x}`).join(',')
    : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function line(format: ExportFormat, rec: ExportRecord): string {
  return format === 'ndjson' ? `${JSON.stringify(rec)}\n` : `${CSV_COLUMNS.map((c) => csvField(column(rec, c))).join(',')}\r\n`;
}

const byName = (a: IndexedResult, b: IndexedResult): number =>
  (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);

/**
 * The selected results by namespace, name, uid, as text chunks of up to `chunk` records. The
 * selection and order are taken at the first read, so a stream is one consistent snapshot.
 */
export function* exportChunks(results: Iterable<IndexedResult>, match: ((r: IndexedResult) => boolean) | undefined,
  format: ExportFormat, chunk = 1000): Generator<string> {
  const picked: IndexedResult[] = [];
  for (const r of results) if (!match || match(r)) picked.push(r);
  picked.sort(byName);
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (let i = 0; i < picked.length; i += chunk) {
    let out = '';
    for (const r of picked.slice(i, i + chunk)) out += line(format, toRecord(r));
    yield out;
  }
}
