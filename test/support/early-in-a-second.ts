// The controller measures a pod's latencies from its own first sight of the pod only when that
// falls inside the second of the pod's creationTimestamp (result-spec.ts); otherwise from the
// whole second, up to 1 s earlier. A test that asserts latencies to the tens of ms creates its
// pods early in a second, so the watch's delivery does not cross into the next one.

/** Resolves within the first 100 ms of a wall-clock second. */
export async function earlyInASecond(): Promise<void> {
  const intoSecond = Date.now() % 1_000;
  if (intoSecond < 100) return;
  await new Promise((resolve) => setTimeout(resolve, 1_000 - intoSecond));
}
