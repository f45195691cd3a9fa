// Reading `nft -j monitor rules`: one JSON object a line, each an insert, add or delete of one
// rule, with the rule's handle. The real-node benchmark takes the instant the kernel deleted
// its DROP rule as the truth of "datapath ready", so the delete must be the one of that rule
// (matched by its handle, not by any "delete rule" text) and must come after the removal
// started (an earlier event is someone else's change). Pure: lines in, events out.

export interface NftRuleEvent {
  op: 'insert' | 'add' | 'delete';
  family: string;
  table: string;
  chain: string;
  handle: number;
  /** The destination the rule matches (an address, or address/len), when it matches one. */
  daddr?: string;
  /** The TCP destination port the rule matches, when it matches one. */
  dport?: number;
}

interface JsonMatch { match?: { left?: { payload?: { protocol?: string; field?: string } }; right?: unknown } }

function daddrOf(right: unknown): string | undefined {
  if (typeof right === 'string') return right;
  const p = (right as { prefix?: { addr?: unknown; len?: unknown } } | null)?.prefix;
  return p && typeof p.addr === 'string' && typeof p.len === 'number' ? `${p.addr}/${p.len}` : undefined;
}

/** One line of `nft -j monitor rules`; undefined for anything that is not a rule event. */
export function parseNftRuleEvent(line: string): NftRuleEvent | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object') return undefined;
  for (const op of ['insert', 'add', 'delete'] as const) {
    const rule = (doc as Record<string, { rule?: Record<string, unknown> } | undefined>)[op]?.rule;
    if (!rule || typeof rule.handle !== 'number') continue;
    const ev: NftRuleEvent = { op, family: String(rule.family), table: String(rule.table), chain: String(rule.chain), handle: rule.handle };
    for (const e of (Array.isArray(rule.expr) ? rule.expr : []) as JsonMatch[]) {
      const payload = e.match?.left?.payload;
      if (payload?.protocol === 'ip' && payload.field === 'daddr') ev.daddr = daddrOf(e.match!.right);
      if (payload?.protocol === 'tcp' && payload.field === 'dport' && typeof e.match!.right === 'number') ev.dport = e.match!.right;
    }
    return ev;
  }
  return undefined;
}

/** Where a rule lives in the ruleset (iptables-nft's FORWARD of the ip filter table). */
export interface NftRuleId { family: string; table: string; chain: string; handle: number }

/** The handle of the rule just inserted for `daddr:dport` in `chain`, from the events seen while inserting it. */
export function insertedHandle(events: NftRuleEvent[], chain: string, daddr: string, dport: number): NftRuleId | undefined {
  const want = daddr.includes('/') && daddr.endsWith('/32') ? daddr.slice(0, -3) : daddr;
  const hits = events.filter((e) => (e.op === 'insert' || e.op === 'add') && e.family === 'ip' && e.table === 'filter'
    && e.chain === chain && e.daddr === want && e.dport === dport);
  // Two matching inserts at once would leave us unable to tell ours: no handle, no truth.
  return hits.length === 1 ? { family: 'ip', table: 'filter', chain, handle: hits[0]!.handle } : undefined;
}

/**
 * The instant the rule's delete was seen: the first delete of exactly this rule (family,
 * table, chain, handle) seen at or after `removalStartedAt`. Deletes seen before the removal
 * started are not of our removal and are rejected.
 */
export function deletedAt(seen: Array<{ at: number; event: NftRuleEvent }>, rule: NftRuleId, removalStartedAt: number): number | undefined {
  return seen.find(({ at, event: e }) => at >= removalStartedAt && e.op === 'delete' && e.handle === rule.handle
    && e.family === rule.family && e.table === rule.table && e.chain === rule.chain)?.at;
}
