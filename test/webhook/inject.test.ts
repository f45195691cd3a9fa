import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATION_START, CONDITION_TYPE, INJECT_DENY_TARGET_ANNOTATION, INJECT_LABEL, INJECT_MODE_ANNOTATION, INJECT_RECEIVE_PORT_ANNOTATION, INJECT_TARGET_ANNOTATION,
  INJECT_TIMEOUT_ANNOTATION, INJECTED_ANNOTATION, RECEIVE_PORT_NAME, REPORT_AUDIENCE, REPORTER_CONTAINER,
} from '../../src/contract.ts';
import { decideInjection, type InjectSettings, type JsonPatchOp } from '../../src/webhook/inject.ts';
import { boundPodOf, checkAnnotationPatch, ownAnnotations } from '../../src/webhook/report.ts';
import { missedInjection } from '../../src/webhook/audit.ts';
import { renew, renewalNeeded, splitPem, CA_LIFETIME_MS, SERVING_LIFETIME_MS } from '../../src/webhook/certs.ts';
import { DEFAULT_REPORTER_RESOURCES, parseWebhookArgs } from '../../src/webhook/config.ts';

const S: InjectSettings = { reporterImage: 'dpready:test', reportUrl: 'https://dpready-webhook.dpready-system.svc:8443', caBundle: 'PEM', excludedNamespaces: ['kube-system', 'dpready-system'] };
const NOW = Date.parse('2026-11-30T12:00:00.000Z');

function pod(over: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Partial<V1Pod['spec']> } = {}): V1Pod {
  return {
    metadata: { generateName: 'web-', namespace: 'apps', labels: over.labels ?? { app: 'web' }, ...(over.annotations ? { annotations: over.annotations } : {}) },
    spec: { serviceAccountName: 'web-identity', containers: [{ name: 'app', image: 'app:1' }], ...over.spec },
  };
}

/** Applies the JSON Patch ops decideInjection returns (add only, as it emits). */
function apply(p: V1Pod, ops: JsonPatchOp[]): V1Pod {
  const out = structuredClone(p) as unknown as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path.slice(1).split('/').map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'));
    let at: Record<string, unknown> | unknown[] = out;
    for (const k of parts.slice(0, -1)) at = (at as Record<string, unknown>)[k] as Record<string, unknown>;
    const last = parts.at(-1)!;
    if (Array.isArray(at)) { if (last === '-') at.push(op.value); else at.splice(Number(last), 0, op.value); } else at[last] = op.value;
  }
  return out as unknown as V1Pod;
}

