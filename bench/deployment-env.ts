// NODE_OPTIONS and MALLOC_ARENA_MAX exactly as manifests/controller.yaml gives the controller,
// read from the manifest so the benchmark cannot drift from what is deployed.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

type Container = { name: string; env?: Array<{ name: string; value?: string }>; resources?: { limits?: { memory?: string } } };

const UNITS: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024 };

/**
 * The Deployment sizes the heap as a share of the container's memory limit
 * (--max-old-space-size-percentage; Node reads the cgroup's limit). The benchmark runs the
 * controller as a plain process, where that share would be of the whole host: give it the
 * same heap in MiB instead.
 */
export function heapForLimit(nodeOptions: string, memoryLimit: string | undefined): string {
  const m = /--max-old-space-size-percentage=(\d+(?:\.\d+)?)/.exec(nodeOptions);
  const lim = memoryLimit !== undefined ? /^(\d+)(Ki|Mi|Gi)$/.exec(memoryLimit) : null;
  if (!m || !lim) return nodeOptions;
  const mib = Math.floor((Number(lim[1]) * UNITS[lim[2]!]! * Number(m[1])) / 100);
  return nodeOptions.replace(m[0], `--max-old-space-size=${mib}`);
}

/** The variables of the controller's container that shape its memory: what the benchmark copies. */
export const RUNTIME_ENV = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const;

export function deploymentNodeOptions(): Record<string, string> {
  const text = readFileSync(new URL('../manifests/controller.yaml', import.meta.url), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } } | null;
    if (o?.kind !== 'Deployment') continue;
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      if (c.name !== 'controller') continue;
      const out: Record<string, string> = {};
      for (const name of RUNTIME_ENV) {
        const v = c.env?.find((e) => e.name === name)?.value;
        if (v !== undefined) out[name] = name === 'NODE_OPTIONS' ? heapForLimit(v, c.resources?.limits?.memory) : v;
      }
      return out;
    }
  }
  return {};
}

/** How a run names the controller's memory settings: `MALLOC_ARENA_MAX=2 --max-old-space-size=…`. */
export function describeRuntimeEnv(env: Record<string, string>): string {
  return [env.MALLOC_ARENA_MAX !== undefined ? `MALLOC_ARENA_MAX=${env.MALLOC_ARENA_MAX}` : '', env.NODE_OPTIONS ?? ''].filter(Boolean).join(' ');
}
