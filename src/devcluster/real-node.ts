// One real node beside the control plane: containerd + runc, the bridge/host-local CNI, a
// kubelet and kube-proxy from the same Kubernetes build, and CoreDNS as the cluster DNS. Pods
// scheduled here are real containers from local images (test/controlplane/images.sh), in
// their own network namespaces, reaching Services through kube-proxy's iptables rules and
// names through CoreDNS. One real node per machine at a time: cgroups, iptables and the
// bridge are host-wide (a lock file enforces it).
import { execFile } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { DpreadyError } from '../errors.ts';
import { ensureImages } from './images.ts';
import { kubeconfigYaml } from './kubeconfig-file.ts';
import {
  CLUSTER_DNS_IP, NODE_IP, POD_SUBNET, cleanHost, cniConfig, createPodBridge, leftovers, listNetns,
  realNodeUnavailable, sweepStaleNode, type HostState,
} from './node-host.ts';
import { issueClientCert, type Pki } from './pki.ts';
import { ensurePolicyEngine, startPolicyEngine, type PolicyEngine } from './policy-engine.ts';
import { startProcess, type ManagedProcess } from './processes.ts';
import { intoSystemSlice } from './system-slice.ts';

const run = promisify(execFile);
export const REAL_NODE_NAME = 'dpready-node';
export const REAL_NODE_LABEL = 'dpready.perf.github.com/real-node';
const LOCK_FILE = '/run/dpready-real-node.lock';

export interface RealNodeOptions {
  dir: string;
  binDir: string;
  server: string;
  pki: Pki;
  adminKubeconfig: string;
  kubeConfig: k8s.KubeConfig;
  freePort(): Promise<number>;
  waitFor(what: string, proc: ManagedProcess, timeoutMs: number, check: () => Promise<boolean>): Promise<void>;
  log(line: string): void;
  /** Also run the NetworkPolicy engine (policy-engine.ts), started and stopped with the node. */
  policyEngine?: boolean;
  serviceCidr: string;
}

export interface RealNode {
  name: string;
  /** Seconds each start-up step took, for the report of cold and warm set-up times. */
  timings: Record<string, number>;
  /** `ctr` against this node's containerd, in the k8s.io namespace. */
  ctr(args: string[]): Promise<string>;
  /** The NetworkPolicy engine, when asked for: tests stop it to see a policy never enforced. */
  policyEngine?: PolicyEngine;
  /** Stops everything and cleans the host; throws when something was left behind. */
  stop(): Promise<void>;
}

async function takeLock(): Promise<FileHandle> {
  // A pid file created exclusively; a stale one (its process gone) is taken over.
  for (let attempt = 0; attempt < 600; attempt++) {
    try {
      const fh = await open(LOCK_FILE, 'wx');
      await fh.write(String(process.pid));
      return fh;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(LOCK_FILE, 'utf8').catch(() => ''));
      let alive = false;
      try { if (holder > 0) { process.kill(holder, 0); alive = true; } } catch { /* gone */ }
      if (!alive) { await rm(LOCK_FILE, { force: true }); continue; }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  throw new DpreadyError('DPR_CONTROL_PLANE', `another real node holds ${LOCK_FILE} (pid ${await readFile(LOCK_FILE, 'utf8').catch(() => '?')})`);
}

function containerdConfig(dir: string, socket: string, cniConfDir: string): string {
  return `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "dpready.local/pause:dev"
  # Lowering oom_score_adj below 0 is denied on these machines, even for root.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
`;
}

function kubeletConfig(o: { caFile: string; socket: string; port: number; healthzPort: number }): string {
  return k8s.dumpYaml({
    apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration',
    // This machine has cgroup v1 (cgroup2 only at /sys/fs/cgroup/unified) and no systemd.
    failCgroupV1: false, cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: `unix://${o.socket}`,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: o.caFile } },
    authorization: { mode: 'Webhook' },
    address: NODE_IP, port: o.port, readOnlyPort: 0, healthzBindAddress: '127.0.0.1', healthzPort: o.healthzPort,
    clusterDNS: [CLUSTER_DNS_IP], clusterDomain: 'cluster.local',
    failSwapOn: false, localStorageCapacityIsolation: false,
    // A shared test machine's disk is never "under pressure" for these pods.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100, imageGCLowThresholdPercent: 99,
    // Status every few seconds: the tests wait on Ready transitions.
    nodeStatusUpdateFrequency: '5s', syncFrequency: '10s', fileCheckFrequency: '10s',
    serializeImagePulls: false, maxPods: 110,
  });
}

