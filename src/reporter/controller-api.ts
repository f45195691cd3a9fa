// The reporter's PodApi when it was injected by the webhook: instead of patching its pod with a
// Kubernetes credential, it sends the same annotation patch to the controller, showing a
// projected token for the audience dpready.perf.github.com that is bound to its pod. The token
// file is re-read for every call: the kubelet rotates it. Plain node:https (src/kube/https-call.ts).
import { readFile } from 'node:fs/promises';

import { httpsAgent, httpsCall, statusMessage } from '../kube/https-call.ts';
import type { AnnotationPatch } from './annotations.ts';
import { PodApiError, type PodApi } from './pod-writer.ts';

export interface ControllerApiOptions {
  /** https://host:port of the controller's report endpoint. */
  url: string;
  tokenFile: string;
  /** PEM bundle that signs the controller's certificate. */
  ca: string;
}

/** Retry-After in seconds (the only form the controller sends), capped: a bad header must not stall the reporter. */
export function retryAfterMs(header: string | null | undefined): number | undefined {
  return typeof header === 'string' && /^\d{1,4}$/.test(header.trim()) ? Math.min(Number(header) * 1000, 30_000) : undefined;
}

export async function controllerPodApi(o: ControllerApiOptions): Promise<PodApi & { close(): void }> {
  const url = new URL(o.url);
  const agent = await httpsAgent(o.ca);
  // URL keeps IPv6 hosts in brackets; the socket wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : 443;
  const path = `${url.pathname.replace(/\/$/, '')}/report/v1/annotations`;
  const call = async (method: 'GET' | 'PATCH', signal: AbortSignal, body?: AnnotationPatch): Promise<unknown> => {
    let token: string;
    try {
      token = (await readFile(o.tokenFile, 'utf8')).trim();
    } catch (err) {
      // The kubelet writes the token before the container starts; missing means misconfigured.
      throw new PodApiError(`cannot read the report token ${o.tokenFile}: ${(err as Error).message}`, false);
    }
    let answer;
    try {
      answer = await httpsCall({
        host, port, path, method, agent, signal,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new PodApiError(`controller ${o.url}: ${(err as Error).message}`, true);
    }
    if (answer.status < 200 || answer.status >= 300) {
      // Same rule as for the API server: no answer, throttling and server errors are retried.
      const s = answer.status;
      throw new PodApiError(`controller HTTP ${s}: ${statusMessage(answer.text)}`, s === 408 || s === 429 || s >= 500, s, retryAfterMs(answer.retryAfter));
    }
    return answer.text ? JSON.parse(answer.text) : {};
  };
  return {
    async getAnnotations(signal) {
      return ((await call('GET', signal)) as { annotations?: Record<string, string> }).annotations ?? {};
    },
    async patch(body, signal) {
      await call('PATCH', signal, body);
    },
    close: () => agent.destroy(),
  };
}
