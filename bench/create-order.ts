// The order in which the realnode part creates its pods (one every CREATE_INTERVAL_MS): the
// reporters of several groups (modes) and the bare-Node baseline pods they are compared with.
// The node's load grows as pods pile up (each running reporter probes a broken path up to
// 50 times a second), so a pod created late starts under more load than one created early. A
// comparison of p50s is fair only if every group, and the baselines, are spread over the
// whole sequence alike.

/** One slot of the sequence: the `index`-th pod of group `group`, or the `index`-th baseline. */
export type Slot = { group: number; index: number } | { baseline: true; index: number };

/**
 * Each group's pods spread evenly over the sequence (pod j of a group of n at the fraction
 * (j + ½)/n, ties in group order), and a baseline after every `baselineEvery` reporter pods.
 * Taking the groups in turn instead put all 10 init pods of a 20 + 10 window in its first
 * two thirds and half the report pods in the last third: the report pods' p50 was read under
 * more load than the baselines' (2026-12-06-022a871.json: 1.59× the baseline, init 0.76×).
 */
export function creationOrder(counts: number[], baselineEvery: number): Slot[] {
  const reporters = counts.flatMap((n, group) => Array.from({ length: n }, (_, index) => ({ group, index, at: (index + 0.5) / n })))
    .sort((a, b) => a.at - b.at || a.group - b.group);
  const order: Slot[] = [];
  let baselines = 0;
  for (const [k, { group, index }] of reporters.entries()) {
    order.push({ group, index });
    if ((k + 1) % baselineEvery === 0) order.push({ baseline: true, index: baselines++ });
  }
  return order;
}
