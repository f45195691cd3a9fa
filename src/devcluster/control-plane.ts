// A real, throwaway Kubernetes control plane on loopback: etcd and kube-apiserver, and on
// request kube-controller-manager, kube-scheduler and KWOK with fake nodes. Every dpready test
// that talks to Kubernetes runs against one of these; `dpready dev-cluster` and the demo too.
// Each instance lives in its own temporary directory on its own free ports, so several can run
// at once (node:test runs test files in parallel).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { DpreadyError } from '../errors.ts';
import { createPki, type Pki } from './pki.ts';
import { startProcess, type ManagedProcess } from './processes.ts';
import { intoSystemSlice } from './system-slice.ts';
import { ensureBinaries } from './binaries.ts';
import { kubeconfigYaml } from './kubeconfig-file.ts';
import { NODE_IP } from './node-host.ts';
import { startRealNode, type RealNode } from './real-node.ts';

const run = promisify(execFile);
// Resolved from the repo root, so it is found from src/ (tsx) and from dist/ (compiled) alike.
const STAGES_FILE = fileURLToPath(new URL('../../src/devcluster/kwok-stages.yaml', import.meta.url));
const SERVICE_CIDR = '10.96.0.0/16';
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export interface ControlPlaneOptions {
  /** Fake nodes to create. Above 0 also starts kube-controller-manager, kube-scheduler and KWOK. */
  nodes?: number;
  /** Working directory; a new temporary one by default (removed on stop unless keepDir or DPREADY_KEEP_DIR=1). */
  dir?: string;
  keepDir?: boolean;
  /** Progress lines, e.g. for the dev-cluster command. */
  log?: (line: string) => void;
  /**
   * Also run one real node (kubelet, containerd, CNI, kube-proxy, CoreDNS; see real-node.ts).
   * Needs root; KWOK nodes are then tainted so real workloads land on the real node.
   */
  realNode?: boolean;
  /** With realNode: also run the NetworkPolicy engine (kube-router's firewall; see policy-engine.ts). */
  policyEngine?: boolean;
}

export interface PodIdentity {
  namespace: string;
  serviceAccount: string;
  podName: string;
  podUid: string;
}

