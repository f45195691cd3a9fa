// Installs dpready on a local control plane the way a user installs it on a cluster:
// `kubectl apply -k manifests/`, then the reporter's ServiceAccount, Role and RoleBinding in
// each workload namespace (what the overlay described in manifests/reporter.yaml does).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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

/**
 * `kubectl apply -k` of the base, or with `image` of an overlay that overrides only the image,
 * as a user who builds their own would (manifests/kustomization.yaml shows that overlay).
 */
export async function installDpready(cp: ControlPlane, opts: { workloadNamespaces: string[]; image?: string }): Promise<void> {
  if (opts.image) {
    const overlay = await mkdtemp(join(tmpdir(), 'dpready-overlay-'));
    try {
      const [newName, newTag] = opts.image.split(/:(?=[^:/]+$)/);
      await writeFile(join(overlay, 'kustomization.yaml'), stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization',
        resources: [relative(overlay, MANIFESTS)],
        images: [{ name: 'ghcr.io/dpready/dpready', newName, newTag }],
      }));
      await cp.kubectl(['apply', '--server-side', '-k', overlay]);
    } finally {
      await rm(overlay, { recursive: true, force: true });
    }
  } else {
    await cp.kubectl(['apply', '--server-side', '-k', MANIFESTS]);
  }
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`]);
  for (const ns of opts.workloadNamespaces) {
    await cp.ensureNamespace(ns);
    await cp.kubectl(['apply', '--server-side', '-f', '-'], await reporterObjectsFor(ns));
  }
}
