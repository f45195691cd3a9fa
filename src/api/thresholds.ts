// `dpready stats --threshold EXPR`: conditions on the stats API's answers that gate a CI run, as
// kube-burner's thresholds and ClusterLoader2's SLO checks do. Pure: parsing and evaluation
// only; the command fetches the answers and sets the exit code.
//
//   time-to-datapath-ready.p99<5s     a latency statistic of a time route (or of a phase)
//   failed==0                         a shorthand (see SHORTHANDS)
//   pod-health.successPct>=99.5       a pod-health figure
import { DpreadyError } from '../errors.ts';
import { parseDuration, formatDuration } from '../durations.ts';
import { METRICS } from './result-index.ts';

export const OPERATORS = ['<=', '>=', '==', '!=', '<', '>'] as const;
export type Operator = (typeof OPERATORS)[number];

type Kind = 'latency' | 'count' | 'percent';

/** Statistics of a time route (and of a phase): latencies in ms, and counts. */
const TIME_STATS: Record<string, Kind> = {
  p50: 'latency', p90: 'latency', p95: 'latency', p99: 'latency', min: 'latency', max: 'latency', mean: 'latency',
  count: 'count', totalSuccessful: 'count', totalFailed: 'count', pending: 'count', timedOut: 'count',
};
const HEALTH_STATS: Record<string, Kind> = {
  desiredReplicas: 'count', runningPods: 'count', pendingPods: 'count', failedPods: 'count', succeededPods: 'count',
  desired: 'count', running: 'count', pending: 'count', failed: 'count', succeeded: 'count',
  successPct: 'percent', datapathSuccessPct: 'percent',
};
/** Every time route is a source. */
export const TIME_SOURCES: readonly string[] = METRICS;
export const HEALTH_SOURCE = 'pod-health';

/** Bare names, each standing for one figure: what a CI gate asks most. */
export const SHORTHANDS: Record<string, { source: string; stat: string }> = {
  /** Pods whose datapath did not succeed (reporter failure, timeout, pod gone first). */
  failed: { source: 'time-to-datapath-ready', stat: 'totalFailed' },
  timedOut: { source: 'time-to-datapath-ready', stat: 'timedOut' },
  /** Tracked pods with no result yet: a run that has not finished. */
  pending: { source: 'time-to-datapath-ready', stat: 'pending' },
  count: { source: 'time-to-datapath-ready', stat: 'count' },
  successPct: { source: HEALTH_SOURCE, stat: 'successPct' },
};

export interface Threshold {
  /** As the user wrote it, for messages. */
  text: string;
  /** 'time-to-start', 'time-to-datapath-ready', 'pod-health', or 'phase:<name>' for a phase. */
  source: string;
  stat: string;
  kind: Kind;
  op: Operator;
  /** ms for latencies, a count, or a percentage. */
  value: number;
}

const SYNTAX = 'expected SOURCE.STAT OP VALUE or SHORTHAND OP VALUE, e.g. time-to-datapath-ready.p99<5s, failed==0, pod-health.successPct>=99';

function bad(text: string, why: string): never {
  throw new DpreadyError('DPR_BAD_THRESHOLD', `--threshold=${JSON.stringify(text)}: ${why}`);
}

/**
 * Parses one --threshold. `phases` lists the phase names a `phase.<name>.<stat>` source may use
 * (empty: phases are not offered). Throws DPR_BAD_THRESHOLD (exit 2) naming what is wrong.
 */
