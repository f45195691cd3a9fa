// `npm run demo` (`dpready demo`): the whole story on a local control plane. It installs the
// manifests, runs the controller as its own ServiceAccount, creates a gated Deployment whose
// reporters probe a target that is down at first, shows the rollout waiting on the gate and
// then passing it once the target comes up, and prints the stats.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { CONDITION_TYPE } from '../contract.ts';
import { parseDuration } from '../durations.ts';
import { DpreadyError } from '../errors.ts';
import { main as statsMain } from '../api/stats-command.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { startControllerProcess } from './controller-process.ts';
import { gatedDeployment } from './demo-workload.ts';
import { installDpready } from './install.ts';
import { ProbeTarget } from './probe-target.ts';
import { realNodeDemo } from './demo-real-node.ts';
import { realNodeUnavailable } from './node-host.ts';
import { ReporterRunner } from './reporter-runner.ts';

const USAGE = `usage: dpready demo [--replicas N] [--target-delay DURATION] [--kwok] [--exit]

Starts a local control plane, installs dpready, runs the controller and a Deployment gated on
datapath readiness whose probe target comes up after --target-delay (default 5s), shows the
rollout waiting on the gate and passing it, prints the stats, and keeps running until Ctrl-C
(or exits at once with --exit).

Where the machine allows it (root, cgroups, Debian's containerd/runc/CNI), everything runs on a
real node: the controller as the Deployment from manifests/ in dpready's own image, reporters as
native sidecars in real pods, the target behind a Service, "down" meaning an iptables rule
dropping its packets. Elsewhere (or with --kwok) KWOK nodes, with the controller and reporters
as local processes and a loopback target.
`;

const NS = 'dpready-demo';
// Run from dist/ (npm run demo builds first), the controller and reporters run compiled too.
const BUILT = import.meta.url.endsWith('.js');
const say = (line: string) => process.stdout.write(`${line}\n`);

function podLine(p: k8s.V1Pod): string {
  const ours = p.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '-';
  return `    ${p.metadata!.name!.padEnd(28)} ${String(p.status?.phase ?? '-').padEnd(8)} Ready=${ready.padEnd(5)} gate=${(ours ? `${ours.status} ${ours.reason}` : '(not set yet)').padEnd(26)}`;
}

