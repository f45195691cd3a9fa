// Worker-thread side of the pod API (see pod-api-thread.ts for why it is a thread). Loads
// client-node here, where its ~1-2 s of module evaluation cannot stall the probe timers,
// and serves get/patch requests from the main thread.
import { parentPort, workerData } from 'node:worker_threads';

import { describeApiError, isRetryable, kubePodApi, type PodApi } from './pod-writer.ts';
import type { ToWorker, FromWorker, WorkerInit } from './pod-api-thread.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const inFlight = new Map<number, AbortController>();

const ready: Promise<PodApi> = (async () => {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  // In-cluster service account when running in a pod, else KUBECONFIG or ~/.kube/config.
  kc.loadFromDefault();
  return kubePodApi(kc, init.podName, init.namespace);
})();
// Tell the main thread when loading is over, so per-call timeouts start only then (under CPU
// contention, loading alone can take longer than a call's timeout). A load failure surfaces
// on the first request rather than as an unhandled rejection.
ready.then(() => port.postMessage({ type: 'loaded' }), () => port.postMessage({ type: 'loaded' }));

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'abort') {
    inFlight.get(msg.id)?.abort();
    return;
  }
  const ac = new AbortController();
  inFlight.set(msg.id, ac);
  const reply = (m: FromWorker) => { inFlight.delete(msg.id); port.postMessage(m); };
  ready
    .then((api) => (msg.type === 'get' ? api.getAnnotations(ac.signal) : api.patch(msg.body, ac.signal).then(() => undefined)))
    .then(
      (annotations) => reply({ id: msg.id, ok: true, ...(annotations ? { annotations } : {}) }),
      (err: unknown) => {
        const status = (err as { code?: unknown } | null)?.code;
        reply({
          id: msg.id, ok: false, message: describeApiError(err), retryable: isRetryable(err),
          ...(typeof status === 'number' ? { status } : {}),
        });
      },
    );
});
