// Sharding by namespace (docs/scaling.md): with --shards N, replica set i handles the pods of the
// namespaces whose hash is i mod N, and elects its leader on a Lease of its own. Every pod of a
// namespace lands in one shard, so a pod is handled by exactly one leader; results of all shards
// go to the one results namespace, so each shard's stats API answers for the whole cluster.
// FNV-1a (32 bit): stable across processes and versions, unlike anything seeded.

export interface Shard { count: number; index: number }

export function namespaceHash(namespace: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < namespace.length; i++) {
    h ^= namespace.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function shardOf(namespace: string, count: number): number {
  return namespaceHash(namespace) % count;
}

/** A predicate on a pod's namespace; undefined when there is one shard (every pod is ours). */
export function shardFilter(shard: Shard | undefined): ((namespace: string) => boolean) | undefined {
  if (!shard || shard.count <= 1) return undefined;
  const memo = new Map<string, boolean>();
  return (ns) => {
    let mine = memo.get(ns);
    if (mine === undefined) { mine = shardOf(ns, shard.count) === shard.index; memo.set(ns, mine); }
    return mine;
  };
}
