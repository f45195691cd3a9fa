// What the admission webhook does to a pod: a pure decision, pod in, JSON Patch out.
//
// Added to a pod that asks for it (namespace or pod label dpready.perf.github.com/inject=enabled):
//   - the readiness gate perf.github.com/datapath-ready;
//   - the reporter, first among the init containers: a native sidecar (restartPolicy Always)
//     or, with probe-mode "init", a classic init container that holds the app until the
//     datapath works. It runs with the pod's own ServiceAccount and holds no Kubernetes
//     credential: a projected token for the audience dpready.perf.github.com (which the API
//     server rejects) lets it report to the controller, and only about its own pod;
//   - the securityContext the "restricted" Pod Security level requires, on that container.
// A pod that already has the gate or a container named dpready-reporter is left alone, so a
// hand-written template (the pre-webhook way) keeps working unchanged.
import type { V1Container, V1EnvVar, V1Pod, V1SecurityContext, V1Volume } from '@kubernetes/client-node';
import {
  CONDITION_TYPE, INJECT_DENY_TARGET_ANNOTATION, INJECT_LABEL, INJECT_MODE_ANNOTATION, INJECT_RECEIVE_PORT_ANNOTATION, INJECT_TARGET_ANNOTATION, INJECT_TIMEOUT_ANNOTATION,
  RECEIVE_PORT_NAME,
  INJECTED_ANNOTATION, REPORT_AUDIENCE, REPORTER_CONTAINER,
} from '../contract.ts';
import { parseDuration } from '../durations.ts';
import { parseDenyTargets, parseTargets } from '../reporter/targets.ts';
import { DEFAULT_REPORTER_RESOURCES, type ReporterResources } from './config.ts';

export interface InjectSettings {
  reporterImage: string;
  /** Where the reporter sends its annotations, e.g. https://dpready-webhook.dpready-system.svc:8443 */
  reportUrl: string;
  /** PEM the reporter trusts for reportUrl (the webhook CA bundle). */
  caBundle: string;
  /** PROBE_TARGET when the pod does not name one; undefined: such a pod is not injected. */
  defaultTarget?: string;
  /** PROBE_TIMEOUT when the pod has no probe-timeout annotation: the controller's --datapath-timeout,
   *  so a reporter keeps probing as long as the gate waits for it (the reporter's own default is 60 s). */
  defaultProbeTimeout?: string;
  /** Never injected, whatever their labels: kube-system and dpready's own namespace. */
  excludedNamespaces: string[];
  /** Requests and limits of the injected container (--reporter-*; the defaults were measured). */
  reporterResources?: ReporterResources;
}

export type JsonPatchOp = { op: 'add' | 'replace'; path: string; value: unknown };

export type InjectDecision =
  | { inject: true; patch: JsonPatchOp[]; target: string; mode: 'sidecar' | 'init' }
  | { inject: false; reason: SkipReason; message: string };

/** Why a pod was not changed; `invalid` ones are the user's mistake and get an Event. */
export type SkipReason = 'excluded-namespace' | 'opted-out' | 'already-gated' | 'has-reporter' | 'unsupported' | 'no-target' | 'invalid';

export const TOKEN_VOLUME = 'dpready-report-token';
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
export const TOKEN_DIR = '/var/run/secrets/dpready';
/** The kubelet refreshes the projected token at 80% of this; 10 min is the API's minimum. */
const TOKEN_SECONDS = 600;

