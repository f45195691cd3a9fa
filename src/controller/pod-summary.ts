// The slice of a pod the controller keeps. Whole pod objects are large (managedFields,
// specs, statuses); with thousands of pods in a rollout, keeping only these fields is what
// keeps the controller's memory flat.
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_PREFIX, CONDITION_TYPE, RECEIVE_PORT_NAME } from '../contract.ts';
import type { CurrentCondition } from '../conditions/condition-patch.ts';
import { podReason, type PodReason } from './pod-reason.ts';

/** The pod conditions whose first sight on the watch marks a phase of the pod's start. */
export const WATCHED_CONDITIONS = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'] as const;
export type WatchedCondition = (typeof WATCHED_CONDITIONS)[number];

export interface PodSummary {
  uid: string;
  namespace: string;
  name: string;
  nodeName?: string;
  labels: Record<string, string>;
  /** Only our annotations (perf.github.com/…). */
  annotations: Record<string, string>;
  hasGate: boolean;
  /** The container port named dpready-receive: the receive check is on for this pod. */
  receivePort?: number;
  podIP?: string;
  creationTimestampMs: number;
  phase: string;
  /** The pod's Ready condition, for pod-health and troubleshooting. */
  ready?: { status: string; reason?: string; message?: string };
  /** Why the pod is where it is by its own status (Unschedulable, ImagePullBackOff …); '' when nothing says. */
  status?: PodReason;
  /** Pod conditions (PodScheduled, Initialized, ContainersReady, Ready) that are True now. */
  conditionsTrue?: readonly WatchedCondition[];
  /** Our condition as the API server last showed it. */
  condition?: CurrentCondition;
  deleting: boolean;
}

export function summarizePod(pod: V1Pod): PodSummary | undefined {
  const m = pod.metadata;
  if (!m?.uid || !m.name || !m.namespace) return undefined;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.annotations ?? {})) if (k.startsWith(ANNOTATION_PREFIX)) annotations[k] = v;
  const ours = pod.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const created = m.creationTimestamp ? new Date(m.creationTimestamp).getTime() : NaN;
  return {
    uid: m.uid,
    namespace: m.namespace,
    name: m.name,
    nodeName: pod.spec?.nodeName,
    labels: { ...(m.labels ?? {}) },
    annotations,
    hasGate: pod.spec?.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE) ?? false,
    ...receiveFields(pod),
    creationTimestampMs: Number.isFinite(created) ? created : 0,
    phase: pod.status?.phase ?? 'Unknown',
    ready: ready ? { status: ready.status, reason: ready.reason, message: ready.message } : undefined,
    status: podReason(pod),
    conditionsTrue: WATCHED_CONDITIONS.filter((t) => pod.status?.conditions?.some((c) => c.type === t && c.status === 'True')),
    condition: ours ? {
      status: ours.status, reason: ours.reason, message: ours.message,
      lastTransitionTime: ours.lastTransitionTime ? new Date(ours.lastTransitionTime).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined,
    } : undefined,
    deleting: !!m.deletionTimestamp,
  };
}

function receiveFields(pod: V1Pod): { receivePort?: number; podIP?: string } {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const port = containers.flatMap((c) => c.ports ?? []).find((p) => p.name === RECEIVE_PORT_NAME)?.containerPort;
  return {
    ...(port !== undefined ? { receivePort: port } : {}),
    ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}),
  };
}
