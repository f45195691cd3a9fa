// Records one DatapathResult per pod UID. Creating by the UID-derived name makes the write
// idempotent across restarts and replicas: a second create gets 409, and the existing object
// is rewritten only if its outcome differs (a fixed annotation, a late success). Results live
// in the results namespace (--results-namespace), not the pod's, so a load test deleting its
// namespaces deletes none of them. A 404 is an error that is retried and says how to fix it:
// the results namespace does not exist, or the API server does not serve the CRD.
import type { CustomObjects } from '../kube/raw-apis.ts';
import { API_VERSION, CRD_NAME, GROUP, KIND, PLURAL, VERSION, resultName, type DatapathResultSpec } from '../contract.ts';
import { DpreadyError } from '../errors.ts';
import { callOptions, describeKubeError, errorLabel, httpStatus, isNamespaceNotFound } from '../kube/request-options.ts';
import type { Metrics } from './metrics.ts';
import { outcomeFingerprint, resultLabels } from './result-spec.ts';

export type WriteResult = 'created' | 'replaced' | 'unchanged' | 'namespace-gone';

export class ResultWriter {
  /** Results go to `resultsNamespace` (--results-namespace), not the pod's: they outlive it. */
  constructor(private readonly api: CustomObjects, private readonly metrics: Metrics, private readonly timeoutMs = 10_000,
    private readonly resultsNamespace = 'dpready-system') {}

  async write(spec: DatapathResultSpec): Promise<WriteResult> {
    const namespace = this.resultsNamespace;
    const name = resultName(spec.podRef.uid);
    const opts = callOptions({ timeoutMs: this.timeoutMs });
    const body = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, labels: resultLabels(spec) }, spec };
    try {
      await this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body }, opts);
      this.metrics.writes.inc({ resource: PLURAL, verb: 'create' });
      return 'created';
    } catch (err) {
      const code = httpStatus(err);
      if (code !== 409) {
        this.metrics.writeErrors.inc({ resource: PLURAL, code: errorLabel(err) });
        if (isNamespaceNotFound(err)) {
          throw new DpreadyError('DPR_BAD_CONFIG', `cannot record the result of pod ${spec.podRef.namespace}/${spec.podRef.name}: ` +
            `the results namespace ${namespace} does not exist: create it, or pass --results-namespace`, { cause: err });
        }
        if (code === 404) {
          throw new DpreadyError('DPR_CRD_MISSING', `cannot record the result of pod ${spec.podRef.namespace}/${spec.podRef.name}: ` +
            `${describeKubeError(err)}; the ${CRD_NAME} CRD is not installed: kubectl apply -f manifests/crd.yaml (or -k manifests/)`, { cause: err });
        }
        throw err;
      }
    }
    const existing = await this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name }, opts) as
      { metadata: { resourceVersion: string }; spec?: DatapathResultSpec };
    if (existing.spec && outcomeFingerprint(existing.spec) === outcomeFingerprint(spec)) return 'unchanged';
    await this.api.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } } }, opts);
    this.metrics.writes.inc({ resource: PLURAL, verb: 'update' });
    return 'replaced';
  }

  /** Deletes the result `name` of a pod of `podNamespace` (from the results namespace, where it lives). */
  async delete(podNamespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.resultsNamespace, plural: PLURAL, name },
        callOptions({ timeoutMs: this.timeoutMs }));
      this.metrics.writes.inc({ resource: PLURAL, verb: 'delete' });
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
    }
  }
}
