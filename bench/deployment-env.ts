// NODE_OPTIONS exactly as manifests/controller.yaml gives the controller, read from the manifest
// so the benchmark cannot drift from what is deployed.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

type Container = { name: string; env?: Array<{ name: string; value?: string }> };

export function deploymentNodeOptions(): Record<string, string> {
  const text = readFileSync(new URL('../manifests/controller.yaml', import.meta.url), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } } | null;
    if (o?.kind !== 'Deployment') continue;
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      const v = c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
      if (v) return { NODE_OPTIONS: v };
    }
  }
  return {};
}
