// Go-style durations ("500ms", "2m", "1h30m", "1.5s"), the form Kubernetes users already
// type into flags. A bare number is read in the unit the caller names, which keeps the
// existing reporter's PROBE_TIMEOUT=60 (seconds) working unchanged.
import { DpreadyError, type ErrorCode } from './errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
const BARE_NUMBER = /^\d+(?:\.\d+)?$/;

export interface ParseDurationOptions {
  /** Unit of a bare number such as "60"; without it a bare number is an error. */
  bareUnit?: 's' | 'ms';
  /** Names the setting in the error, e.g. "PROBE_TIMEOUT" or "--datapath-timeout". */
  name: string;
  code?: ErrorCode;
}

/** Milliseconds in `text`, or a DpreadyError naming the setting, the value and the expected form. */
export function parseDuration(text: string, opts: ParseDurationOptions): number {
  const value = text.trim();
  const fail = (why: string): never => {
    const bare = opts.bareUnit ? `a number of ${opts.bareUnit === 's' ? 'seconds' : 'milliseconds'} or ` : '';
    throw new DpreadyError(opts.code ?? 'DPR_BAD_DURATION',
      `${opts.name}=${JSON.stringify(text)}: ${why}; expected ${bare}a duration such as 500ms, 30s, 2m or 1h30m`);
  };
  if (value === '') fail('empty');
  if (BARE_NUMBER.test(value)) {
    if (!opts.bareUnit) fail('a bare number has no unit');
    return Number(value) * UNIT_MS[opts.bareUnit!]!;
  }
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < value.length) {
    const at = PART.lastIndex;
    const m = PART.exec(value);
    if (!m) fail(`cannot read ${JSON.stringify(value.slice(at))}`);
    total += Number(m![1]) * UNIT_MS[m![2]!]!;
  }
  if (!Number.isFinite(total)) fail('too large');
  return total;
}

/** Formats ms the way parseDuration reads it, for logs and messages. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(3)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1_000);
  return s ? `${m}m${s}s` : `${m}m`;
}
