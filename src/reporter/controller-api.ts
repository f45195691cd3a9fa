// The reporter's PodApi when it was injected by the webhook: instead of patching its pod with a
// Kubernetes credential, it sends the same annotation patch to the controller, showing a
// projected token for the audience dpready.perf.github.com that is bound to its pod. The token
// file is re-read for every call: the kubelet rotates it. No client-node here, so this runs on
// the main thread (see pod-api-thread.ts for why the Kubernetes client does not).
import { readFile } from 'node:fs/promises';
import { Agent, fetch } from 'undici';

import type { AnnotationPatch } from './annotations.ts';
import { PodApiError } from './pod-api-thread.ts';
import type { PodApi } from './pod-writer.ts';

export interface ControllerApiOptions {
  /** https://host:port of the controller's report endpoint. */
  url: string;
  tokenFile: string;
  /** PEM bundle that signs the controller's certificate. */
  ca: string;
}

export function controllerPodApi(o: ControllerApiOptions): PodApi & { close(): Promise<void> } {
  const dispatcher = new Agent({ connect: { ca: o.ca }, keepAliveTimeout: 30_000 });
  const endpoint = `${o.url.replace(/\/$/, '')}/report/v1/annotations`;
  const call = async (method: 'GET' | 'PATCH', signal: AbortSignal, body?: AnnotationPatch): Promise<unknown> => {
    let token: string;
    try {
      token = (await readFile(o.tokenFile, 'utf8')).trim();
    } catch (err) {
      // The kubelet writes the token before the container starts; missing means misconfigured.
      throw new PodApiError(`cannot read the report token ${o.tokenFile}: ${(err as Error).message}`, false);
    }
    let res;
    try {
      res = await fetch(endpoint, {
        method, signal, dispatcher,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const cause = (err as { cause?: { message?: string } }).cause;
      throw new PodApiError(`controller ${o.url}: ${(err as Error).message}${cause?.message ? `: ${cause.message}` : ''}`, true);
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try { message = (JSON.parse(text) as { message?: string }).message ?? text; } catch { /* not JSON */ }
      // Same rule as for the API server: no answer, throttling and server errors are retried.
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      throw new PodApiError(`controller HTTP ${res.status}: ${message}`, retryable, res.status);
    }
    return text ? JSON.parse(text) : {};
  };
  return {
    async getAnnotations(signal) {
      return ((await call('GET', signal)) as { annotations?: Record<string, string> }).annotations ?? {};
    },
    async patch(body, signal) {
      await call('PATCH', signal, body);
    },
    close: () => dispatcher.close(),
  };
}
