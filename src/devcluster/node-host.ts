// The host side of the real node: what the machine must offer, the pod network's bridge, and
// a teardown that leaves no process, mount, network namespace, iptables rule, cgroup or link
// behind. Kept apart from the processes (real-node.ts) because every step here is a root
// operation on shared host state, and each must be undone even after a crash.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DpreadyError } from '../errors.ts';

const run = promisify(execFile);

/** The pod network: one bridge, one /24, its gateway is the node's (and the apiserver's) address. */
export const POD_BRIDGE = 'dpready0';
export const POD_SUBNET = '10.244.0.0/24';
export const NODE_IP = '10.244.0.1';
export const CLUSTER_DNS_IP = '10.96.0.10';
const NETNS_DIR = '/run/netns';
/** Debian's ipset, which the policy engine (kube-router) runs to keep its address sets. */
export const IPSET = '/usr/sbin/ipset';
const CGROUP_ROOT = '/sys/fs/cgroup';
/** The kubelet (cgroupfs driver, cgroupsPerQOS) puts every pod under this cgroup in each hierarchy. */
const KUBEPODS = 'kubepods';

const HOST_TOOLS: [string, string][] = [
  ['containerd', '/usr/bin/containerd'], ['ctr', '/usr/bin/ctr'], ['runc', '/usr/sbin/runc'],
  ['iptables', '/usr/sbin/iptables'], ['conntrack', '/usr/sbin/conntrack'], ['ip', '/usr/sbin/ip'],
  ['bridge CNI plugin', '/usr/lib/cni/bridge'], ['host-local CNI plugin', '/usr/lib/cni/host-local'],
  ['loopback CNI plugin', '/usr/lib/cni/loopback'], ['buildah', '/usr/bin/buildah'],
];

/**
 * Why this machine cannot run a real node, or undefined when it can. The reasons name what is
 * missing, so a skipped test says what to install or change.
 */
export function realNodeUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `a real node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'a real node needs root (kubelet, containerd, iptables and network namespaces)';
  const missing = HOST_TOOLS.filter(([, path]) => !existsSync(path)).map(([name, path]) => `${name} (${path})`);
  if (missing.length > 0) {
    return `missing ${missing.join(', ')}: run \`bash test/controlplane/node-packages.sh\` (Debian's containerd, runc, iptables, conntrack, containernetworking-plugins, buildah, debootstrap)`;
  }
  if (!existsSync(join(CGROUP_ROOT, 'memory')) && !existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) {
    return `no cgroup hierarchy at ${CGROUP_ROOT}`;
  }
  return undefined;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || String(err);
    throw new DpreadyError('DPR_CONTROL_PLANE', `${cmd} ${args.join(' ')} failed: ${detail}`, { cause: err });
  }
}

async function quietly(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args).catch(() => {});
}

export async function listNetns(): Promise<Set<string>> {
  return new Set(await readdir(NETNS_DIR).catch(() => []));
}

/** The bridge the CNI plugin attaches pods to, created up front so the node IP exists before the apiserver advertises it. */
export async function createPodBridge(): Promise<void> {
  await quietly('ip', ['link', 'delete', POD_BRIDGE]);
  await sh('ip', ['link', 'add', POD_BRIDGE, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', POD_BRIDGE]);
  await sh('ip', ['link', 'set', POD_BRIDGE, 'up']);
  // Service traffic between two pods on one bridge is switched, not routed: kube-proxy's DNAT
  // sees it only with bridge netfilter on.
  await quietly('modprobe', ['br_netfilter']);
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  if (existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    await writeFile('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
  }
}

/** The CNI configuration containerd reads: bridge + host-local IPAM whose state lives in `dir`. */
export function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0', name: 'dpready',
    plugins: [{
      type: 'bridge', bridge: POD_BRIDGE, isGateway: true, ipMasq: false, hairpinMode: true,
      ipam: {
        type: 'host-local', dataDir: join(dir, 'ipam'),
        ranges: [[{ subnet: POD_SUBNET, gateway: NODE_IP, rangeStart: '10.244.0.10' }]],
        routes: [{ dst: '0.0.0.0/0' }],
      },
    }],
  }, null, 2);
}

async function processesMatching(match: (cmdline: string) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline && match(cmdline.replaceAll('\0', ' '))) pids.push(Number(entry));
  }
  return pids;
}

async function cgroupDirs(): Promise<string[]> {
  const dirs: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
    }
    dirs.push(d); // children first: rmdir needs them gone
  };
  for (const hierarchy of await readdir(CGROUP_ROOT).catch(() => [])) {
    const top = join(CGROUP_ROOT, hierarchy, KUBEPODS);
    if (existsSync(top)) await walk(top);
  }
  const unified = join(CGROUP_ROOT, 'unified', KUBEPODS);
  if (existsSync(unified) && !dirs.includes(unified)) await walk(unified);
  return dirs;
}

