// The burst's floor as a process of its own, as dpready's controller is one: a bare loop that
// watches the pods of one namespace and patches the condition True the moment the ready
// annotation appears (no queue, no logic, no result). Run apart from the benchmark process,
// which sends the annotations and reads the watches, so neither slows the other on its event
// loop. Usage: floor-loop.ts <server> <namespace> <ca> <client cert> <client key>. Prints
// "watching" once its watch is open; on SIGTERM prints {"patched":N,"errors":M} and exits.
import { CONDITION_TYPE, ANNOTATION_DP_READY } from '../src/contract.ts';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';
import { Kube } from './kube.ts';

const [server, ns, caCert, adminCert, adminKey] = process.argv.slice(2);
if (!server || !ns || !caCert || !adminCert || !adminKey) {
  process.stderr.write('usage: floor-loop.ts <server> <namespace> <ca> <client cert> <client key>\n');
  process.exit(2);
}
// Kube reads only the control plane's PKI paths.
const kube = new Kube(server, { pki: { caCert, adminCert, adminKey } } as unknown as ControlPlane, 64);
const patched = new Set<string>();
let errors = 0;
/** Patches one pod's condition; a failed patch (a timeout on a busy API server) is tried again, as any controller would. */
function patch(name: string, uid: string, attempt = 1): void {
  kube.patchCondition(ns!, name, uid, {
    type: CONDITION_TYPE, status: 'True', reason: 'DatapathReady', message: 'floor', lastTransitionTime: new Date().toISOString(),
  }).catch((err: unknown) => {
    errors++;
    process.stderr.write(`floor patch ${name} failed (attempt ${attempt}): ${String(err)}\n`);
    if (attempt < 10) setTimeout(() => patch(name, uid, attempt + 1), Math.min(2_000, 100 * 2 ** attempt));
  });
}
const w = await kube.watch(`/api/v1/namespaces/${ns}/pods`, (e) => {
  const pod = e.object;
  if ((e.type !== 'ADDED' && e.type !== 'MODIFIED') || patched.has(pod.metadata.uid) || !pod.metadata.annotations?.[ANNOTATION_DP_READY]) return;
  patched.add(pod.metadata.uid);
  patch(pod.metadata.name, pod.metadata.uid);
});
process.stdout.write('watching\n');
process.once('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ patched: patched.size, errors })}\n`);
  void w.stop().finally(() => process.exit(0));
});
