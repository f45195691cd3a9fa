// Classic mode's PodApi: the reporter reads and merge-patches its own pod's annotations on the
// API server, with the pod's ServiceAccount token, over plain HTTPS (src/kube/). A JSON merge
// patch of metadata.annotations touches only the keys it names. Failures come back classified
// for withRetry: no answer, 408, 409, 429 and 5xx are worth another try; any other status is a
// definite "no" (RBAC, the admission policy, a deleted pod).
import { httpsAgent, httpsCall, statusMessage } from '../kube/https-call.ts';
import { inCluster } from '../kube/in-cluster.ts';
import type { AnnotationPatch } from './annotations.ts';
import { PodApiError, type PodApi } from './pod-writer.ts';

export interface KubePodApiOptions {
  podName: string;
  namespace: string;
  env: Record<string, string | undefined>;
  /** Where the token and ca.crt are (the ServiceAccount mount unless a test says otherwise). */
  serviceAccountDir?: string;
}

export async function kubePodApi(o: KubePodApiOptions): Promise<PodApi & { close(): void }> {
  let cluster: Awaited<ReturnType<typeof inCluster>>;
  try {
    cluster = await inCluster(o.env, o.serviceAccountDir);
  } catch (err) {
    return unusable(new PodApiError((err as Error).message, false));
  }
  const agent = await httpsAgent(cluster.ca);
  const path = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.podName)}`;
  const call = async (method: 'GET' | 'PATCH', signal: AbortSignal, body?: AnnotationPatch): Promise<string> => {
    const token = await cluster.token().catch((err: Error) => { throw new PodApiError(err.message, false); });
    let answer;
    try {
      answer = await httpsCall({
        host: cluster.host, port: cluster.port, path, method, agent, signal,
        headers: {
          authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'dpready-reporter',
          ...(body ? { 'content-type': 'application/merge-patch+json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = (err as NodeJS.ErrnoException).code;
      throw new PodApiError(`API server ${cluster.host}:${cluster.port}: ${(err as Error).message}${code && !(err as Error).message.includes(code) ? ` (${code})` : ''}`, true);
    }
    if (answer.status >= 300) {
      const s = answer.status;
      throw new PodApiError(`HTTP ${s}: ${statusMessage(answer.text)}`, s === 408 || s === 409 || s === 429 || s >= 500, s);
    }
    return answer.text;
  };
  return {
    async getAnnotations(signal) {
      const pod = JSON.parse(await call('GET', signal)) as { metadata?: { annotations?: Record<string, string> } };
      return pod.metadata?.annotations ?? {};
    },
    async patch(body, signal) {
      await call('PATCH', signal, body);
    },
    close: () => agent.destroy(),
  };
}

/** A PodApi whose every call fails with `err`: the run reports it as an API failure. */
function unusable(err: PodApiError): PodApi & { close(): void } {
  return { getAnnotations: () => Promise.reject(err), patch: () => Promise.reject(err), close: () => {} };
}
