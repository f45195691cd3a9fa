// The real node's daemons in one CPU cgroup, as systemd runs a kubelet node's: containerd and the
// kubelet are services in system.slice, which competes with kubepods as one group, not thread by
// thread. Started by this harness they would otherwise sit in the root cgroup, where on cgroup v1
// each of their threads weighs as much as the whole of kubepods (1,024 shares against 2,048 for 2
// CPUs): while a pod starts, runc, containerd-shim, containerd and the kubelet then keep its fresh
// process from a core for tens of ms (2026-12-07-3fac7fb.json's startWaits: up to 107 ms, 160 of
// the 210 ms of CPU in that wait theirs). The control plane, which a real cluster runs on other
// machines, joins the same slice. Its processes started after a move (containerd's shims, their
// runc) inherit it; runc moves each container's process into its pod's cgroup as always.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP = '/sys/fs/cgroup';
export const SYSTEM_SLICE = 'system.slice';

/** Where the slice's CPU cgroup is: the v1 cpu hierarchy, or the unified (v2) one. */
function sliceDir(root = CGROUP): { dir: string; v2: boolean } {
  if (existsSync(join(root, 'cpu', 'cpu.shares'))) return { dir: join(root, 'cpu', SYSTEM_SLICE), v2: false };
  return { dir: join(root, SYSTEM_SLICE), v2: true };
}

/**
 * Moves process `pid` (all its threads) into system.slice's CPU cgroup, creating the slice with
 * systemd's default weight if need be. Returns why it could not, rather than throwing: a machine
 * that does not let this harness manage cgroups still runs the node, only less like a real one.
 */
export function intoSystemSlice(pid: number, root = CGROUP): string | undefined {
  const { dir, v2 } = sliceDir(root);
  try {
    if (!existsSync(dir)) {
      if (v2 && !readFileSync(join(root, 'cgroup.subtree_control'), 'utf8').includes('cpu')) writeFileSync(join(root, 'cgroup.subtree_control'), '+cpu');
      mkdirSync(dir);
      writeFileSync(join(dir, v2 ? 'cpu.weight' : 'cpu.shares'), v2 ? '100' : '1024');
    }
    appendFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
    return undefined;
  } catch (err) {
    return `pid ${pid} not moved into ${dir}: ${(err as Error).message}`;
  }
}
