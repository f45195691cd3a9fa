// Builders for DatapathResults and pods, shaped by the contract schema so the index is fed the
// same objects the controller's watch delivers.
import { API_VERSION, DatapathResult, KIND, resultName, type Outcome } from '../../src/contract.ts';
import type { PodPhase, PodSource, PodView } from '../../src/api/pod-source.ts';

export interface ResultInit {
  ns?: string;
  name: string;
  uid?: string;
  node?: string;
  start?: number;
  dp?: number;
  /** The policy check: ms after creation when the policy was seen in force; null: deny targets, never enforced. */
  policy?: number | null;
  outcome?: Outcome;
  reason?: string;
  message?: string;
  labels?: Record<string, string>;
  /** ms since epoch */
  createdAtMs?: number;
  /** Watch instants as ms after creation. */
  watch?: Partial<Record<'scheduled' | 'initialized' | 'containersReady' | 'datapathReady' | 'ready', number>>;
  rv?: string;
}

export const T0 = Date.parse('2025-03-01T12:00:00.000Z');

export function result(init: ResultInit): DatapathResult {
  const uid = init.uid ?? `uid-${init.ns ?? 'default'}-${init.name}`;
  const created = init.createdAtMs ?? T0;
  const iso = (ms: number) => new Date(ms).toISOString();
  const outcome = init.outcome ?? (init.dp !== undefined ? 'Succeeded' : 'Failed');
  // Parse through the contract so a fixture can never be something the watch would not deliver.
  return DatapathResult.parse({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: resultName(uid), namespace: init.ns ?? 'default', resourceVersion: init.rv ?? '1' },
    spec: {
      podRef: { namespace: init.ns ?? 'default', name: init.name, uid, ...(init.node === undefined ? { nodeName: 'node-1' } : init.node === '' ? {} : { nodeName: init.node }) },
      timestamps: {
        createdAt: iso(created),
        createdAtSource: 'controllerFirstSeen',
        ...(init.start !== undefined ? { startTs: iso(created + init.start) } : {}),
        ...(init.dp !== undefined ? { dpReadyTs: iso(created + init.dp) } : {}),
        ...(typeof init.policy === 'number' ? { policyEnforcedTs: iso(created + init.policy) } : {}),
        recordedAt: iso(created + 60_000),
      },
      metrics: {
        ...(init.start !== undefined ? { latStartMs: init.start } : {}),
        ...(init.dp !== undefined ? { latDpReadyMs: init.dp } : {}),
        ...(typeof init.policy === 'number' ? { latPolicyMs: init.policy } : {}),
      },
      ...(init.policy !== undefined ? { denyTargets: ['tcp://forbidden.other:8080'] } : {}),
      ...(init.watch ? { watchTimestamps: Object.fromEntries(Object.entries(init.watch).map(([k, v]) => [k, iso(created + v)])) } : {}),
      labels: init.labels ?? {},
      outcome,
      ...(init.reason !== undefined ? { reason: init.reason } : {}),
      ...(init.message !== undefined ? { message: init.message } : {}),
    },
  });
}

export function pod(init: { ns?: string; name: string; uid?: string; phase?: PodPhase; reason?: string; message?: string; labels?: Record<string, string>; createdAtMs?: number }): PodView {
  return {
    namespace: init.ns ?? 'default',
    name: init.name,
    uid: init.uid ?? `uid-${init.ns ?? 'default'}-${init.name}`,
    nodeName: 'node-1',
    phase: init.phase ?? 'Running',
    reason: init.reason ?? '',
    message: init.message ?? '',
    labels: init.labels ?? {},
    createdAtMs: init.createdAtMs ?? T0,
  };
}

export function podSource(pods: PodView[]): PodSource {
  return { snapshot: () => pods };
}
