// What one reporter costs on the real node, read from its container's own cgroup (the files
// the kubelet's cgroupfs driver lays out under kubepods/…/pod<uid>/<container id>): peak
// memory, CPU, and, after a sidecar's handover, what is left. Plus the instant of its first
// probe attempt (its own log line, as the kubelet keeps it) against the container's start as
// the runtime recorded it (CRI status, nanoseconds).
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** Where one container's cgroup files are (cgroup v1 controllers, or one v2 directory). */
export interface ContainerCgroup { memory: string; cpu: string; v2: boolean }

export interface CgroupSample {
  /** Peak charged memory (v1 memory.max_usage_in_bytes, v2 memory.peak), MiB. */
  peakMiB: number;
  /** Charged memory now, page cache included, MiB. */
  usageMiB: number;
  /** Resident memory of its processes: anonymous + mapped file pages, MiB. */
  rssMiB: number;
  /** CPU used so far, ms. */
  cpuMs: number;
}

async function findDir(root: string, name: string, depth: number): Promise<string | undefined> {
  if (depth < 0) return undefined;
  let entries;
  try { entries = await readdir(root, { withFileTypes: true }); } catch { return undefined; }
  for (const e of entries) if (e.isDirectory() && e.name === name) return join(root, e.name);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = await findDir(join(root, e.name), name, depth - 1);
    if (found) return found;
  }
  return undefined;
}

/** The cgroup directories of a container, by its id (v1 memory+cpuacct here; v2 if that is all there is). */
export async function containerCgroup(containerId: string): Promise<ContainerCgroup | undefined> {
  const memory = await findDir('/sys/fs/cgroup/memory/kubepods', containerId, 4);
  if (memory) {
    const cpu = await findDir('/sys/fs/cgroup/cpuacct/kubepods', containerId, 4) ?? await findDir('/sys/fs/cgroup/cpu,cpuacct/kubepods', containerId, 4);
    if (cpu) return { memory, cpu, v2: false };
  }
  const unified = await findDir('/sys/fs/cgroup/kubepods', containerId, 4) ?? await findDir('/sys/fs/cgroup/unified/kubepods', containerId, 4);
  return unified ? { memory: unified, cpu: unified, v2: true } : undefined;
}

const MiB = 1024 * 1024;
const round1 = (n: number) => Math.round(n * 10) / 10;

function stat(text: string): Record<string, number> {
  return Object.fromEntries(text.trim().split('\n').map((l) => { const [k, v] = l.split(' '); return [k!, Number(v)]; }));
}

export async function sampleCgroup(c: ContainerCgroup): Promise<CgroupSample> {
  const read = (dir: string, f: string) => readFile(join(dir, f), 'utf8');
  if (c.v2) {
    const [peak, current, mem, cpu] = await Promise.all([read(c.memory, 'memory.peak'), read(c.memory, 'memory.current'), read(c.memory, 'memory.stat'), read(c.cpu, 'cpu.stat')]);
    const m = stat(mem);
    return { peakMiB: round1(Number(peak) / MiB), usageMiB: round1(Number(current) / MiB), rssMiB: round1(((m.anon ?? 0) + (m.file_mapped ?? 0)) / MiB), cpuMs: round1((stat(cpu).usage_usec ?? 0) / 1000) };
  }
  const [peak, usage, mem, cpu] = await Promise.all([read(c.memory, 'memory.max_usage_in_bytes'), read(c.memory, 'memory.usage_in_bytes'), read(c.memory, 'memory.stat'), read(c.cpu, 'cpuacct.usage')]);
  const m = stat(mem);
  return { peakMiB: round1(Number(peak) / MiB), usageMiB: round1(Number(usage) / MiB), rssMiB: round1(((m.total_rss ?? m.rss ?? 0) + (m.total_mapped_file ?? m.mapped_file ?? 0)) / MiB), cpuMs: round1(Number(cpu) / 1e6) };
}