describe('decideInjection', () => {
  test('PROBE_TIMEOUT is the controller\'s --datapath-timeout unless the pod names its own', () => {
    const env = (p: V1Pod) => {
      const d = decideInjection(p, 'apps', { ...S, defaultProbeTimeout: '5m' }, NOW);
      assert.equal(d.inject, true);
      if (!d.inject) return {};
      const r = apply(p, d.patch).spec!.initContainers![0]!;
      return Object.fromEntries(r.env!.map((e) => [e.name, e.value]));
    };
    assert.equal(env(pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80' } })).PROBE_TIMEOUT, '5m');
    assert.equal(env(pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80', [INJECT_TIMEOUT_ANNOTATION]: '90s' } })).PROBE_TIMEOUT, '90s');
  });

  test('adds the gate, the reporter as a native sidecar first among init containers, the token volume and a stamp', () => {
    const p = pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80', [INJECT_TIMEOUT_ANNOTATION]: '90s' },
      spec: { initContainers: [{ name: 'migrate', image: 'm:1' }], volumes: [{ name: 'data', emptyDir: {} }] } });
    const d = decideInjection(p, 'apps', S, NOW);
    assert.equal(d.inject, true);
    if (!d.inject) return;
    const out = apply(p, d.patch);
    assert.deepEqual(out.spec!.readinessGates, [{ conditionType: CONDITION_TYPE }]);
    assert.deepEqual(out.spec!.initContainers!.map((c) => c.name), [REPORTER_CONTAINER, 'migrate']);
    const r = out.spec!.initContainers![0]!;
    assert.equal(r.restartPolicy, 'Always');
    assert.equal(r.image, 'dpready:test');
    const env = Object.fromEntries(r.env!.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
    assert.equal(env.PROBE_TARGET, 'tcp://backend:80');
    assert.equal(env.PROBE_TIMEOUT, '90s');
    assert.equal(env.MY_POD_NAME, 'metadata.name');
    assert.equal(env.DPREADY_REPORT_URL, S.reportUrl);
    assert.equal(env.DPREADY_REPORT_CA, 'PEM');
    // The restricted Pod Security level, on the injected container.
    assert.deepEqual(r.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    const vol = out.spec!.volumes!.find((v) => v.name === 'dpready-report-token')!;
    assert.equal(vol.projected!.sources![0]!.serviceAccountToken!.audience, REPORT_AUDIENCE);
    assert.equal(out.spec!.volumes!.length, 2);
    // The workload keeps its own identity: nothing touches the ServiceAccount.
    assert.equal(out.spec!.serviceAccountName, 'web-identity');
    assert.equal(out.metadata!.annotations![INJECTED_ANNOTATION], new Date(NOW).toISOString());
  });

  test('a pod with no lists or annotations gets them created; init mode is a classic init container', () => {
    const p = pod({ spec: {} });
    const d = decideInjection(p, 'apps', { ...S, defaultTarget: 'dns://kubernetes.default.svc.cluster.local' }, NOW);
    assert.ok(d.inject);
    const out = apply(p, d.patch);
    assert.equal(out.spec!.initContainers!.length, 1);
    assert.equal(out.spec!.initContainers![0]!.env!.find((e) => e.name === 'PROBE_TARGET')!.value, 'dns://kubernetes.default.svc.cluster.local');
    const initPod = pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://a:1', [INJECT_MODE_ANNOTATION]: 'init' } });
    const init = decideInjection(initPod, 'apps', S, NOW);
    assert.ok(init.inject);
    assert.equal(apply(initPod, init.patch).spec!.initContainers![0]!.restartPolicy, undefined);
  });

  test('leaves alone: excluded namespaces, opted-out pods, pods already gated or with a reporter', () => {
    const target = { [INJECT_TARGET_ANNOTATION]: 'tcp://a:1' };
    const cases: Array<[V1Pod, string, string]> = [
      [pod({ annotations: target }), 'kube-system', 'excluded-namespace'],
      [pod({ annotations: target }), 'dpready-system', 'excluded-namespace'],
      [pod({ annotations: target, labels: { [INJECT_LABEL]: 'disabled' } }), 'apps', 'opted-out'],
      [pod({ annotations: target, spec: { readinessGates: [{ conditionType: CONDITION_TYPE }] } }), 'apps', 'already-gated'],
      [pod({ annotations: target, spec: { containers: [{ name: REPORTER_CONTAINER }] } }), 'apps', 'has-reporter'],
      [pod(), 'apps', 'no-target'],
      [pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'nonsense target' } }), 'apps', 'invalid'],
      [pod({ annotations: { ...target, [INJECT_MODE_ANNOTATION]: 'daemon' } }), 'apps', 'invalid'],
      [pod({ annotations: { ...target, [INJECT_TIMEOUT_ANNOTATION]: 'soon' } }), 'apps', 'invalid'],
    ];
    for (const [p, ns, reason] of cases) {
      const d = decideInjection(p, ns, S, NOW);
      assert.equal(d.inject, false, reason);
      if (!d.inject) assert.equal(d.reason, reason);
    }
  });
});

describe('report endpoint decisions', () => {
  const reviewed = (over: object = {}) => ({
    authenticated: true, audiences: [REPORT_AUDIENCE],
    user: { username: 'system:serviceaccount:apps:web-identity', extra: { 'authentication.kubernetes.io/pod-name': ['web-1'], 'authentication.kubernetes.io/pod-uid': ['u-1'] } },
    ...over,
  });
  test('a pod-bound ServiceAccount token for our audience names its pod, whatever the ServiceAccount is called', () => {
    assert.deepEqual(boundPodOf(reviewed(), REPORT_AUDIENCE), { ok: true, pod: { namespace: 'apps', name: 'web-1', uid: 'u-1', serviceAccount: 'web-identity' } });
  });
  test('anything else is refused', () => {
    assert.equal(boundPodOf({ authenticated: false, error: 'expired' }, REPORT_AUDIENCE).ok, false);
    assert.deepEqual(boundPodOf(reviewed({ audiences: ['https://kubernetes.default.svc'] }), REPORT_AUDIENCE), { ok: false, status: 401, message: `token is not for the audience ${REPORT_AUDIENCE}` });
    const notBound = boundPodOf(reviewed({ user: { username: 'system:serviceaccount:apps:web', extra: {} } }), REPORT_AUDIENCE);
    assert.equal(notBound.ok || notBound.status, 403);
    const user = boundPodOf(reviewed({ user: { username: 'alice', extra: {} } }), REPORT_AUDIENCE);
    assert.equal(user.ok || user.status, 403);
  });
  test('only annotations under perf.github.com/ may be written', () => {
    assert.deepEqual(checkAnnotationPatch({ metadata: { annotations: { [ANNOTATION_START]: 't', 'perf.github.com/datapath-failure': null } } }),
      { ok: true, annotations: { [ANNOTATION_START]: 't', 'perf.github.com/datapath-failure': null } });
    // Only the keys the contract defines, each value bounded.
    assert.match((checkAnnotationPatch({ metadata: { annotations: { 'perf.github.com/x': 'y' } } }) as { message: string }).message, /not one a reporter writes/);
    assert.match((checkAnnotationPatch({ metadata: { annotations: { [ANNOTATION_START]: 'x'.repeat(4097) } } }) as { message: string }).message, /4097 bytes, at most 4096/);
    assert.equal(checkAnnotationPatch({ metadata: { annotations: { [ANNOTATION_START]: 'x'.repeat(4096) } } }).ok, true);
    assert.equal(checkAnnotationPatch({ metadata: { annotations: { 'app/owner': 'me' } } }).ok, false);
    assert.equal(checkAnnotationPatch({ metadata: { annotations: { [ANNOTATION_START]: 't' }, labels: { a: 'b' } } }).ok, false);
    assert.equal(checkAnnotationPatch({ metadata: { annotations: { [ANNOTATION_START]: 't' } }, spec: {} }).ok, false);
    assert.equal(checkAnnotationPatch({ metadata: { annotations: { [ANNOTATION_START]: 1 } } }).ok, false);
    assert.equal(checkAnnotationPatch({ metadata: { annotations: {} } }).ok, false);
    assert.deepEqual(ownAnnotations({ [ANNOTATION_START]: 't', 'secret.example/x': 'y' }), { [ANNOTATION_START]: 't' });
  });
});

describe('missedInjection', () => {
  const enabled = new Set(['apps']);
  test('a pod that asked (namespace or label) and has no gate, reporter or stamp', () => {
    assert.equal(missedInjection({ ...pod(), metadata: { namespace: 'apps' } }, enabled, ['kube-system']), true);
    assert.equal(missedInjection({ ...pod(), metadata: { namespace: 'other', labels: { [INJECT_LABEL]: 'enabled' } } }, enabled, []), true);
    assert.equal(missedInjection({ ...pod(), metadata: { namespace: 'other' } }, enabled, []), false);
    assert.equal(missedInjection({ ...pod(), metadata: { namespace: 'apps', labels: { [INJECT_LABEL]: 'disabled' } } }, enabled, []), false);
    assert.equal(missedInjection({ ...pod(), metadata: { namespace: 'apps', annotations: { [INJECTED_ANNOTATION]: 'x' } } }, enabled, []), false);
    assert.equal(missedInjection({ metadata: { namespace: 'apps' }, spec: { containers: [], readinessGates: [{ conditionType: CONDITION_TYPE }] } }, enabled, []), false);
    assert.equal(missedInjection({ ...pod(), metadata: { namespace: 'kube-system', labels: { [INJECT_LABEL]: 'enabled' } } }, enabled, ['kube-system']), false);
  });
});

describe('webhook certificates', () => {
  const names = ['dpready-webhook.dpready-system.svc', '127.0.0.1'];
  test('a new bundle: a CA that signs a serving certificate for every name', () => {
    assert.equal(renewalNeeded(undefined, names, NOW), 'ca');
    const b = renew(undefined, 'ca', names, NOW);
    const ca = new X509Certificate(b.caCert), leaf = new X509Certificate(b.tlsCert);
    assert.ok(ca.ca);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    assert.match(leaf.subjectAltName!, /DNS:dpready-webhook\.dpready-system\.svc/);
    assert.match(leaf.subjectAltName!, /IP Address:127\.0\.0\.1/);
    assert.equal(renewalNeeded(b, names, NOW), 'none');
    assert.equal(renewalNeeded(b, [...names, 'other.svc'], NOW), 'serving');
    // Serving certificates are renewed with two thirds of their life gone; the CA keeps signing.
    const later = NOW + SERVING_LIFETIME_MS * 0.7;
    assert.equal(renewalNeeded(b, names, later), 'serving');
    const b2 = renew(b, 'serving', names, later);
    assert.equal(b2.caCert, b.caCert);
    assert.notEqual(b2.tlsCert, b.tlsCert);
    // CA rotation keeps the old CA trusted while it is valid, so the API server never sees an unknown signer.
    const caLater = NOW + CA_LIFETIME_MS * 0.7;
    assert.equal(renewalNeeded(b2, names, caLater), 'ca');
    const b3 = renew(b2, 'ca', names, caLater);
    assert.equal(splitPem(b3.caBundle).length, 2);
    assert.equal(splitPem(b3.caBundle)[1], b.caCert);
    assert.ok(new X509Certificate(b3.tlsCert).verify(new X509Certificate(b3.caCert).publicKey));
  });
});

describe('webhook flags', () => {
  test('off without --webhook-listen; its flags alone are an error', () => {
    assert.equal(parseWebhookArgs({}, 'dpready-system'), undefined);
    assert.throws(() => parseWebhookArgs({ 'reporter-image': 'x' }, 'dpready-system'), /--reporter-image.*--webhook-listen/);
  });
  test('defaults name the Service in the controller namespace; exclusions always hold kube-system and it', () => {
    const s = parseWebhookArgs({ 'webhook-listen': ':8443', 'reporter-image': 'img' }, 'ops');
    assert.deepEqual(s, { listen: ':8443', namespace: 'ops', configName: 'dpready', secretName: 'dpready-webhook-tls', certNames: ['dpready-webhook.ops.svc'],
      reporterImage: 'img', reportUrl: 'https://dpready-webhook.ops.svc:8443', excludedNamespaces: ['kube-system', 'ops'],
      reporterResources: DEFAULT_REPORTER_RESOURCES });
    assert.throws(() => parseWebhookArgs({ 'webhook-listen': ':8443' }, 'ops'), /--reporter-image/);
    assert.throws(() => parseWebhookArgs({ 'webhook-listen': ':8443', 'reporter-image': 'i', 'report-url': 'http://x' }, 'ops'), /--report-url/);
  });
});

describe('the injected reporter\'s requests and limits', () => {
  test('defaults as measured; flags override them; a bad quantity names its flag', () => {
    const base = { 'webhook-listen': ':8443', 'reporter-image': 'img' };
    assert.deepEqual(DEFAULT_REPORTER_RESOURCES, { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '48Mi' } });
    const s = parseWebhookArgs({ ...base, 'reporter-cpu-request': '5m', 'reporter-memory-request': '24Mi', 'reporter-memory-limit': '1Gi' }, 'ops')!;
    assert.deepEqual(s.reporterResources, { requests: { cpu: '5m', memory: '24Mi' }, limits: { memory: '1Gi' } });
    assert.throws(() => parseWebhookArgs({ ...base, 'reporter-memory-limit': '64MB' }, 'ops'), /--reporter-memory-limit="64MB": expected a Kubernetes quantity/);
    const p = pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80' } });
    const d = decideInjection(p, 'apps', { ...S, reporterResources: s.reporterResources! }, NOW);
    assert.ok(d.inject);
    const reporter = apply(p, d.patch).spec!.initContainers!.find((c) => c.name === REPORTER_CONTAINER)!;
    assert.deepEqual(reporter.resources, { requests: { cpu: '5m', memory: '24Mi' }, limits: { memory: '1Gi' } });
  });
});

