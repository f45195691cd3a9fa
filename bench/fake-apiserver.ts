// A stand-in kube-apiserver for measuring the controller's own CPU, with no control plane on
// the machine: plain HTTP on loopback, pods and DatapathResults in memory, list and watch
// (newline-delimited JSON), strategic-merge patches of one condition on pods/status, result
// creates, Events. Pods are built to the size of real ones (managedFields included), so
// decoding costs what it costs against kube-apiserver. It plays the kubelet too: once our
// condition turns True it sets Ready (as KWOK's stage does).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONDITION_TYPE } from '../src/contract.ts';

type Obj = { metadata: { name: string; namespace: string; uid: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };
type Pod = Obj & { status: { phase: string; conditions: Array<{ type: string; status: string; [k: string]: unknown }>; [k: string]: unknown } };

interface Collection { objs: Map<string, Obj>; watchers: Set<ServerResponse> }

export interface FakeApiServer {
  url: string;
  addPod(ns: string, name: string): Pod;
  annotate(ns: string, name: string, annotations: Record<string, string>): void;
  setRunning(ns: string, name: string): void;
  pods(): Pod[];
  results(): number;
  writes: Record<string, number>;
  /** Every distinct Authorization header the server was sent (a test's check that a credential was used). */
  authorizations: Set<string>;
  close(): Promise<void>;
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  let rv = 1;
  let uidSeq = 0;
  const pods: Collection = { objs: new Map(), watchers: new Set() };
  const results: Collection = { objs: new Map(), watchers: new Set() };
  const writes: Record<string, number> = {};
  const count = (k: string) => { writes[k] = (writes[k] ?? 0) + 1; };
  const emit = (c: Collection, type: string, o: Obj) => {
    const line = `${JSON.stringify({ type, object: o })}\n`;
    for (const w of c.watchers) w.write(line);
  };
  const put = (c: Collection, type: 'ADDED' | 'MODIFIED', o: Obj) => {
    o.metadata.resourceVersion = String(++rv);
    c.objs.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    emit(c, type, o);
  };
  const body = async (req: IncomingMessage) => {
    let s = '';
    for await (const chunk of req) s += chunk;
    return s ? JSON.parse(s) as Record<string, unknown> : {};
  };
  const json = (res: ServerResponse, code: number, o: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(o));
  };
  const serve = (c: Collection, url: URL, res: ServerResponse, kind: string) => {
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      res.writeHead(200, { 'content-type': 'application/json' });
      c.watchers.add(res);
      res.on('close', () => c.watchers.delete(res));
      return;
    }
    json(res, 200, { kind, apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: [...c.objs.values()] });
  };
  const ready = (pod: Pod) => {
    const ours = pod.status.conditions.find((c) => c.type === CONDITION_TYPE);
    const r = pod.status.conditions.find((c) => c.type === 'Ready')!;
    const want = ours?.status === 'True' ? 'True' : 'False';
    if (r.status === want) return;
    setTimeout(() => {
      const next = structuredClone(pod);
      const rr = next.status.conditions.find((c) => c.type === 'Ready')!;
      rr.status = want;
      rr.lastTransitionTime = new Date().toISOString();
      count('kubelet patch pods/status');
      put(pods, 'MODIFIED', next);
    }, 20);
  };

  const authorizations = new Set<string>();
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization) authorizations.add(req.headers.authorization);
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const p = url.pathname;
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && /^\/api\/v1\/(namespaces\/[^/]+\/)?pods$/.test(p)) return serve(pods, url, res, 'PodList');
      if (req.method === 'GET' && /\/datapathresults$/.test(p)) return serve(results, url, res, 'DatapathResultList');
      if (req.method === 'PATCH' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/status$/.exec(p))) {
        const patch = await body(req) as { status: { conditions: Array<{ type: string; status: string }> } };
        const pod = pods.objs.get(`${m[1]}/${m[2]}`) as Pod | undefined;
        if (!pod) return json(res, 404, { kind: 'Status', code: 404 });
        const next = structuredClone(pod);
        for (const c of patch.status.conditions) {
          const i = next.status.conditions.findIndex((x) => x.type === c.type);
          if (i >= 0) next.status.conditions[i] = { ...next.status.conditions[i], ...c }; else next.status.conditions.push(c);
        }
        count('controller patch pods/status');
        put(pods, 'MODIFIED', next);
        ready(next);
        return json(res, 200, next);
      }
      if (req.method === 'POST' && (m = /^\/apis\/[^/]+\/[^/]+\/namespaces\/([^/]+)\/datapathresults$/.exec(p))) {
        const o = await body(req) as Obj;
        const key = `${m[1]}/${o.metadata.name}`;
        if (results.objs.has(key)) return json(res, 409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
        o.metadata = { ...o.metadata, namespace: m[1]!, uid: `r-${++uidSeq}`, generation: 1, creationTimestamp: new Date().toISOString() };
        count('controller create datapathresults');
        put(results, 'ADDED', o);
        return json(res, 201, o);
      }
      if (req.method === 'POST' && /\/events$/.test(p)) {
        await body(req);
        count('controller create events');
        return json(res, 201, {});
      }
      json(res, 404, { kind: 'Status', code: 404, message: `fake: ${req.method} ${p}` });
    })().catch((err: unknown) => { res.statusCode = 500; res.end(String(err)); });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const mutate = (ns: string, name: string, f: (p: Pod) => void) => {
    const pod = pods.objs.get(`${ns}/${name}`) as Pod;
    const next = structuredClone(pod);
    f(next);
    put(pods, 'MODIFIED', next);
  };
  return {
    url, writes, authorizations,
    addPod(ns, name) {
      const pod = realisticPod(ns, name, `00000000-0000-4000-8000-${String(++uidSeq).padStart(12, '0')}`);
      put(pods, 'ADDED', pod);
      return pod;
    },
    annotate: (ns, name, annotations) => mutate(ns, name, (p) => {
      const md = p.metadata as { annotations?: Record<string, string> };
      md.annotations = { ...md.annotations, ...annotations };
    }),
    setRunning: (ns, name) => mutate(ns, name, (p) => {
      const now = new Date().toISOString();
      p.status.phase = 'Running';
      p.status.podIP = `10.0.${uidSeq % 250}.${uidSeq % 200}`;
      p.status.startTime = now;
      for (const c of p.status.conditions) if (c.type !== 'Ready' && c.type !== CONDITION_TYPE) { c.status = 'True'; c.lastTransitionTime = now; }
      p.status.containerStatuses = [{ name: 'app', ready: true, restartCount: 0, image: 'registry.k8s.io/pause:3.10', imageID: '', containerID: 'containerd://abc', started: true, state: { running: { startedAt: now } } }];
    }),
    pods: () => [...pods.objs.values()] as Pod[],
    results: () => results.objs.size,
    close: async () => {
      for (const c of [pods, results]) for (const w of c.watchers) w.end();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A pod as kube-apiserver returns it for a gated Deployment pod on a KWOK node: about 5 KB of JSON. */
function realisticPod(ns: string, name: string, uid: string): Pod {
  const now = new Date().toISOString();
  const mf = (manager: string, op: string, sub?: string) => ({
    manager, operation: op, apiVersion: 'v1', time: now, fieldsType: 'FieldsV1', ...(sub ? { subresource: sub } : {}),
    fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': { '.': {}, 'k:{"uid":"x"}': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:resources': {}, 'f:terminationMessagePath': {} } },
        'f:dnsPolicy': {}, 'f:enableServiceLinks': {}, 'f:readinessGates': {}, 'f:restartPolicy': {}, 'f:schedulerName': {}, 'f:securityContext': {}, 'f:terminationGracePeriodSeconds': {} },
      'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:lastProbeTime': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} } } } },
  });
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: ns, uid, creationTimestamp: now, generateName: `${name.slice(0, -5)}-`,
      labels: { app: 'dpready-burst', 'pod-template-hash': '5d8f7c9b6d' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': now },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f7c9b6d', uid: 'x', controller: true, blockOwnerDeletion: true }],
      managedFields: [mf('kube-controller-manager', 'Update'), mf('kwok', 'Update', 'status'), mf('kube-scheduler', 'Update', 'status')],
    },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', imagePullPolicy: 'IfNotPresent', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
        volumeMounts: [{ name: 'kube-api-access-abcde', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }],
      readinessGates: [{ conditionType: CONDITION_TYPE }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default', serviceAccount: 'default', nodeName: `kwok-node-${Number(uid.slice(-4)) % 10}`, securityContext: {}, schedulerName: 'default-scheduler',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      volumes: [{ name: 'kube-api-access-abcde', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }, { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } }] } }],
      priority: 0, enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: 'Pending', qosClass: 'BestEffort', hostIP: '10.0.0.1',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type, status: type === 'PodScheduled' ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now })),
    },
  };
}