function kill(pid: number): void {
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

export interface HostState {
  /** Network namespaces that existed before the node started; others are the node's. */
  netnsBefore: Set<string>;
  dir: string;
  containerdSocket: string;
}

/** What a teardown left behind, in words; empty when the host is clean. */
export async function leftovers(state: HostState): Promise<string[]> {
  const found: string[] = [];
  const procs = await processesMatching((c) => c.includes(state.dir) || c.includes(state.containerdSocket));
  if (procs.length > 0) found.push(`processes ${procs.join(', ')}`);
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')
    .map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(state.dir));
  if (mounts.length > 0) found.push(`mounts ${mounts.join(', ')}`);
  const netns = [...await listNetns()].filter((n) => !state.netnsBefore.has(n));
  if (netns.length > 0) found.push(`network namespaces ${netns.join(', ')}`);
  const rules = (await sh('iptables-save', []).catch(() => '')).split('\n').filter((l) => /KUBE-|CNI-/.test(l));
  if (rules.length > 0) found.push(`${rules.length} iptables lines (KUBE-/CNI-)`);
  const cgroups = await cgroupDirs();
  if (cgroups.length > 0) found.push(`cgroups ${cgroups.slice(0, 3).join(', ')}${cgroups.length > 3 ? ', …' : ''}`);
  if (existsSync(`/sys/class/net/${POD_BRIDGE}`)) found.push(`link ${POD_BRIDGE}`);
  const sets = await engineIpsets();
  if (sets.length > 0) found.push(`ipsets ${sets.join(', ')}`);
  return found;
}

/**
 * Clears what an earlier real node left when its test process was killed outright (its
 * children die with it, but containers, shims, cgroups, mounts, rules and the bridge do not).
 * Safe only under the real-node lock: then no other node's state can be live.
 */
export async function sweepStaleNode(): Promise<void> {
  const ours = (path: string) => /\/dpready-(cp|bench)-[^/]+\/node\//.test(path);
  const stale: HostState = { netnsBefore: await listNetns(), dir: '/nonexistent-dpready-node', containerdSocket: '/nonexistent-dpready.sock' };
  for (const pid of await processesMatching((c) => c.includes('containerd-shim') && ours(c))) kill(pid);
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')
    .map((l) => l.split(' ')[4]).filter((m): m is string => !!m && ours(m));
  for (const m of mounts.reverse()) await quietly('umount', ['-l', m]);
  await cleanHost(stale, async () => {});
}

/**
 * Removes every trace of the node. Runs after kubelet, kube-proxy and containerd were asked to
 * stop; kills what they left (pods live on in containerd's shims, which no signal to
 * containerd reaches), then unmounts, deletes and flushes. Idempotent.
 */
export async function cleanHost(state: HostState, kubeProxyCleanup: () => Promise<void>): Promise<void> {
  // Pods first: every container process is in a kubepods cgroup, shims are found by socket.
  for (const d of await cgroupDirs()) {
    const pids = (await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    for (const pid of pids) kill(Number(pid));
  }
  for (const pid of await processesMatching((c) => c.includes(state.containerdSocket) || c.includes(state.dir))) kill(pid);
  await new Promise((r) => setTimeout(r, 200));
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')
    .map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(state.dir));
  for (const m of mounts.reverse()) await quietly('umount', ['-l', m]);
  for (const n of await listNetns()) {
    if (!state.netnsBefore.has(n)) await quietly('ip', ['netns', 'delete', n]);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const dirs = await cgroupDirs();
    if (dirs.length === 0) break;
    for (const d of dirs) await rmdir(d).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
  }
  await kubeProxyCleanup();
  // The kubelet's own chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) are not
  // kube-proxy's to clean: remove every KUBE- chain and every jump to one.
  for (const family of ['iptables', 'ip6tables']) await removeKubeChains(family);
  // The policy engine's address sets, once no rule refers to them (a set in use cannot go).
  for (const name of await engineIpsets()) await quietly(IPSET, ['destroy', name]);
  await quietly('ip', ['link', 'delete', POD_BRIDGE]);
}

/** The ipsets kube-router makes (KUBE-SRC-…, KUBE-DST-…, and its kube-router-… sets). */
async function engineIpsets(): Promise<string[]> {
  if (!existsSync(IPSET)) return [];
  const out = await run(IPSET, ['list', '-n']).then((r) => r.stdout, () => '');
  return out.split('\n').map((l) => l.trim()).filter((n) => /^(inet6:)?(KUBE-|kube-router)/i.test(n));
}

async function removeKubeChains(family: string): Promise<void> {
  const dump = await sh(`${family}-save`, []).catch(() => '');
  let table = '';
  const jumps: string[][] = [];
  const chains: [string, string][] = [];
  for (const line of dump.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':KUBE-')) chains.push([table, line.slice(1).split(' ')[0]!]);
    else if (/^-A (?!KUBE-)\S+ .*-j KUBE-/.test(line)) jumps.push(['-t', table, '-D', ...splitRule(line.slice(3))]);
  }
  for (const args of jumps) await quietly(family, args);
  for (const [t, chain] of chains) await quietly(family, ['-t', t, '-F', chain]);
  for (const [t, chain] of chains) await quietly(family, ['-t', t, '-X', chain]);
}

/** Splits an iptables-save rule into arguments, honouring double-quoted comments. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}