export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  kubeConfig: k8s.KubeConfig;
  binDir: string;
  pki: Pki;
  nodeNames: string[];
  /** The real node, when asked for. */
  realNode?: RealNode;
  /** Runs the kubectl built with the control plane against it. */
  kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string }>;
  /** Creates a namespace and, when no controller-manager runs, its default ServiceAccount. */
  ensureNamespace(name: string): Promise<void>;
  /** Writes a kubeconfig holding a token bound to the pod (TokenRequest), returns its path. */
  podKubeconfig(identity: PodIdentity): Promise<string>;
  /** Writes a kubeconfig holding a token of the ServiceAccount (to run as it, with its RBAC only). */
  serviceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string>;
  /** Stops and restarts kube-apiserver on the same port and etcd data (a fault-injection aid). */
  restartApiServer(): Promise<void>;
  /**
   * Freezes kube-apiserver (SIGSTOP): its port still accepts connections, but nothing is
   * answered. Resolves once the kernel reports it stopped, with a function that resumes it
   * (SIGCONT; idempotent). stop() and restartApiServer() resume a frozen one first.
   */
  freezeApiServer(): Promise<() => void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitFor(what: string, proc: ManagedProcess, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => { exited = true; });
  for (;;) {
    if (exited) {
      throw new DpreadyError('DPR_CONTROL_PLANE', `${proc.name} exited while waiting for ${what}; log ${proc.logFile}:\n${proc.tail()}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new DpreadyError('DPR_CONTROL_PLANE', `timed out after ${timeoutMs} ms waiting for ${what}; log ${proc.logFile}:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const nodes = opts.nodes ?? 0;
  const wantRealNode = opts.realNode ?? false;
  // A real node needs the controller-manager (ServiceAccounts, ReplicaSets, EndpointSlices)
  // and the scheduler as much as fake nodes do.
  const withControllers = nodes > 0 || wantRealNode;
  const binDir = await ensureBinaries(log);
  const dir = opts.dir ?? await mkdtemp(join(tmpdir(), 'dpready-cp-'));
  const bin = (name: string) => join(binDir, name);
  const procs: ManagedProcess[] = [];
  let apiserver: ManagedProcess | undefined;
  let controllerManager: ManagedProcess | undefined;
  let frozen: ManagedProcess | undefined;
  const resumeApiServer = () => {
    const p = frozen;
    frozen = undefined;
    // child.pid is kube-apiserver itself: setpriv execs it.
    if (p?.child.pid !== undefined && p.child.exitCode === null && p.child.signalCode === null) {
      try { process.kill(p.child.pid, 'SIGCONT'); } catch { /* already gone */ }
    }
  };

  let realNode: RealNode | undefined;
  const stopAll = async () => {
    resumeApiServer();
    // The node before the apiserver: the kubelet's last status writes need it.
    await realNode?.stop();
    realNode = undefined;
    // Reverse order: KWOK and controllers first, etcd last, so nothing logs a storm of errors.
    for (const p of [...procs].reverse()) await p.stop();
    procs.length = 0;
  };

  try {
    const pki = await createPki(dir);
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const server = `https://127.0.0.1:${apiPort}`;

    log(`starting etcd on 127.0.0.1:${etcdClient}`);
    procs.push(startProcess('etcd', bin('etcd'), [
      '--name=default', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      // A test cluster's data is thrown away: skipping fsync makes it several times faster.
      '--unsafe-no-fsync', '--log-level=warn', '--quota-backend-bytes=4294967296',
    ], join(dir, 'etcd.log')));

    const apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      // Pods on a real node reach the apiserver at the node address, through the
      // kubernetes Service (10.96.0.1), so it listens there too and advertises it.
      ...(wantRealNode
        ? ['--bind-address=0.0.0.0', `--advertise-address=${NODE_IP}`, `--kubelet-client-certificate=${pki.adminCert}`, `--kubelet-client-key=${pki.adminKey}`]
        : ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1']),
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.serverCert}`, `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublicKey}`, `--service-account-signing-key-file=${pki.saPrivateKey}`,
      // The Node authorizer and NodeRestriction: a kubelet may touch only its own node's pods.
      `--authorization-mode=${wantRealNode ? 'Node,RBAC' : 'RBAC'}`, `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,ValidatingAdmissionPolicy${wantRealNode ? ',NodeRestriction' : ''}`,
      '--profiling=false', '--v=1',
    ];
    const startApiserver = () => {
      apiserver = startProcess('kube-apiserver', bin('kube-apiserver'), apiserverArgs, join(dir, 'kube-apiserver.log'));
      return apiserver;
    };
    log(`starting kube-apiserver on ${server}`);
    procs.push(startApiserver());

    const ca = await readFile(pki.caCert);
    const adminCert = await readFile(pki.adminCert);
    const adminKey = await readFile(pki.adminKey);
    const agent = new Agent({ connect: { ca, cert: adminCert, key: adminKey } });
    const readyz = async () => (await fetch(`${server}/readyz`, { dispatcher: agent, signal: AbortSignal.timeout(2_000) })).status === 200;
    await waitFor('kube-apiserver /readyz', apiserver!, 90_000, readyz);

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(server, pki.caCert, {
      'client-certificate': pki.adminCert, 'client-key': pki.adminKey,
    }), { mode: 0o600 });
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);

    const nodeNames = Array.from({ length: nodes }, (_, i) => `kwok-node-${i}`);
    if (withControllers) {
      const [kcmPort, schedPort] = [await freePort(), await freePort()];
      const clientFlags = ['--kube-api-qps=500', '--kube-api-burst=1000'];
      log(`starting kube-controller-manager, kube-scheduler${nodes > 0 ? ` and KWOK (${nodes} nodes)` : ''}`);
      controllerManager = startProcess('kube-controller-manager', bin('kube-controller-manager'), [
        `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${kcmPort}`,
        `--service-account-private-key-file=${pki.saPrivateKey}`, `--root-ca-file=${pki.caCert}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`, '--use-service-account-credentials=false',
        // Node lifecycle lifts the not-ready taint new nodes get; a long grace period keeps it
        // from tainting fake nodes whose heartbeats jitter. nodeipam needs a cluster CIDR.
        '--controllers=*,-nodeipam', '--node-monitor-grace-period=1h', '--profiling=false', ...clientFlags,
      ], join(dir, 'kube-controller-manager.log'));
      procs.push(controllerManager);
      procs.push(startProcess('kube-scheduler', bin('kube-scheduler'), [
        `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${schedPort}`,
        '--profiling=false', ...clientFlags,
      ], join(dir, 'kube-scheduler.log')));
      if (nodes > 0) {
        // No --server-address: nothing here uses KWOK's server (fake logs, exec, metrics), and
        // starting it builds a CEL environment for its metrics on kwok's main goroutine while the
        // stage workers build theirs for the first nodes. kwok v0.8.0's easycel v0.6.0 fills an
        // unguarded global map from both: one CI dry run died at start with "fatal error:
        // concurrent map writes" in easycel.getTypeValue, under initCEL.
        const kwok = startProcess('kwok', bin('kwok'), [
          `--kubeconfig=${kubeconfigPath}`, `--config=${STAGES_FILE}`,
          `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        ], join(dir, 'kwok.log'));
        procs.push(kwok);
        for (const name of nodeNames) {
          await core.createNode({ body: {
            metadata: { name, annotations: { [KWOK_NODE_ANNOTATION]: 'fake' }, labels: { type: 'kwok', 'kubernetes.io/hostname': name } },
            // Beside a real node, real workloads must land there: fake nodes take only pods that tolerate them.
            spec: wantRealNode ? { taints: [{ key: KWOK_NODE_ANNOTATION, value: 'fake', effect: 'NoSchedule' }] } : {},
          } });
        }
        await waitFor(`${nodes} KWOK nodes Ready`, kwok, 60_000, async () => {
          const list = await core.listNode();
          const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
          return ready.length >= nodes;
        });
      }
      await waitFor('the default ServiceAccount (kube-controller-manager running)', controllerManager, 60_000, async () => {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
        return true;
      });
    }
    if (wantRealNode) {
      log('starting the real node (containerd, kubelet, kube-proxy, CoreDNS)');
      // The control plane, which a real cluster runs elsewhere, beside the node's daemons in system.slice.
      for (const p of procs) {
        const why = p.child.pid === undefined ? undefined : intoSystemSlice(p.child.pid);
        if (why) { log(`the control plane stays in the root cgroup: ${why}`); break; }
      }
      realNode = await startRealNode({
        dir, binDir, server, pki, adminKubeconfig: kubeconfigPath, kubeConfig, freePort, waitFor, log,
        policyEngine: opts.policyEngine ?? false, serviceCidr: SERVICE_CIDR,
      });
    }

    const cp: ControlPlane = {
      dir, server, kubeconfigPath, kubeConfig, binDir, pki, nodeNames, realNode,
      async kubectl(args, input) {
        const child = run(bin('kubectl'), [`--kubeconfig=${kubeconfigPath}`, ...args], { maxBuffer: 64 << 20 });
        if (input !== undefined) { child.child.stdin?.end(input); }
        const { stdout, stderr } = await child;
        return { stdout, stderr };
      },
      async ensureNamespace(name) {
        try {
          await core.createNamespace({ body: { metadata: { name } } });
        } catch (err) {
          if ((err as { code?: number }).code !== 409) throw err;
        }
        if (controllerManager) {
          // The controller-manager creates it, a moment later: pods cannot be admitted before.
          await waitFor(`ServiceAccount ${name}/default`, controllerManager, 30_000, async () => {
            await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
            return true;
          });
          return;
        }
        try {
          await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default' } } });
        } catch (err) {
          if ((err as { code?: number }).code !== 409) throw err;
        }
      },
      async podKubeconfig({ namespace, serviceAccount, podName, podUid }) {
        const tr = await core.createNamespacedServiceAccountToken({ name: serviceAccount, namespace, body: {
          spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: podName, uid: podUid } },
        } });
        const path = join(dir, `pod-${namespace}-${podName}-${podUid.slice(0, 8)}.kubeconfig`);
        await writeFile(path, kubeconfigYaml(server, pki.caCert, { token: tr.status?.token ?? "" }), { mode: 0o600 });
        return path;
      },
      async serviceAccountKubeconfig(namespace, serviceAccount) {
        const tr = await core.createNamespacedServiceAccountToken({ name: serviceAccount, namespace, body: {
          spec: { audiences: [], expirationSeconds: 24 * 3600 },
        } });
        const path = join(dir, `sa-${namespace}-${serviceAccount}.kubeconfig`);
        await writeFile(path, kubeconfigYaml(server, pki.caCert, { token: tr.status?.token ?? '' }), { mode: 0o600 });
        return path;
      },
      async restartApiServer() {
        resumeApiServer();
        const old = apiserver!;
        await old.stop();
        procs[procs.indexOf(old)] = startApiserver();
        await waitFor('kube-apiserver /readyz after restart', apiserver!, 90_000, readyz);
      },
      async freezeApiServer() {
        const p = apiserver!;
        const pid = p.child.pid;
        if (frozen) throw new DpreadyError('DPR_CONTROL_PLANE', 'kube-apiserver is already frozen');
        if (pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) {
          throw new DpreadyError('DPR_CONTROL_PLANE', 'kube-apiserver is not running');
        }
        process.kill(pid, 'SIGSTOP');
        frozen = p;
        // The signal is asynchronous: wait for state T in /proc/<pid>/stat ("pid (comm) T ...").
        const deadline = Date.now() + 10_000;
        for (;;) {
          const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
          if (/^[tT]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) break;
          if (Date.now() > deadline) {
            resumeApiServer();
            throw new DpreadyError('DPR_CONTROL_PLANE', `kube-apiserver (pid ${pid}) did not stop after SIGSTOP`);
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        return () => { if (frozen === p) resumeApiServer(); };
      },
      async stop() {
        await stopAll();
        await agent.close();
        // DPREADY_KEEP_DIR=1 keeps logs and data of a failed test run for a post-mortem.
        const keep = opts.keepDir ?? process.env.DPREADY_KEEP_DIR === '1';
        if (!keep && !opts.dir) await rm(dir, { recursive: true, force: true });
        else log(`kept ${dir}`);
      },
    };
    return cp;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Where the binaries came from, for logs and benchmark reports. */
export async function kubernetesVersion(cp: ControlPlane): Promise<string> {
  const { stdout } = await run(join(cp.binDir, 'kube-apiserver'), ['--version']);
  return stdout.trim();
}
