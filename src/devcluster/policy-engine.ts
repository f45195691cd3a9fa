// The real node's NetworkPolicy engine: kube-router's own command with only its firewall (the
// network-policy controller) on, beside the bridge CNI and kube-proxy. It programs each pod a
// policy selects as iptables chains (KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-*) and ipsets,
// through iptables-restore of the whole filter table; iptables here is the nf_tables backend,
// so every commit is seen by `nft monitor` like the datapath bench's rule (engine-commits.ts).
//
// Why kube-router and not sigs.k8s.io/kube-network-policies (SIG Network's reference, smaller):
// v0.8.0 sends each connection's first packet to userspace with nftables' `queue` expression,
// and this kernel has no nft_queue (CONFIG_NFT_QUEUE unset): its only table is refused
// whole ("Could not process rule: No such file or directory"). kube-router needs iptables,
// ipset and physdev matching, which this kernel has. Security flaws are reported for v2.1.0
// (the only version served here); it runs only on the test node, firewall alone (no BGP
// router, no service proxy, no load balancer, no pprof), and is never shipped with dpready.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { DpreadyError } from '../errors.ts';
import { runBuildScript } from './build-script.ts';
import { kubeconfigYaml } from './kubeconfig-file.ts';
import { IPSET } from './node-host.ts';
import { issueClientCert, type Pki } from './pki.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

const run = promisify(execFile);
const BUILD_SCRIPT = fileURLToPath(new URL('../../test/controlplane/policy-engine.sh', import.meta.url));
/** The user its client certificate names; bound to the ClusterRole below. */
const ENGINE_USER = 'dpready:policy-engine';
const ENGINE_ROLE = 'dpready-policy-engine';

/** Builds kube-router on first use (cached by its go.sum); resolves to the binary directory. */
export function ensurePolicyEngine(log: (line: string) => void = () => {}): Promise<string> {
  return runBuildScript(BUILD_SCRIPT, [], 'the NetworkPolicy engine (kube-router)', log);
}

export interface PolicyEngine {
  /** kube-router's process, when running. */
  readonly running: boolean;
  /** Starts it (again); resolves once its health endpoint answers and its first sync ran. */
  start(): Promise<void>;
  /** SIGTERM: kube-router leaves its rules in place (as a crashed engine would); cleanup() removes them. */
  stop(): Promise<void>;
  logFile: string;
}

export interface PolicyEngineOptions {
  dir: string;
  binDir: string;
  server: string;
  pki: Pki;
  nodeName: string;
  serviceCidr: string;
  kubeConfig: k8s.KubeConfig;
  freePort(): Promise<number>;
  waitFor(what: string, proc: ManagedProcess, timeoutMs: number, check: () => Promise<boolean>): Promise<void>;
}

/**
 * Least privilege for the firewall alone: it watches what its informers need (kube-router
 * starts the service, endpoint and node informers whichever controllers run) and writes nothing.
 */
async function grantEngine(kc: k8s.KubeConfig): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const read = ['get', 'list', 'watch'];
  await rbac.createClusterRole({ body: {
    metadata: { name: ENGINE_ROLE },
    rules: [
      { apiGroups: [''], resources: ['namespaces', 'pods', 'services', 'nodes', 'endpoints'], verbs: read },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: read },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
    ],
  } }).catch((e: { code?: number }) => { if (e.code !== 409) throw e; });
  await rbac.createClusterRoleBinding({ body: {
    metadata: { name: ENGINE_ROLE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ENGINE_ROLE },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: ENGINE_USER }],
  } }).catch((e: { code?: number }) => { if (e.code !== 409) throw e; });
}

/** Why the engine cannot run here, or undefined. */
export function policyEngineUnavailable(): string | undefined {
  if (!existsSync(IPSET)) return `kube-router needs ${IPSET}: run \`bash test/controlplane/node-packages.sh\` (Debian's ipset)`;
  return undefined;
}

export async function startPolicyEngine(o: PolicyEngineOptions): Promise<PolicyEngine> {
  const unavailable = policyEngineUnavailable();
  if (unavailable) throw new DpreadyError('DPR_CONTROL_PLANE', unavailable);
  await grantEngine(o.kubeConfig);
  const [cert, key] = await issueClientCert(dirname(o.pki.caCert), 'policy-engine', `/CN=${ENGINE_USER}`);
  const kubeconfig = join(o.dir, 'policy-engine.kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(o.server, o.pki.caCert, { 'client-certificate': cert, 'client-key': key }), { mode: 0o600 });
  const logFile = join(dirname(o.dir), 'kube-router.log');
  let proc: ManagedProcess | undefined;
  const engine: PolicyEngine = {
    logFile,
    get running() { return proc !== undefined; },
    async start() {
      if (proc) return;
      const health = await o.freePort();
      const p = startProcess('kube-router', join(o.binDir, 'kube-router'), [
        '--run-firewall=true', '--run-router=false', '--run-service-proxy=false', '--run-loadbalancer=false',
        '--enable-cni=false', '--enable-ipv4=true', '--enable-ipv6=false',
        `--kubeconfig=${kubeconfig}`, `--hostname-override=${o.nodeName}`,
        `--service-cluster-ip-range=${o.serviceCidr}`, `--health-port=${health}`, '--metrics-port=0',
        // Policy changes are synced on their events; the periodic full sync only repairs drift.
        '--iptables-sync-period=5m', '--v=1',
      ], logFile);
      proc = p;
      void p.exited.then(() => { if (proc === p) proc = undefined; });
      // Healthy once its controllers sent heartbeats; the first full sync's top-level chains exist then.
      await o.waitFor('kube-router /healthz', p, 60_000, async () => {
        const ok = (await fetch(`http://127.0.0.1:${health}/healthz`)).status === 200;
        return ok && (await run('iptables', ['-S', 'KUBE-ROUTER-FORWARD']).then(() => true, () => false));
      });
    },
    async stop() {
      const p = proc;
      proc = undefined;
      await p?.stop(10_000);
    },
  };
  return engine;
}
