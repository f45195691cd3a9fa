// charts/dpready's values, with helm (built from its Go module) and no cluster: lint and template
// over a matrix of values, the schema refusing a typo, and values.yaml, values.schema.json and
// the values table of docs/deploy.md naming the same values (none missing from any of the three).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { ensureBinaries } from '../../src/devcluster/binaries.ts';
import { parseControllerArgs } from '../../src/controller/config.ts';

const run = promisify(execFile);
const CHART = fileURLToPath(new URL('../../charts/dpready', import.meta.url));
const DEPLOY_MD = fileURLToPath(new URL('../../docs/deploy.md', import.meta.url));
const NS = 'dpready-system';

interface Obj { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown }
interface PodSpec {
  serviceAccountName: string; imagePullSecrets?: Array<{ name: string }>; priorityClassName?: string;
  securityContext?: Record<string, unknown>; topologySpreadConstraints?: Array<{ topologyKey: string; labelSelector?: { matchLabels: Record<string, string> } }>;
  terminationGracePeriodSeconds?: number;
  containers: Array<{
    image: string; args: string[]; env: Array<{ name: string; value?: string }>; securityContext?: Record<string, unknown>;
    lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  }>;
}
interface Deployment extends Obj { spec: { replicas: number; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } } }

let dir = '';
let helmBin = '';
before(async () => {
  helmBin = join(await ensureBinaries(), 'helm');
  dir = await mkdtemp(join(tmpdir(), 'dpready-chart-values-'));
});
after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(helmBin, args, {
    env: { ...process.env, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') },
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** A values file, as a user passes one (-f): exactly what the schema sees. */
async function valuesFile(values: object): Promise<string[]> {
  const f = join(dir, `values-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(f, JSON.stringify(values));
  return ['-f', f];
}

async function render(values: object = {}, release = 'dpready'): Promise<Obj[]> {
  const out = await helm(['template', release, CHART, '-n', NS, ...await valuesFile(values)]);
  return parseAllDocuments(out).map((d) => d.toJS() as Obj).filter(Boolean);
}

async function notes(values: object = {}, release = 'dpready'): Promise<string> {
  const out = await helm(['install', release, CHART, '-n', NS, '--dry-run=client', ...await valuesFile(values)]);
  const at = out.indexOf('NOTES:');
  assert.ok(at >= 0, 'helm prints NOTES');
  return out.slice(at);
}

const find = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const deployment = (objs: Obj[]) => find(objs, 'Deployment')[0] as Deployment;
const env = (d: Deployment, name: string) => d.spec.template.spec.containers[0]!.env.find((e) => e.name === name)?.value;

async function helmError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    // helm lint reports on stdout, template and install on stderr.
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? String(err)}`;
  }
  assert.fail('helm accepted the values');
}

describe('charts/dpready values', { concurrency: false }, () => {
  // Each case lints (--strict) and renders; the checks say what the values must change.
  const matrix: Array<{ name: string; values: object; release?: string; check: (objs: Obj[], notes: string) => void }> = [
    { name: 'defaults', values: {}, check: (objs, n) => {
      const d = deployment(objs);
      assert.equal(d.metadata.name, 'dpready-controller');
      assert.equal(d.spec.template.spec.serviceAccountName, 'dpready-controller');
      assert.equal(find(objs, 'ServiceAccount')[0]!.metadata.name, 'dpready-controller');
      // The heap follows the memory limit instead of a fixed 384 MiB.
      assert.equal(env(d, 'NODE_OPTIONS'), '--max-old-space-size-percentage=75 --max-semi-space-size=8');
      const pdb = find(objs, 'PodDisruptionBudget')[0] as Obj & { spec: Record<string, unknown> };
      assert.deepEqual(Object.keys(pdb.spec).sort(), ['maxUnavailable', 'selector']);
      assert.equal(pdb.spec.maxUnavailable, 1);
      // Today's restricted defaults, now values.
      assert.deepEqual(d.spec.template.spec.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      assert.deepEqual(d.spec.template.spec.containers[0]!.securityContext, {
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
      const tsc = d.spec.template.spec.topologySpreadConstraints!;
      assert.equal(tsc.length, 1);
      assert.deepEqual(tsc[0]!.labelSelector!.matchLabels, { 'app.kubernetes.io/name': 'dpready', 'app.kubernetes.io/instance': 'dpready', 'app.kubernetes.io/component': 'controller' });
      assert.equal(d.spec.template.metadata.annotations, undefined, 'no token, no checksum');
      assert.match(n, /kubectl -n dpready-system port-forward svc\/dpready 8080:8080/);
      // The stats API has a generated token by default (issue 19), and a token goes only through a
      // port-forward (the API server's service proxy drops Authorization).
      assert.match(n, /get secret dpready-stats-token -o jsonpath='\{\.data\.token\}' \| base64 -d > dpready-token/);
      assert.match(n, /dpready stats --server http:\/\/127\.0\.0\.1:8080 --token-file dpready-token/);
      assert.match(n, /kubectl label namespace MY-NAMESPACE dpready\.perf\.github\.com\/inject=enabled/);
    } },
    { name: 'another release name: NOTES name its Service', values: {}, release: 'perf-gate', check: (objs, n) => {
      assert.equal(deployment(objs).metadata.name, 'perf-gate-dpready-controller');
      assert.match(n, /port-forward svc\/perf-gate-dpready 8080:8080/);
      assert.match(n, /get secret perf-gate-dpready-stats-token /);
    } },
    { name: 'no stats token: NOTES give the service-proxy form for this release', values: { statsApi: { generateToken: false } }, release: 'perf-gate', check: (_objs, n) => {
      assert.match(n, /dpready stats --service-namespace dpready-system --service perf-gate-dpready /);
    } },
    { name: 'every pod value', values: {
      nameOverride: 'gate', image: { digest: `sha256:${'a'.repeat(64)}` }, imagePullSecrets: [{ name: 'regcred' }], priorityClassName: 'system-cluster-critical',
      podAnnotations: { 'example.com/team': 'perf' }, podLabels: { team: 'perf' }, extraEnv: [{ name: 'UV_THREADPOOL_SIZE', value: '2' }],
      serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' } },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
      statsApi: { token: 's3cret' }, metrics: { podMonitor: { enabled: true }, serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, dashboard: { enabled: true } },
    }, check: (objs, n) => {
      const d = deployment(objs);
      const pod = d.spec.template.spec;
      assert.equal(d.metadata.name, 'dpready-gate-controller');
      assert.equal(d.metadata.labels!['app.kubernetes.io/name'], 'gate');
      assert.equal(pod.containers[0]!.image, `ghcr.io/dpready/dpready@sha256:${'a'.repeat(64)}`);
      assert.ok(pod.containers[0]!.args.includes(`--reporter-image=ghcr.io/dpready/dpready@sha256:${'a'.repeat(64)}`));
      assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
      assert.equal(pod.priorityClassName, 'system-cluster-critical');
      assert.equal(d.spec.template.metadata.labels.team, 'perf');
      assert.equal(d.spec.template.metadata.annotations!['example.com/team'], 'perf');
      assert.match(d.spec.template.metadata.annotations!['checksum/stats-token']!, /^[0-9a-f]{64}$/);
      assert.equal(env(d, 'UV_THREADPOOL_SIZE'), '2');
      assert.equal(pod.topologySpreadConstraints![0]!.topologyKey, 'topology.kubernetes.io/zone');
      assert.equal(pod.topologySpreadConstraints![0]!.labelSelector!.matchLabels['app.kubernetes.io/name'], 'gate');
      assert.equal(find(objs, 'ServiceAccount')[0]!.metadata.annotations!['eks.amazonaws.com/role-arn'], 'arn:aws:iam::1:role/x');
      for (const k of ['PodMonitor', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'Secret']) assert.equal(find(objs, k).length, 1, k);
      const sm = find(objs, 'ServiceMonitor')[0] as Obj & { spec: { selector: { matchLabels: Record<string, string> } } };
      const svc = find(objs, 'Service').find((s) => s.metadata.name === 'dpready-gate')!;
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels![k], v, `ServiceMonitor selects the Service by ${k}`);
      assert.match(n, /get secret dpready-gate-stats-token -o jsonpath='\{\.data\.token\}' \| base64 -d > dpready-token/);
      assert.match(n, /dpready stats --server http:\/\/127\.0\.0\.1:8080 --token-file dpready-token/);
    } },
    { name: 'one replica: no PodDisruptionBudget, so a drain completes', values: { replicas: 1 }, check: (objs, n) => {
      assert.equal(deployment(objs).spec.replicas, 1);
      assert.equal(find(objs, 'PodDisruptionBudget').length, 0);
      assert.match(n, /No PodDisruptionBudget: one replica/);
    } },
    { name: 'PodDisruptionBudget off', values: { podDisruptionBudget: { enabled: false } }, check: (objs) => {
      assert.equal(find(objs, 'PodDisruptionBudget').length, 0);
    } },
    { name: 'an existing ServiceAccount', values: { serviceAccount: { create: false, name: 'platform-dpready' } }, check: (objs) => {
      assert.equal(find(objs, 'ServiceAccount').length, 0);
      assert.equal(deployment(objs).spec.template.spec.serviceAccountName, 'platform-dpready');
      const subjects = [...find(objs, 'ClusterRoleBinding'), ...find(objs, 'RoleBinding')].flatMap((b) => (b as Obj & { subjects: Array<{ name: string; namespace: string }> }).subjects);
      assert.ok(subjects.length >= 3);
      for (const s of subjects) assert.deepEqual([s.name, s.namespace], ['platform-dpready', NS]);
      // Every policy that confines the controller (pod annotations, pods/status, caBundle) names the account the pods run as.
      const vaps = find(objs, 'ValidatingAdmissionPolicy') as Array<Obj & { spec: { matchConditions: Array<{ expression: string }> } }>;
      assert.deepEqual(vaps.map((v) => v.metadata.name).sort(), ['dpready-controller-cabundle-only', 'dpready-controller-own-annotations', 'dpready-controller-own-condition']);
      for (const vap of vaps) assert.match(vap.spec.matchConditions[0]!.expression, /system:serviceaccount:dpready-system:platform-dpready'/, vap.metadata.name);
    } },
    { name: 'fullnameOverride, webhook off, no spread', values: { fullnameOverride: 'acme-gate', webhook: { enabled: false }, topologySpreadConstraints: [], controller: { logLevel: 'debug', extraArgs: ['--workers=8'] } }, check: (objs, n) => {
      const d = deployment(objs);
      assert.equal(d.metadata.name, 'acme-gate-controller');
      assert.equal(d.spec.template.spec.topologySpreadConstraints, undefined);
      for (const a of ['--log-level=debug', '--workers=8']) assert.ok(d.spec.template.spec.containers[0]!.args.includes(a), a);
      assert.equal(find(objs, 'MutatingWebhookConfiguration').length, 0);
      // The controller still patches pods/status without the webhook: that policy stays, named for the release.
      assert.deepEqual(find(objs, 'ValidatingAdmissionPolicy').map((v) => v.metadata.name), ['acme-gate-controller-own-condition']);
      assert.match(n, /port-forward svc\/acme-gate 8080:8080/);
      assert.match(n, /injection webhook is off/);
    } },
  ];
  for (const c of matrix) {
    test(`lint and template: ${c.name}`, async () => {
      const f = await valuesFile(c.values);
      await helm(['lint', '--strict', CHART, ...f]);
      c.check(await render(c.values, c.release), await notes(c.values, c.release));
    });
  }

  test('a changed stats token changes the pods\' checksum annotation (the pods restart)', async () => {
    const sum = async (token: string) => deployment(await render({ statsApi: { token } })).spec.template.metadata.annotations!['checksum/stats-token'];
    assert.notEqual(await sum('one'), await sum('two'));
    assert.equal(await sum('one'), await sum('one'));
  });

  test('an upgrade or a drain: each controller pod sleeps in preStop, then drains for --shutdown-delay, within its termination grace period', async () => {
    // Issue 19 item 6: the pod leaves the webhook Service's endpoints while it still answers
    // (the preStop sleep: the endpoint removal reaches the API server's webhook client), then on
    // SIGTERM fails readiness and keeps serving --shutdown-delay (controller-shutdown.test.ts).
    // Both must fit in the grace period, with room for the close, or the kubelet kills it mid-drain.
    for (const values of [{}, { controller: { shards: 2 } }]) {
      const ds = find(await render(values), 'Deployment') as Deployment[];
      assert.equal(ds.length, (values as { controller?: { shards: number } }).controller?.shards ?? 1);
      for (const d of ds) {
        const pod = d.spec.template.spec;
        const c = pod.containers[0]!;
        const preStop = c.lifecycle?.preStop;
        assert.ok(preStop, `${d.metadata.name}: the controller container has a preStop hook`);
        const sleepS = preStop.sleep?.seconds ?? Number(preStop.exec?.command.join(' ').match(/\bsleep (\d+)/)?.[1] ?? NaN);
        assert.ok(sleepS >= 3, `${d.metadata.name}: preStop sleeps ${sleepS} s (at least 3 s for the endpoint removal to reach the API server)`);
        // The delay the process will use: its rendered flags through the controller's own parser.
        const cfg = parseControllerArgs(c.args.slice(1), { POD_NAMESPACE: NS });
        assert.notEqual(cfg, 'help');
        const delayS = (cfg as Exclude<typeof cfg, 'help'>).shutdownDelayMs / 1000;
        assert.ok(delayS >= 1, `${d.metadata.name}: --shutdown-delay ${delayS} s`);
        const grace = pod.terminationGracePeriodSeconds ?? 30;
        assert.ok(grace >= sleepS + delayS + 5,
          `${d.metadata.name}: terminationGracePeriodSeconds ${grace} covers the preStop sleep (${sleepS} s), --shutdown-delay (${delayS} s) and 5 s to close`);
      }
    }
  });

  test('the schema refuses a typo, an unknown value and a wrong type, naming it', async () => {
    const typo = await helmError(render({ controller: { datapathtimeout: '1m' } }));
    assert.match(typo, /datapathtimeout/);
    assert.match(await helmError(helm(['lint', '--strict', CHART, '--set', 'controller.datapathtimeout=1m'])), /datapathtimeout/);
    assert.match(await helmError(render({ replica: 3 })), /replica/);
    assert.match(await helmError(render({ controller: { timeoutPolicy: 'fail-shut' } })), /timeoutPolicy/);
    assert.match(await helmError(render({ controller: { datapathTimeout: '5 minutes' } })), /datapathTimeout/);
    assert.match(await helmError(render({ podDisruptionBudget: { minAvailable: 1 } })), /minAvailable/);
    assert.match(await helmError(render({ serviceAccount: { create: false } })), /serviceAccount\.name/);
  });

  test('values.yaml, values.schema.json and docs/deploy.md\'s values table name the same values', async () => {
    const values = parse(await readFile(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const schema = JSON.parse(await readFile(join(CHART, 'values.schema.json'), 'utf8')) as Schema;
    interface Schema { properties?: Record<string, Schema>; additionalProperties?: unknown }
    // Leaves: where the schema stops describing named properties (free-form objects, lists, scalars).
    const fromValues: string[] = [];
    const missingInSchema: string[] = [];
    const walk = (v: unknown, s: Schema | undefined, path: string) => {
      if (s === undefined) { missingInSchema.push(path); return; }
      if (s.properties && v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, child] of Object.entries(v)) walk(child, s.properties[k], path ? `${path}.${k}` : k);
      } else fromValues.push(path);
    };
    walk(values, schema, '');
    assert.deepEqual(missingInSchema, [], 'values.yaml keys the schema does not describe (helm would refuse them)');
    const schemaPaths: string[] = [];
    const walkSchema = (s: Schema, path: string) => {
      if (!s.properties) { schemaPaths.push(path); return; }
      for (const [k, child] of Object.entries(s.properties)) walkSchema(child, path ? `${path}.${k}` : k);
    };
    walkSchema(schema, '');
    assert.deepEqual(schemaPaths.filter((p) => !fromValues.includes(p)), [], 'schema properties with no default in values.yaml');
    assert.equal(schema.additionalProperties, false);

    const md = await readFile(DEPLOY_MD, 'utf8');
    const table = md.slice(md.indexOf('| Value | Default | Meaning |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const documented = rows.flatMap((r) => [...r.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    const isNode = (p: string) => p.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), values) !== undefined;
    assert.deepEqual(documented.filter((p) => !isNode(p)), [], 'docs/deploy.md lists values the chart does not have');
    assert.deepEqual(fromValues.filter((p) => !documented.some((d) => p === d || p.startsWith(`${d}.`))), [], 'values docs/deploy.md does not list');
  });
});
