// The controller's pod store seen through the stats API's PodSource: tracked pods with the
// reason a person needs (our condition's while gated) and the same creation instant the
// result would record.
import type { PodPhase, PodSource, PodView } from '../api/pod-source.ts';
import type { PodStore, TrackedPod } from './pod-store.ts';
import { creationInstant } from './result-spec.ts';

const PHASES: ReadonlySet<string> = new Set(['Pending', 'Running', 'Succeeded', 'Failed']);

function toView(p: TrackedPod): PodView {
  return {
    namespace: p.namespace, name: p.name, uid: p.uid, nodeName: p.nodeName ?? '',
    phase: (PHASES.has(p.phase) ? p.phase : 'Unknown') as PodPhase,
    // The pod's own status first (Unschedulable, ImagePullBackOff, CrashLoopBackOff …), then our
    // gate's reason while gated, then the Ready condition's.
    ...(p.status?.reason ? p.status : {
      reason: p.condition?.reason ?? p.ready?.reason ?? '',
      message: p.condition?.message ?? p.ready?.message ?? '',
    }),
    labels: p.labels,
    createdAtMs: creationInstant(p).ms,
  };
}

export function podSource(store: PodStore): PodSource {
  // The store replaces a pod's object on every change, so a view cached per object is never stale.
  const views = new WeakMap<TrackedPod, PodView>();
  return {
    *snapshot() {
      for (const p of store.values()) {
        let v = views.get(p);
        if (!v) { v = toView(p); views.set(p, v); }
        yield v;
      }
    },
    version: () => store.version,
  };
}