export function parseThreshold(text: string, phases: readonly string[] = []): Threshold {
  const m = /^\s*([A-Za-z][\w.-]*?)\s*(<=|>=|==|!=|<|>)\s*(\S+?)\s*$/.exec(text);
  if (!m) bad(text, SYNTAX);
  const [, subject, op, raw] = m as unknown as [string, string, Operator, string];

  let source: string, stat: string;
  const dot = subject.lastIndexOf('.');
  if (dot < 0) {
    const s = SHORTHANDS[subject];
    if (!s) bad(text, `unknown name ${JSON.stringify(subject)}; shorthands are ${Object.keys(SHORTHANDS).join(', ')}, else ${SYNTAX}`);
    ({ source, stat } = s);
  } else {
    source = subject.slice(0, dot);
    stat = subject.slice(dot + 1);
    if (source.startsWith('phase.')) {
      const name = source.slice('phase.'.length);
      if (!phases.includes(name)) bad(text, `unknown phase ${JSON.stringify(name)}; phases are ${phases.join(', ') || '(none)'}`);
      source = `phase:${name}`;
    } else if (source !== HEALTH_SOURCE && !TIME_SOURCES.includes(source)) {
      bad(text, `unknown source ${JSON.stringify(source)}; expected ${[...TIME_SOURCES, HEALTH_SOURCE, ...(phases.length ? ['phase.<name>'] : [])].join(', ')}`);
    }
  }
  const table = source === HEALTH_SOURCE ? HEALTH_STATS : TIME_STATS;
  const kind = Object.hasOwn(table, stat) ? table[stat]! : undefined;
  if (!kind) bad(text, `${source.replace(/^phase:/, 'phase.')} has no ${JSON.stringify(stat)}; expected one of ${Object.keys(table).join(', ')}`);
  return { text: text.trim(), source, stat, kind, op, value: parseValue(text, kind, raw) };
}

function parseValue(text: string, kind: Kind, raw: string): number {
  const plain = /^-?\d+(?:\.\d+)?$/;
  if (kind === 'latency') {
    if (plain.test(raw)) return Number(raw); // bare number: ms, like every latency the API returns
    try {
      return parseDuration(raw, { name: '--threshold', code: 'DPR_BAD_THRESHOLD' });
    } catch {
      bad(text, `${JSON.stringify(raw)} is not a latency; expected milliseconds (250) or a duration (250ms, 5s, 1m30s)`);
    }
  }
  if (kind === 'percent') {
    const v = raw.endsWith('%') ? raw.slice(0, -1) : raw;
    if (!plain.test(v)) bad(text, `${JSON.stringify(raw)} is not a percentage; expected a number such as 99.5 or 99.5%`);
    return Number(v);
  }
  if (!/^\d+$/.test(raw)) bad(text, `${JSON.stringify(raw)} is not a count; expected a whole number`);
  return Number(raw);
}

/** The figures thresholds are checked against: source -> stat -> value. */
export type Figures = Record<string, Record<string, unknown>>;

export interface Verdict {
  threshold: Threshold;
  /** The figure, or undefined when the source was not fetched or had no such field. */
  actual: number | undefined;
  ok: boolean;
  /** e.g. "time-to-datapath-ready.p99 = 6.2s, not < 5s". */
  message: string;
}

const COMPARE: Record<Operator, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b,
  '==': (a, b) => a === b, '!=': (a, b) => a !== b,
};

function show(t: Threshold, v: number): string {
  if (t.kind === 'latency') return formatDuration(v);
  if (t.kind === 'percent') return `${v}%`;
  return String(v);
}

/**
 * Checks each threshold. A latency threshold on a sample with no data (count 0) is a breach:
 * "p99 < 5s" must not pass because nothing was measured.
 */
export function evaluate(thresholds: readonly Threshold[], figures: Figures): Verdict[] {
  return thresholds.map((t) => {
    const name = `${t.source.replace(/^phase:/, 'phase.')}.${t.stat}`;
    const src = figures[t.source];
    const raw = src?.[t.stat];
    if (typeof raw !== 'number') return { threshold: t, actual: undefined, ok: false, message: `${t.text}: ${name} is not available` };
    if (t.kind === 'latency' && src!.count === 0) {
      return { threshold: t, actual: raw, ok: false, message: `${t.text}: ${name} has no data (count 0)` };
    }
    const ok = COMPARE[t.op](raw, t.value);
    return { threshold: t, actual: raw, ok, message: `${t.text}: ${name} = ${show(t, raw)}${ok ? '' : `, not ${t.op} ${show(t, t.value)}`}` };
  });
}
