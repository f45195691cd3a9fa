// Reading `nft monitor` as text, whole transactions at a time: the kernel closes each one with
// "# new generation N by process PID (comm)", which names the process that committed it (the
// JSON output has no such line). With the committer's pid, the commit's own instant comes from
// the kernel (commit-trace.ts) instead of from when this process got round to reading nft's
// lines, and no guess about where a transaction began is needed. Pure: lines in, transactions out.

/** One rule event of the text monitor: `add rule ip filter CHAIN ip saddr 10.244.0.7 … jump X`. */
export interface NftRuleLine {
  op: 'add' | 'insert' | 'delete';
  family: string;
  table: string;
  chain: string;
  /** The source address the rule matches (a /32 is printed as the bare address). */
  saddr?: string;
  /** The chain the rule jumps to, when it ends in a jump. */
  jump?: string;
}

export interface NftTransaction {
  generation: number;
  /** The committing process, as the kernel named it. */
  pid: number;
  comm: string;
  rules: NftRuleLine[];
  /** When this process read the transaction's first line and its closing line (wall ms). */
  firstLineAt: number;
  closedAt: number;
}

const RULE = /^(add|insert|delete) rule (\S+) (\S+) (\S+)(?: (.*))?$/;
const NEW_GENERATION = /^# new generation (\d+) by process (\d+) \((.*)\)$/;

export function parseRuleLine(line: string): NftRuleLine | undefined {
  const m = RULE.exec(line.trim());
  if (!m) return undefined;
  const rest = m[5] ?? '';
  const saddr = /\bip saddr (\S+)/.exec(rest)?.[1];
  const jump = /\bjump (\S+)/.exec(rest)?.[1];
  return { op: m[1] as NftRuleLine['op'], family: m[2]!, table: m[3]!, chain: m[4]!, ...(saddr ? { saddr } : {}), ...(jump ? { jump } : {}) };
}

/** Collects the monitor's lines into transactions as they arrive. */
export class NftTransactionLog {
  readonly transactions: NftTransaction[] = [];
  #rules: NftRuleLine[] = [];
  #firstLineAt: number | undefined;

  /** One line of `nft monitor`, read at `at` (wall ms). */
  push(line: string, at: number): void {
    const gen = NEW_GENERATION.exec(line.trim());
    if (gen) {
      this.transactions.push({ generation: Number(gen[1]), pid: Number(gen[2]), comm: gen[3]!, rules: this.#rules,
        firstLineAt: this.#firstLineAt ?? at, closedAt: at });
      this.#rules = [];
      this.#firstLineAt = undefined;
      return;
    }
    this.#firstLineAt ??= at;
    const rule = parseRuleLine(line);
    if (rule) this.#rules.push(rule);
  }
}

/** The first transaction, closed at or after `since` (wall ms), that inserted or added a rule matching `match`. */
export function firstTransaction(transactions: NftTransaction[], match: (rule: NftRuleLine) => boolean, since = 0): NftTransaction | undefined {
  return transactions.find((t) => t.closedAt >= since && t.rules.some((r) => (r.op === 'add' || r.op === 'insert') && match(r)));
}
