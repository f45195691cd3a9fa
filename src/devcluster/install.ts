// Installs dpready on a local control plane the way a user installs it on a cluster:
// `kubectl apply -k manifests/`, then the reporter's ServiceAccount, Role and RoleBinding in
// each workload namespace (what the overlay described in manifests/reporter.yaml does).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { CRD_NAME } from '../contract.ts';
import type { ControlPlane } from './control-plane.ts';

const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url));
const NAMESPACED_REPORTER_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding']);

type Obj = { kind: string; metadata: { namespace?: string }; subjects?: Array<{ namespace?: string }> };

/** The reporter's namespaced objects from manifests/reporter.yaml, moved into `namespace`. */
export async function reporterObjectsFor(namespace: string): Promise<string> {
  const docs = parseAllDocuments(await readFile(`${MANIFESTS}reporter.yaml`, 'utf8')).map((d) => d.toJS() as Obj);
  return docs.filter((d) => d && NAMESPACED_REPORTER_KINDS.has(d.kind)).map((d) => {
    d.metadata.namespace = namespace;
    for (const s of d.subjects ?? []) s.namespace = namespace;
    return stringify(d);
  }).join('---\n');
}

export async function installDpready(cp: ControlPlane, opts: { workloadNamespaces: string[] }): Promise<void> {
  await cp.kubectl(['apply', '--server-side', '-k', MANIFESTS]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`]);
  for (const ns of opts.workloadNamespaces) {
    await cp.ensureNamespace(ns);
    await cp.kubectl(['apply', '--server-side', '-f', '-'], await reporterObjectsFor(ns));
  }
}