async function watchRollout(cp: ControlPlane, until: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const pods = (await core.listNamespacedPod({ namespace: NS })).items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
    const snapshot = pods.map(podLine).join('\n');
    if (snapshot !== last) { say(`  ${new Date().toISOString().slice(11, 23)}\n${snapshot}`); last = snapshot; }
    if (await until()) return;
    if (Date.now() > deadline) throw new DpreadyError('DPR_CONTROL_PLANE', `the demo rollout did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function main(argv: string[]): Promise<number> {
  let values: { replicas?: string; 'target-delay'?: string; kwok?: boolean; exit?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: {
      replicas: { type: 'string' }, 'target-delay': { type: 'string' }, kwok: { type: 'boolean' }, exit: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (err) {
    throw new DpreadyError('DPR_USAGE', `${(err as Error).message}\n\n${USAGE}`);
  }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  // test/readme.test.ts runs README's `npm ci && npm run demo` in a fresh clone: the install and
  // the build are what it proves; a control plane there would take the machine for minutes.
  if (process.env.DPREADY_SKIP_CLUSTER === '1') {
    say('dpready demo: DPREADY_SKIP_CLUSTER=1: installed and built; the local control plane is not started');
    return 0;
  }
  const replicas = Number(values.replicas ?? '5');
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 200) {
    throw new DpreadyError('DPR_BAD_CONFIG', `--replicas=${JSON.stringify(values.replicas)}: expected a whole number from 1 to 200`);
  }
  const targetDelayMs = parseDuration(values['target-delay'] ?? '5s', { name: '--target-delay', code: 'DPR_BAD_CONFIG' });
  const unavailable = values.kwok ? '--kwok was given' : realNodeUnavailable();
  if (!unavailable) {
    say('dpready demo: using a REAL node (kubelet, containerd + runc, bridge CNI, kube-proxy, CoreDNS): this machine can run one');
    return realNodeDemo({ namespace: NS, replicas, targetDelayMs, exit: values.exit ?? false, say, watchRollout });
  }
  say(`dpready demo: using KWOK nodes, not a real node: ${unavailable}`);
  say('dpready demo: starting a local control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK); the first run builds it from Go modules');
  const cp = await startControlPlane({ nodes: 3, log: (l) => say(`  ${l}`) });
  const target = await ProbeTarget.reserve();
  let runner: ReporterRunner | undefined;
  let controller: Awaited<ReturnType<typeof startControllerProcess>> | undefined;
  const cleanup = async () => {
    await runner?.stop();
    await controller?.stop();
    await target.close();
    await cp.stop();
  };
  try {
    say('installing dpready: kubectl apply -k manifests/');
    await installDpready(cp, { workloadNamespaces: [NS] });
    const kubeconfig = join(cp.dir, 'controller.kubeconfig');
    await copyFile(await cp.serviceAccountKubeconfig('dpready-system', 'dpready-controller'), kubeconfig);
    controller = await startControllerProcess(cp, { kubeconfig, port: (await ProbeTarget.reserve()).port, built: BUILT,
      args: ['--datapath-timeout=5m', '--log-level=warn'] });
    say(`controller running as ServiceAccount dpready-system/dpready-controller; API at ${controller.url}`);

    const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
    runner = new ReporterRunner(cp, { namespace: NS, built: BUILT });
    await runner.start();
    await apps.createNamespacedDeployment({ namespace: NS, body: gatedDeployment({ name: 'web', namespace: NS, replicas, target: target.address }) });
    say(`\ncreated Deployment ${NS}/web: ${replicas} replicas gated on ${CONDITION_TYPE}; their reporters probe ${target.address}, which is DOWN`);
    say(`the target comes up in ${targetDelayMs / 1000} s; until then no pod may become Ready:\n`);
    const openTimer = setTimeout(() => {
      void target.open().then(() => say(`\n  >>> ${new Date().toISOString().slice(11, 23)} target ${target.address} is UP\n`));
    }, targetDelayMs);
    const readyReplicas = async () => (await apps.readNamespacedDeployment({ name: 'web', namespace: NS })).status?.readyReplicas ?? 0;
    await watchRollout(cp, async () => target.isOpen && await readyReplicas() === replicas, 5 * 60_000);
    clearTimeout(openTimer);
    say(`\nrollout complete: ${replicas}/${replicas} Ready, each only after its datapath answered\n`);

    // Results are written just after the condition; wait for all before printing.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = await fetch(`${controller.url}/api/v1/time-to-datapath-ready?namespace=${NS}`).then((x) => x.json() as Promise<{ count: number }>);
      if (r.count >= replicas) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    await statsMain(['--server', controller.url, '--namespace', NS]);

    const kubectl = join(cp.binDir, 'kubectl');
    say(`
Stats API:   ${controller.url}/api/v1/time-to-datapath-ready?namespace=${NS}   (also /time-to-start, /pod-health, /metrics, /docs)
Try:         ${kubectl} --kubeconfig ${cp.kubeconfigPath} get dpr -n dpready-system -l perf.github.com/pod-namespace=${NS}
             ${kubectl} --kubeconfig ${cp.kubeconfigPath} describe pod -n ${NS} -l app=web
Logs:        ${cp.dir}`);
    if (values.exit) return 0;
    say('\nPress Ctrl-C to stop; everything is torn down.');
    await new Promise<void>((done) => { process.once('SIGINT', () => done()); process.once('SIGTERM', () => done()); });
    return 0;
  } finally {
    say('dpready demo: cleaning up');
    await cleanup();
  }
}