export function decideInjection(pod: V1Pod, namespace: string, s: InjectSettings, now: number): InjectDecision {
  const labels = pod.metadata?.labels ?? {};
  const ann = pod.metadata?.annotations ?? {};
  if (s.excludedNamespaces.includes(namespace)) return skip('excluded-namespace', `namespace ${namespace} is never injected`);
  if (labels[INJECT_LABEL] === 'disabled') return skip('opted-out', `the pod is labelled ${INJECT_LABEL}=disabled`);
  if (pod.spec?.readinessGates?.some((g) => g.conditionType === CONDITION_TYPE)) return skip('already-gated', 'the pod already lists the readiness gate');
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  if (all.some((c) => c.name === REPORTER_CONTAINER)) return skip('has-reporter', `the pod already has a container named ${REPORTER_CONTAINER}`);
  if (pod.spec?.volumes?.some((v) => v.name === TOKEN_VOLUME)) return skip('has-reporter', `the pod already has a volume named ${TOKEN_VOLUME}`);
  // A mirror pod is the API's copy of a static pod: the kubelet runs the manifest, not this object.
  if (ann[MIRROR_ANNOTATION] !== undefined) return skip('unsupported', 'a mirror (static) pod: the kubelet would not run an injected container');
  // The reporter image is Linux only.
  if (pod.spec?.os?.name === 'windows' || pod.spec?.nodeSelector?.['kubernetes.io/os'] === 'windows') return skip('unsupported', 'a Windows pod: the reporter image is Linux only');

  const target = ann[INJECT_TARGET_ANNOTATION] ?? s.defaultTarget;
  if (target === undefined) return skip('no-target', `no ${INJECT_TARGET_ANNOTATION} annotation and no default target`);
  try { parseTargets(target); } catch (err) { return skip('invalid', `${INJECT_TARGET_ANNOTATION}=${JSON.stringify(target)}: ${(err as Error).message}`); }
  const timeout = ann[INJECT_TIMEOUT_ANNOTATION] ?? s.defaultProbeTimeout;
  if (timeout !== undefined) {
    try { parseDuration(timeout, { name: INJECT_TIMEOUT_ANNOTATION, bareUnit: 's', code: 'DPR_BAD_CONFIG' }); } catch (err) { return skip('invalid', (err as Error).message); }
  }
  const mode = ann[INJECT_MODE_ANNOTATION] ?? 'sidecar';
  if (mode !== 'sidecar' && mode !== 'init') return skip('invalid', `${INJECT_MODE_ANNOTATION}=${JSON.stringify(mode)}: expected sidecar or init`);
  const receive = ann[INJECT_RECEIVE_PORT_ANNOTATION];
  const receivePort = receive === undefined ? undefined : /^\d+$/.test(receive) ? Number(receive) : NaN;
  if (receivePort !== undefined && !(receivePort >= 1 && receivePort <= 65535)) {
    return skip('invalid', `${INJECT_RECEIVE_PORT_ANNOTATION}=${JSON.stringify(receive)}: expected a port number from 1 to 65535`);
  }
  // The policy check: the deny targets go to the reporter as PROBE_DENY_TARGET (docs/policy.md).
  const deny = ann[INJECT_DENY_TARGET_ANNOTATION];
  if (deny !== undefined) {
    try { parseDenyTargets(deny); } catch (err) { return skip('invalid', `${INJECT_DENY_TARGET_ANNOTATION}=${JSON.stringify(deny)}: ${(err as Error).message}`); }
  }

  const patch: JsonPatchOp[] = [];
  const prepend = (path: string, list: unknown[] | undefined, value: unknown) => {
    patch.push(list?.length ? { op: 'add', path: `${path}/0`, value } : { op: 'add', path, value: [value] });
  };
  const appendTo = (path: string, list: unknown[] | undefined, value: unknown) => {
    patch.push(list?.length ? { op: 'add', path: `${path}/-`, value } : { op: 'add', path, value: [value] });
  };
  appendTo('/spec/readinessGates', pod.spec?.readinessGates, { conditionType: CONDITION_TYPE });
  prepend('/spec/initContainers', pod.spec?.initContainers, reporterContainer(s, target, timeout, mode, receivePort, deny));
  appendTo('/spec/volumes', pod.spec?.volumes, tokenVolume());
  const stamp = new Date(now).toISOString();
  if (pod.metadata?.annotations) patch.push({ op: 'add', path: `/metadata/annotations/${escapePointer(INJECTED_ANNOTATION)}`, value: stamp });
  else patch.push({ op: 'add', path: '/metadata/annotations', value: { [INJECTED_ANNOTATION]: stamp } });
  return { inject: true, patch, target, mode };
}

function skip(reason: SkipReason, message: string): InjectDecision {
  return { inject: false, reason, message };
}

export function reporterContainer(s: InjectSettings, target: string, timeout: string | undefined, mode: 'sidecar' | 'init', receivePort?: number,
  denyTarget?: string): V1Container {
  const field = (path: string) => ({ valueFrom: { fieldRef: { fieldPath: path } } });
  const env: V1EnvVar[] = [
    { name: 'MY_POD_NAME', ...field('metadata.name') },
    { name: 'MY_POD_NAMESPACE', ...field('metadata.namespace') },
    { name: 'PROBE_TARGET', value: target },
    ...(timeout !== undefined ? [{ name: 'PROBE_TIMEOUT', value: timeout }] : []),
    { name: 'PROBE_MODE', value: mode },
    ...(receivePort !== undefined ? [{ name: 'PROBE_RECEIVE_PORT', value: String(receivePort) }] : []),
    ...(denyTarget !== undefined ? [{ name: 'PROBE_DENY_TARGET', value: denyTarget }] : []),
    { name: 'DPREADY_REPORT_URL', value: s.reportUrl },
    { name: 'DPREADY_REPORT_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
    { name: 'DPREADY_REPORT_CA', value: s.caBundle },
  ];
  return {
    name: REPORTER_CONTAINER,
    image: s.reporterImage,
    args: ['reporter'],
    ...(mode === 'sidecar' ? { restartPolicy: 'Always' } : {}),
    // The named port is what tells the controller to knock (the receive check).
    ...(receivePort !== undefined ? { ports: [{ name: RECEIVE_PORT_NAME, containerPort: receivePort }] } : {}),
    env,
    resources: s.reporterResources ?? DEFAULT_REPORTER_RESOURCES,
    volumeMounts: [{ name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true }],
    securityContext: reporterSecurityContext(),
  };
}

/**
 * The "restricted" Pod Security level for the injected reporter, whatever the app's own
 * containers do. A new object each call: a pod spec that is changed later must not change
 * every other pod's.
 */
export function reporterSecurityContext(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532,
    capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  };
}

function tokenVolume(): V1Volume {
  return { name: TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { audience: REPORT_AUDIENCE, expirationSeconds: TOKEN_SECONDS, path: 'token' } }] } };
}

/** RFC 6901: "~" and "/" in a key. */
function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