describe('decideInjection: the receive check', () => {
  test('a receive-port annotation gives the reporter the listener and the named port the controller knocks on', () => {
    const p = pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80', [INJECT_RECEIVE_PORT_ANNOTATION]: '9376' } });
    const d = decideInjection(p, 'apps', S, NOW);
    assert.ok(d.inject);
    const reporter = apply(p, d.patch).spec!.initContainers!.find((c) => c.name === REPORTER_CONTAINER)!;
    assert.deepEqual(reporter.ports, [{ name: RECEIVE_PORT_NAME, containerPort: 9376 }]);
    assert.equal(reporter.env!.find((e) => e.name === 'PROBE_RECEIVE_PORT')?.value, '9376');
  });

  test('without it, no port and no listener', () => {
    const p = pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80' } });
    const d = decideInjection(p, 'apps', S, NOW);
    assert.ok(d.inject);
    const reporter = apply(p, d.patch).spec!.initContainers!.find((c) => c.name === REPORTER_CONTAINER)!;
    assert.equal(reporter.ports, undefined);
    assert.equal(reporter.env!.some((e) => e.name === 'PROBE_RECEIVE_PORT'), false);
  });

  test('a bad port is not injected, and the reason names the annotation', () => {
    const d = decideInjection(pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80', [INJECT_RECEIVE_PORT_ANNOTATION]: '99999' } }), 'apps', S, NOW);
    assert.equal(d.inject, false);
    assert.ok(!d.inject && d.reason === 'invalid' && /receive-port="99999": expected a port number/.test(d.message));
  });
});

describe('decideInjection: the policy check', () => {
  test('a deny-target annotation becomes PROBE_DENY_TARGET; without it, no such variable', () => {
    const p = pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80', [INJECT_DENY_TARGET_ANNOTATION]: 'tcp://forbidden.other:8080' } });
    const d = decideInjection(p, 'apps', S, NOW);
    assert.ok(d.inject);
    const reporter = apply(p, d.patch).spec!.initContainers!.find((c) => c.name === REPORTER_CONTAINER)!;
    assert.equal(reporter.env!.find((e) => e.name === 'PROBE_DENY_TARGET')?.value, 'tcp://forbidden.other:8080');
    const plain = pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80' } });
    const d2 = decideInjection(plain, 'apps', S, NOW);
    assert.ok(d2.inject);
    assert.equal(apply(plain, d2.patch).spec!.initContainers![0]!.env!.some((e) => e.name === 'PROBE_DENY_TARGET'), false);
  });

  test('a bad deny target is not injected, and the reason names the annotation and the variable', () => {
    const d = decideInjection(pod({ annotations: { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80', [INJECT_DENY_TARGET_ANNOTATION]: 'dns://x' } }), 'apps', S, NOW);
    assert.ok(!d.inject && d.reason === 'invalid' && /deny-target="dns:\/\/x": PROBE_DENY_TARGET entry "dns:\/\/x"/.test(d.message), JSON.stringify(d));
  });
});

describe('decideInjection leaves alone what it cannot or need not inject', () => {
  const target = { [INJECT_TARGET_ANNOTATION]: 'tcp://backend:80' };
  test('mirror pods, Windows pods, and pods that already have the token volume', () => {
    const reason = (p: V1Pod) => { const d = decideInjection(p, 'apps', S, NOW); return d.inject ? 'injected' : d.reason; };
    assert.equal(reason(pod({ annotations: { ...target, 'kubernetes.io/config.mirror': 'abc' } })), 'unsupported');
    assert.equal(reason(pod({ annotations: target, spec: { os: { name: 'windows' } } })), 'unsupported');
    assert.equal(reason(pod({ annotations: target, spec: { nodeSelector: { 'kubernetes.io/os': 'windows' } } })), 'unsupported');
    assert.equal(reason(pod({ annotations: target, spec: { volumes: [{ name: 'dpready-report-token', emptyDir: {} }] } })), 'has-reporter');
    assert.equal(reason(pod({ annotations: target, spec: { os: { name: 'linux' } } })), 'injected');
  });
});
