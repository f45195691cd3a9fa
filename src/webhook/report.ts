// Reports from injected reporters: the reporter shows a projected ServiceAccount token for the
// audience dpready.perf.github.com, the controller asks the API server who it is (TokenReview
// with that audience), and writes the annotations on the pod the token is bound to, itself.
// So the workload keeps its own ServiceAccount, needs no RBAC of its own, and its token is
// worth nothing against the API server (wrong audience) and, here, only for its own pod.
// The pure parts (who is this, is this body acceptable) are apart from the I/O.
import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE, ANNOTATION_PREFIX, ANNOTATION_PROBE,
  ANNOTATION_RECEIVE_TS, ANNOTATION_START,
} from '../contract.ts';

/** The annotations a reporter writes (the contract), and nothing else under the prefix. */
export const REPORT_ANNOTATIONS: readonly string[] = [
  ANNOTATION_START, ANNOTATION_DP_READY, ANNOTATION_PROBE, ANNOTATION_FAILURE, ANNOTATION_RECEIVE_TS,
  ANNOTATION_POLICY_ENFORCED, ANNOTATION_POLICY_PROBE,
];
/** Per value: a timestamp is ~30 bytes, probe details of a few targets well under 2 KiB. */
export const REPORT_VALUE_LIMIT = 4 * 1024;

export interface BoundPod { namespace: string; name: string; uid: string; serviceAccount: string }

export type Identity = { ok: true; pod: BoundPod } | { ok: false; status: 401 | 403; message: string };

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

/** The pod a reviewed token speaks for: only a pod-bound ServiceAccount token for our audience qualifies. */
export function boundPodOf(status: V1TokenReviewStatus | undefined, audience: string): Identity {
  if (!status?.authenticated) return { ok: false, status: 401, message: `token not accepted${status?.error ? `: ${status.error}` : ''}` };
  if (!(status.audiences ?? []).includes(audience)) return { ok: false, status: 401, message: `token is not for the audience ${audience}` };
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? '');
  if (!m) return { ok: false, status: 403, message: `${status.user?.username ?? 'this user'} is not a ServiceAccount` };
  const extra = status.user?.extra ?? {};
  const name = extra[POD_NAME], uid = extra[POD_UID];
  if (name?.length !== 1 || uid?.length !== 1) return { ok: false, status: 403, message: 'the token is not bound to a pod (use a projected serviceAccountToken volume)' };
  return { ok: true, pod: { namespace: m[1]!, serviceAccount: m[2]!, name: name[0]!, uid: uid[0]! } };
}

export type AnnotationBody = { ok: true; annotations: Record<string, string | null> } | { ok: false; message: string };

/** The reporter's merge patch, reduced to what it may change: the contract's annotations, each value bounded. */
export function checkAnnotationPatch(body: unknown): AnnotationBody {
  const ann = (body as { metadata?: { annotations?: unknown } } | null)?.metadata?.annotations;
  if (typeof ann !== 'object' || ann === null || Array.isArray(ann)) return { ok: false, message: 'expected {"metadata":{"annotations":{...}}}' };
  const extraKeys = Object.keys(body as object).filter((k) => k !== 'metadata')
    .concat(Object.keys((body as { metadata: object }).metadata).filter((k) => k !== 'annotations'));
  if (extraKeys.length) return { ok: false, message: `only metadata.annotations may be sent, not ${extraKeys.join(', ')}` };
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(ann)) {
    if (!k.startsWith(ANNOTATION_PREFIX)) return { ok: false, message: `annotation ${k} is not under ${ANNOTATION_PREFIX}` };
    if (!REPORT_ANNOTATIONS.includes(k)) return { ok: false, message: `annotation ${k} is not one a reporter writes (${REPORT_ANNOTATIONS.join(', ')})` };
    if (v !== null && typeof v !== 'string') return { ok: false, message: `annotation ${k}: expected a string or null` };
    if (typeof v === 'string' && Buffer.byteLength(v) > REPORT_VALUE_LIMIT) return { ok: false, message: `annotation ${k}: ${Buffer.byteLength(v)} bytes, at most ${REPORT_VALUE_LIMIT}` };
    out[k] = v;
  }
  if (Object.keys(out).length === 0) return { ok: false, message: 'no annotations in the patch' };
  return { ok: true, annotations: out };
}

/** Only our own annotations go back to the reporter: the rest of the pod is none of its business. */
export function ownAnnotations(all: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all ?? {})) if (k.startsWith(ANNOTATION_PREFIX)) out[k] = v;
  return out;
}
