// The demo on a real node: dpready installed with `kubectl apply -k manifests/` (its own image,
// built from the Dockerfile), a target behind a Service, and a gated Deployment whose reporters
// (native sidecars in real pods) probe the target by its DNS name. "Down" is an iptables rule
// on the node's pod network dropping the target's packets; "up" is removing it.
import * as k8s from '@kubernetes/client-node';
import { CONDITION_TYPE } from '../contract.ts';
import { DpreadyError } from '../errors.ts';
import { main as statsMain } from '../api/stats-command.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { gatedDeployment } from './demo-workload.ts';
import { installDpready } from './install.ts';
import { NODE_IMAGES, PathRule, targetObjects } from './node-workloads.ts';

export interface RealNodeDemoOptions {
  namespace: string;
  replicas: number;
  targetDelayMs: number;
  exit: boolean;
  say(line: string): void;
  watchRollout(cp: ControlPlane, until: () => Promise<boolean>, timeoutMs: number): Promise<void>;
}

async function until(what: string, check: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await check().catch(() => false)) {
    if (Date.now() > deadline) throw new DpreadyError('DPR_CONTROL_PLANE', `timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function realNodeDemo(o: RealNodeDemoOptions): Promise<number> {
  const { namespace: ns, say } = o;
  const cp = await startControlPlane({ realNode: true, log: (l) => say(`  ${l}`) });
  let rule: PathRule | undefined;
  try {
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
    say(`installing dpready: kubectl apply -k of manifests/ with the image set to ${NODE_IMAGES.dpready}`);
    await installDpready(cp, { workloadNamespaces: [ns], image: NODE_IMAGES.dpready });
    await until('the controller Deployment (2 replicas) available', async () =>
      (await apps.readNamespacedDeployment({ name: 'dpready-controller', namespace: 'dpready-system' })).status?.readyReplicas === 2, 300_000);
    const controllerPod = (await core.listNamespacedPod({ namespace: 'dpready-system', labelSelector: 'app.kubernetes.io/component=controller' })).items[0]!;
    const url = `http://${controllerPod.status!.podIP}:8080`;
    say(`controller: 2 replicas in pods on ${controllerPod.spec!.nodeName}, stats API at ${url}`);

    const [targetDeploy, targetSvc] = targetObjects('target', ns);
    await apps.createNamespacedDeployment({ namespace: ns, body: targetDeploy });
    await core.createNamespacedService({ namespace: ns, body: targetSvc });
    let targetIp = '';
    await until('the target pod Ready', async () => {
      const p = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=target' })).items[0];
      targetIp = p?.status?.podIP ?? '';
      return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 180_000);
    rule = new PathRule(targetIp, 8080);
    await rule.add();
    const address = `http://target.${ns}.svc.cluster.local/healthz`;
    await apps.createNamespacedDeployment({ namespace: ns, body: gatedDeployment({
      name: 'web', namespace: ns, replicas: o.replicas, target: address,
      images: { reporter: NODE_IMAGES.dpready, app: NODE_IMAGES.agnhost, appArgs: ['netexec', '--http-port=8080'] },
    }) });
    say(`\ncreated Deployment ${ns}/web: ${o.replicas} replicas gated on ${CONDITION_TYPE}; their reporters probe ${address},`);
    say(`whose packets an iptables rule on the node drops (the datapath is DOWN). It comes up in ${o.targetDelayMs / 1000} s after the pods run:\n`);
    let up = false;
    let timer: NodeJS.Timeout | undefined;
    const readyReplicas = async () => (await apps.readNamespacedDeployment({ name: 'web', namespace: ns })).status?.readyReplicas ?? 0;
    await o.watchRollout(cp, async () => {
      if (!timer) {
        const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items;
        if (pods.length === o.replicas && pods.every((p) => p.status?.phase === 'Running')) {
          timer = setTimeout(() => {
            void rule!.remove().then(({ before }) => { up = true; say(`\n  >>> ${new Date(before).toISOString().slice(11, 23)} iptables rule removed: the datapath is UP\n`); });
          }, o.targetDelayMs);
        }
      }
      return up && await readyReplicas() === o.replicas;
    }, 10 * 60_000);
    clearTimeout(timer);
    say(`\nrollout complete: ${o.replicas}/${o.replicas} Ready, each only after its datapath answered\n`);
    await until('every result recorded', async () => {
      const r = await fetch(`${url}/api/v1/time-to-datapath-ready?namespace=${ns}&labelSelector=app%3Dweb`).then((x) => x.json() as Promise<{ count: number }>);
      return r.count >= o.replicas;
    }, 60_000);
    await statsMain(['--server', url, '--namespace', ns, '--label-selector', 'app=web']);
    const kubectl = `${cp.binDir}/kubectl --kubeconfig ${cp.kubeconfigPath}`;
    say(`
Stats API:   ${url}/api/v1/time-to-datapath-ready?namespace=${ns}   (also /time-to-start, /pod-health, /metrics, /docs)
Try:         ${kubectl} get pods -A -o wide
             ${kubectl} describe pod -n ${ns} -l app=web
Logs:        ${cp.dir} (kubelet.log, containerd.log, kube-proxy.log, coredns.log)`);
    if (o.exit) return 0;
    say('\nPress Ctrl-C to stop; everything is torn down.');
    await new Promise<void>((done) => { process.once('SIGINT', () => done()); process.once('SIGTERM', () => done()); });
    return 0;
  } finally {
    say('dpready demo: cleaning up');
    await rule?.remove().catch(() => {});
    await cp.stop();
  }
}
