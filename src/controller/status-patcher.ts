// Writes our condition. A strategic-merge patch on pods/status whose body holds only our
// condition (it merges into the list by type, so the kubelet's conditions stay as they are),
// with the pod UID as a precondition and no resourceVersion, so it never conflicts with the
// kubelet's own status writes. Sent as plain JSON (raw-request.ts): the API server answers with
// the whole pod, which we do not read, so nothing turns it into client-node's models.
import type { ConditionPatch } from '../conditions/condition-patch.ts';
import { errorLabel, httpStatus } from '../kube/request-options.ts';
import type { RawRequest } from '../kube/raw-request.ts';
import type { Metrics } from './metrics.ts';

export type PatchResult = 'patched' | 'pod-gone';

export class StatusPatcher {
  constructor(private readonly request: RawRequest, private readonly metrics: Metrics, private readonly timeoutMs = 10_000) {}

  async patch(namespace: string, name: string, body: ConditionPatch): Promise<PatchResult> {
    try {
      await this.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/status`,
        { body, contentType: 'application/strategic-merge-patch+json', timeoutMs: this.timeoutMs, discardBody: true });
      this.metrics.writes.inc({ resource: 'pods/status', verb: 'patch' });
      return 'patched';
    } catch (err) {
      const code = httpStatus(err);
      this.metrics.writeErrors.inc({ resource: 'pods/status', code: errorLabel(err) });
      // 404: the pod is gone. A UID mismatch (the name now belongs to a new pod) comes back
      // as 422 "metadata.uid: field is immutable".
      if (code === 404 || (code === 422 && /metadata\.uid/.test(String((err as { body?: unknown }).body)))) return 'pod-gone';
      throw err;
    }
  }
}