/** The programs running in the container now (their /proc/<pid>/comm). */
/** The pids of a container's processes (none once its cgroup is gone). */
export async function containerPids(c: ContainerCgroup): Promise<number[]> {
  return (await readFile(join(c.memory, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
}

export async function containerPrograms(c: ContainerCgroup): Promise<string[]> {
  return Promise.all((await containerPids(c)).map(async (pid) => (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim()));
}

/** A JSON log line of a container as the kubelet keeps it: its wall-clock instant and Node's uptime then. */
export interface LogInstant { at: number; sinceProcessStartMs?: number; cpuMs?: number }

/** The first log line whose msg is `msg`, from the kubelet's pod log of `container`. */
export async function logLineAt(pod: { namespace: string; name: string; uid: string }, container: string, msg: string): Promise<LogInstant | undefined> {
  const dir = join('/var/log/pods', `${pod.namespace}_${pod.name}_${pod.uid}`, container);
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const f of files.sort()) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      // CRI log format: "<time> <stream> <P|F> <message>". The instant is the one the process
      // wrote into its line (its own clock when it logged), not the runtime's receipt time.
      const json = line.slice(line.indexOf('{'));
      if (!json.includes(`"${msg}"`)) continue;
      try {
        const l = JSON.parse(json) as { time: string; sinceProcessStartMs?: number; cpuMs?: number };
        return {
          at: Date.parse(l.time),
          ...(typeof l.sinceProcessStartMs === 'number' ? { sinceProcessStartMs: l.sinceProcessStartMs } : {}),
          ...(typeof l.cpuMs === 'number' ? { cpuMs: l.cpuMs } : {}),
        };
      } catch { /* a partial line */ }
    }
  }
  return undefined;
}

/** The reporter's "first probe attempt" log line (the attempt is logged as it starts). */
export function firstAttemptAt(pod: { namespace: string; name: string; uid: string }, container: string): Promise<LogInstant | undefined> {
  return logLineAt(pod, container, 'first probe attempt');
}

/** The message of the bare Node baseline's one line (baselineScript). */
export const BASELINE_MSG = 'node -e started';

/**
 * The baseline for "first attempt after CRI start": the same image's Node with `-e`, printing
 * one line as the reporter does (wall time, Node's uptime), then waiting as a handed-over
 * sidecar does (execve of the same shell waiter), so it neither exits nor keeps CPU or memory.
 */
export function baselineScript(waiter: { file: string; args: string[] }): string {
  return `process.stderr.write(JSON.stringify({time:new Date().toISOString(),msg:${JSON.stringify(BASELINE_MSG)},sinceProcessStartMs:performance.now(),cpuMs:(({user,system})=>(user+system)/1000)(process.cpuUsage())})+'\\n');`
    + `process.execve(${JSON.stringify(waiter.file)},${JSON.stringify(waiter.args)},process.env)`;
}

/** CRI's start instant of a container, ms since the epoch (its status file holds nanoseconds). */
export async function criStartedAt(criRoot: string, containerId: string): Promise<number | undefined> {
  const status = JSON.parse(await readFile(join(criRoot, containerId, 'status'), 'utf8')) as { StartedAt?: number };
  return status.StartedAt ? status.StartedAt / 1e6 : undefined;
}

/**
 * A stand-in for the controller's report endpoint (report mode), on the node's bridge address:
 * it answers the reporter's two calls as the controller does (no annotations yet; a patch taken)
 * and records each patch with its pod. What is measured is the reporter, which cannot tell.
 */
export interface ReportSink {
  url: string;
  /** Patches received, by pod name (from the bound token's claims; the signature is not checked here). */
  patches: Map<string, Record<string, string | null>[]>;
  close(): Promise<void>;
}

export async function reportSink(host: string, tls: { cert: string; key: string }): Promise<ReportSink> {
  const patches = new Map<string, Record<string, string | null>[]>();
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      // The token is the pod's ServiceAccount token: its claims name the pod.
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      let pod = '?';
      try { pod = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { 'kubernetes.io'?: { pod?: { name?: string } } })['kubernetes.io']?.pod?.name ?? '?'; } catch { /* not a JWT */ }
      if (req.method === 'PATCH') {
        const list = patches.get(pod) ?? [];
        list.push((JSON.parse(body) as { metadata: { annotations: Record<string, string | null> } }).metadata.annotations);
        patches.set(pod, list);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'GET' ? '{"annotations":{}}' : '{}');
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, () => resolve()); });
  return {
    url: `https://${host}:${(server.address() as AddressInfo).port}`,
    patches,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
