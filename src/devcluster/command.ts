// `dpready dev-cluster`: the test harness's control plane as a local playground, with
// kube-controller-manager, kube-scheduler and KWOK nodes, until interrupted.
import { copyFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DpreadyError } from '../errors.ts';
import { startControlPlane } from './control-plane.ts';

const USAGE = `usage: dpready dev-cluster --kubeconfig PATH [--nodes N] [--real-node]

Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK with N fake
nodes (default 3) on loopback, writes an admin kubeconfig to PATH and runs until Ctrl-C.
--real-node adds one real node (root only): a kubelet, containerd + runc, the bridge CNI,
kube-proxy and CoreDNS, with the images (pause, agnhost stand-in, dpready from the
Dockerfile) built locally; the fake nodes are then tainted, so workloads land on it.
The first run builds the binaries from Go modules (many minutes); later runs reuse them.
`;

export async function main(argv: string[]): Promise<number> {
  let values: { kubeconfig?: string; nodes?: string; 'real-node'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: {
      kubeconfig: { type: 'string' }, nodes: { type: 'string' }, 'real-node': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (err) {
    throw new DpreadyError('DPR_USAGE', `${(err as Error).message}\n\n${USAGE}`);
  }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  if (!values.kubeconfig) throw new DpreadyError('DPR_USAGE', `--kubeconfig PATH is required\n\n${USAGE}`);
  const nodes = Number(values.nodes ?? '3');
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 1000) {
    throw new DpreadyError('DPR_BAD_CONFIG', `--nodes=${JSON.stringify(values.nodes)}: expected a whole number from 1 to 1000`);
  }
  const target = resolve(values.kubeconfig);
  const realNode = values['real-node'] ?? false;
  const cp = await startControlPlane({ nodes, realNode, log: (line) => process.stderr.write(`dev-cluster: ${line}\n`) });
  await copyFile(cp.kubeconfigPath, target);
  process.stdout.write(`
Local control plane running at ${cp.server} with ${nodes} KWOK nodes${cp.realNode ? ` and the real node ${cp.realNode.name}` : ''}.

  export KUBECONFIG=${target}
  ${cp.binDir}/kubectl get nodes
  ${cp.binDir}/kubectl apply -k manifests/     # install dpready's CRD, RBAC and policy
  npm run dpready -- controller --kubeconfig ${target} --listen 127.0.0.1:8080

${cp.realNode
    ? `Pods land on ${cp.realNode.name} (real containers; images dpready.local/dpready:dev, dpready.local/agnhost:dev).`
    : 'Pods scheduled here are faked by KWOK: Ready waits for every readiness gate, as on a kubelet.'}
Logs and data: ${cp.dir}
Press Ctrl-C to stop; everything is torn down.
`);
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  process.stderr.write('dev-cluster: stopping\n');
  await cp.stop();
  return 0;
}
