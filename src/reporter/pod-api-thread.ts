// The pod API, served from a worker thread. Importing @kubernetes/client-node evaluates a
// large module graph synchronously: measured here at ~0.9 s (compiled) to ~2 s (tsx) of a
// blocked event loop. On the main thread that stall would hold back probe timers and the
// callbacks that timestamp success, the very numbers the reporter exists to measure. In a
// worker it overlaps with probing instead. The main thread only posts small messages.
import { Worker } from 'node:worker_threads';

import type { AnnotationPatch } from './annotations.ts';
import type { PodApi } from './pod-writer.ts';

export interface WorkerInit { podName: string; namespace: string }
export type ToWorker =
  | { type: 'get'; id: number }
  | { type: 'patch'; id: number; body: AnnotationPatch }
  | { type: 'abort'; id: number };
export type FromWorker =
  | { type: 'loaded' }
  | { id: number; ok: true; annotations?: Record<string, string> }
  | { id: number; ok: false; message: string; retryable: boolean; status?: number };

/** A failed call as reported by the worker; pod-writer's isRetryable reads `retryable`. */
export class PodApiError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly code?: number) {
    super(message);
  }
}

export interface PodApiThread extends PodApi {
  /** Settles once the worker has loaded client-node (or failed to): call timeouts start after it. */
  loaded: Promise<void>;
  close(): Promise<void>;
}

export function startPodApiThread(init: WorkerInit): PodApiThread {
  // Under tsx (tests, dev) this module is .ts; compiled, it is .js: load the sibling alike.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const worker = new Worker(new URL(`./pod-api-worker${ext}`, import.meta.url), { workerData: init });
  // The worker must never be what keeps the process alive (sidecar idling has its own timer).
  worker.unref();
  let nextId = 0;
  const pending = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  let markLoaded!: () => void;
  const loaded = new Promise<void>((resolve) => { markLoaded = resolve; });
  worker.on('message', (m: FromWorker) => {
    if ('type' in m) { markLoaded(); return; }
    const p = pending.get(m.id);
    pending.delete(m.id);
    p?.resolve(m);
  });
  worker.on('error', (err) => { markLoaded(); failAll(new PodApiError(`pod API thread failed: ${err.message}`, false)); });
  worker.on('exit', (code) => { markLoaded(); failAll(new PodApiError(`pod API thread exited (code ${code})`, false)); });

  const call = (msg: ToWorker, signal: AbortSignal): Promise<FromWorker> =>
    new Promise<FromWorker>((resolve, reject) => {
      if (signal.aborted) return reject(new PodApiError('aborted', true));
      pending.set(msg.id, { resolve, reject });
      signal.addEventListener('abort', () => {
        worker.postMessage({ type: 'abort', id: msg.id } satisfies ToWorker);
        pending.delete(msg.id);
        reject(new PodApiError('aborted', true));
      }, { once: true });
      worker.postMessage(msg);
    }).then((m) => {
      if ('type' in m) throw new PodApiError('unexpected message from the pod API thread', false);
      if (!m.ok) throw new PodApiError(m.message, m.retryable, m.status);
      return m;
    });

  return {
    loaded,
    async getAnnotations(signal) {
      const m = await call({ type: 'get', id: nextId++ }, signal);
      return ('ok' in m && m.ok && m.annotations) || {};
    },
    async patch(body, signal) {
      await call({ type: 'patch', id: nextId++, body }, signal);
    },
    async close() {
      await worker.terminate();
    },
  };
}