function corefile(kubeconfig: string, healthPort: number, readyPort: number): string {
  return `.:53 {
    bind ${NODE_IP}
    errors
    health 127.0.0.1:${healthPort}
    ready 127.0.0.1:${readyPort}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} dpready-dev
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 5
}
`;
}

export async function startRealNode(o: RealNodeOptions): Promise<RealNode> {
  const unavailable = realNodeUnavailable();
  if (unavailable) throw new DpreadyError('DPR_CONTROL_PLANE', unavailable);
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try { return await fn(); } finally { timings[step] = Math.round(performance.now() - start) / 1000; }
  };
  const images = await timed('images', () => ensureImages(o.binDir, o.log));
  const lock = await takeLock();
  const dir = join(o.dir, 'node');
  const containerdDir = join(dir, 'containerd');
  const socket = join(containerdDir, 'containerd.sock');
  const procs: ManagedProcess[] = [];
  const host: HostState = { netnsBefore: await listNetns(), dir, containerdSocket: socket };
  const bin = (name: string) => join(o.binDir, name);
  const ctr = async (args: string[]) => (await run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { maxBuffer: 64 << 20 })).stdout;
  const proxyKubeconfig = join(dir, 'kube-proxy.kubeconfig');

  let engine: PolicyEngine | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Its chains and ipsets go with the rest of the KUBE- chains in cleanHost.
    await engine?.stop();
    for (const p of [...procs].reverse()) await p.stop(10_000);
    await cleanHost(host, async () => {
      await run(bin('kube-proxy'), ['--cleanup', `--kubeconfig=${proxyKubeconfig}`]).catch(() => {});
    });
    const left = await leftovers(host);
    await lock.close();
    await rm(LOCK_FILE, { force: true });
    if (left.length > 0) throw new DpreadyError('DPR_CONTROL_PLANE', `the real node left behind: ${left.join('; ')}`);
  };

  // Each daemon into system.slice, as systemd runs them (system-slice.ts); a refusal is logged once.
  let sliceProblem: string | undefined;
  const inSlice = (p: ManagedProcess) => {
    const why = p.child.pid === undefined ? undefined : intoSystemSlice(p.child.pid);
    if (why && !sliceProblem) o.log(`the node's daemons stay in the root cgroup: ${(sliceProblem = why)}`);
  };
  try {
    await sweepStaleNode();
    await mkdir(join(dir, 'net.d'), { recursive: true });
    await mkdir(containerdDir, { recursive: true });
    await createPodBridge();
    await writeFile(join(dir, 'net.d', '10-dpready.conflist'), cniConfig(dir));

    // ---- containerd, and the images it runs from (no registry) ----
    await writeFile(join(containerdDir, 'config.toml'), containerdConfig(containerdDir, socket, join(dir, 'net.d')));
    const containerd = startProcess('containerd', 'containerd', ['--config', join(containerdDir, 'config.toml')], join(o.dir, 'containerd.log'));
    procs.push(containerd);
    inSlice(containerd);
    await timed('containerd', () => o.waitFor('containerd', containerd, 30_000, async () => { await ctr(['version']); return true; }));
    await timed('import', async () => {
      for (const name of ['pause', 'agnhost', 'dpready']) await ctr(['images', 'import', join(images, `${name}.tar`)]);
    });

    // ---- kubelet, as system:node:<name> under the Node authorizer ----
    const [kubeletCert, kubeletKey] = await issueClientCert(dirname(o.pki.caCert), 'kubelet', `/O=system:nodes/CN=system:node:${REAL_NODE_NAME}`);
    const kubeletKubeconfig = join(dir, 'kubelet.kubeconfig');
    await writeFile(kubeletKubeconfig, kubeconfigYaml(o.server, o.pki.caCert, { 'client-certificate': kubeletCert, 'client-key': kubeletKey }), { mode: 0o600 });
    await writeFile(join(dir, 'kubelet.yaml'), kubeletConfig({
      caFile: o.pki.caCert, socket, port: await o.freePort(), healthzPort: await o.freePort(),
    }));
    const kubelet = startProcess('kubelet', bin('kubelet'), [
      `--config=${join(dir, 'kubelet.yaml')}`, `--kubeconfig=${kubeletKubeconfig}`,
      `--hostname-override=${REAL_NODE_NAME}`, `--node-ip=${NODE_IP}`,
      `--root-dir=${join(dir, 'kubelet')}`, `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
      `--node-labels=${REAL_NODE_LABEL}=true`, '--v=1',
    ], join(o.dir, 'kubelet.log'));
    procs.push(kubelet);
    inSlice(kubelet);
    const core = o.kubeConfig.makeApiClient(k8s.CoreV1Api);
    await timed('kubelet', () => o.waitFor(`node ${REAL_NODE_NAME} Ready`, kubelet, 120_000, async () => {
      const node = await core.readNode({ name: REAL_NODE_NAME });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    }));

    // ---- kube-proxy (iptables), as system:kube-proxy ----
    const [proxyCert, proxyKey] = await issueClientCert(dirname(o.pki.caCert), 'kube-proxy', '/CN=system:kube-proxy');
    await writeFile(proxyKubeconfig, kubeconfigYaml(o.server, o.pki.caCert, { 'client-certificate': proxyCert, 'client-key': proxyKey }), { mode: 0o600 });
    const proxyHealth = await o.freePort();
    const proxy = startProcess('kube-proxy', bin('kube-proxy'), [
      `--kubeconfig=${proxyKubeconfig}`, `--hostname-override=${REAL_NODE_NAME}`, '--proxy-mode=iptables',
      `--cluster-cidr=${POD_SUBNET}`, `--healthz-bind-address=127.0.0.1:${proxyHealth}`,
      `--metrics-bind-address=127.0.0.1:${await o.freePort()}`,
      // Leave the host's conntrack sysctls alone (read-only in some sandboxes).
      '--conntrack-max-per-core=0', '--v=1',
    ], join(o.dir, 'kube-proxy.log'));
    procs.push(proxy);
    inSlice(proxy);
    await timed('kube-proxy', () => o.waitFor('kube-proxy /healthz', proxy, 60_000, async () =>
      (await fetch(`http://127.0.0.1:${proxyHealth}/healthz`)).status === 200));

    // ---- the NetworkPolicy engine (kube-router's firewall only), when asked for ----
    if (o.policyEngine) {
      await timed('policy-engine', async () => {
        const binDir = await ensurePolicyEngine(o.log);
        engine = await startPolicyEngine({ dir, binDir, server: o.server, pki: o.pki, nodeName: REAL_NODE_NAME,
          serviceCidr: o.serviceCidr, kubeConfig: o.kubeConfig, freePort: o.freePort, waitFor: o.waitFor });
        await engine.start();
      });
    }

    // ---- CoreDNS on the node address, behind the kube-dns Service (10.96.0.10) ----
    const [healthPort, readyPort] = [await o.freePort(), await o.freePort()];
    await writeFile(join(dir, 'Corefile'), corefile(o.adminKubeconfig, healthPort, readyPort));
    const coredns = startProcess('coredns', bin('coredns'), ['-conf', join(dir, 'Corefile')], join(o.dir, 'coredns.log'));
    procs.push(coredns);
    inSlice(coredns);
    await timed('coredns', async () => {
      await o.waitFor('CoreDNS /ready', coredns, 60_000, async () => (await fetch(`http://127.0.0.1:${readyPort}/ready`)).status === 200);
      await publishClusterDns(o.kubeConfig);
    });
    o.log(`real node ${REAL_NODE_NAME} Ready (${Object.entries(timings).map(([k, v]) => `${k} ${v}s`).join(', ')})`);
    return { name: REAL_NODE_NAME, timings, ctr, stop, ...(engine ? { policyEngine: engine } : {}) };
  } catch (err) {
    await stop().catch((e: unknown) => o.log(`cleaning up after a failed start: ${(e as Error).message}`));
    throw err;
  }
}

/** The kube-dns Service with a hand-made EndpointSlice: CoreDNS runs on the host, not in a pod. */
async function publishClusterDns(kc: k8s.KubeConfig): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  await core.createNamespacedService({ namespace: 'kube-system', body: {
    metadata: { name: 'kube-dns', labels: { 'k8s-app': 'kube-dns' } },
    spec: { clusterIP: CLUSTER_DNS_IP, ports: [
      { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
      { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
    ] },
  } });
  await discovery.createNamespacedEndpointSlice({ namespace: 'kube-system', body: {
    metadata: { name: 'kube-dns-host', labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'dpready-dev-cluster' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
    ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
  } });
}
