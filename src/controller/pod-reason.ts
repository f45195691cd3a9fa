// Why a pod is where it is, from its own status: what `kubectl get pods` shows in STATUS and
// `kubectl describe pod` in Events, reduced to one reason and message. Pure. The existing
// system left pod-health's reason and message empty; these are what a person needs first.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

export interface PodReason { reason: string; message: string }

/** Waiting reasons that only say "in progress": a more telling reason elsewhere wins over them. */
const ROUTINE_WAITING = new Set(['ContainerCreating', 'PodInitializing']);

/**
 * The first that applies, most telling first:
 * 1. the scheduler could not place it (PodScheduled False: Unschedulable, with the scheduler's message);
 * 2. a container is stuck waiting (ImagePullBackOff, ErrImagePull, CrashLoopBackOff,
 *    CreateContainerConfigError …), init containers first, as the kubelet runs them;
 * 3. the pod's own status reason (Evicted, NodeLost, DeadlineExceeded …);
 * 4. a container that terminated with a non-zero exit (Error, OOMKilled), with its exit code;
 * 5. a routine wait (ContainerCreating, PodInitializing).
 * Empty when none applies: a Running pod that is not Ready is explained by its conditions
 * (our gate's reason first), which the caller has.
 */
export function podReason(pod: V1Pod): PodReason {
  const status = pod.status;
  if (!status) return { reason: '', message: '' };
  const conditions = status.conditions ?? [];
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason) return { reason: scheduled.reason, message: scheduled.message ?? '' };

  const containers: V1ContainerStatus[] = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  let routine: PodReason | undefined;
  for (const c of containers) {
    const w = c.state?.waiting;
    if (!w?.reason) continue;
    const found = { reason: w.reason, message: w.message ? `${c.name}: ${w.message}` : `container ${c.name}` };
    if (!ROUTINE_WAITING.has(w.reason)) return found;
    routine ??= found;
  }

  if (status.reason) return { reason: status.reason, message: status.message ?? '' };

  for (const c of containers) {
    const t = c.state?.terminated ?? (c.state?.waiting ? c.lastState?.terminated : undefined);
    if (t && t.exitCode !== 0) {
      return { reason: t.reason || 'Error', message: `container ${c.name} exited with code ${t.exitCode}${t.message ? `: ${t.message}` : ''}` };
    }
  }
  return routine ?? { reason: '', message: '' };
}
