// The controller's HTTPS side: the mutating admission webhook (POST /mutate) and the report
// endpoint of injected reporters (GET/PATCH /report/v1/annotations). Every replica serves it,
// leader or not: admission must not wait for an election, and annotation writes are merge
// patches of our own keys that any replica may send.
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { PatchStrategy, type AuthenticationV1Api, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ErrorCode } from '../errors.ts';
import { apiStatus, callOptions, describeKubeError, errorLabel, httpStatus } from '../kube/request-options.ts';
import type { Logger } from '../controller/controller.ts';
import type { Metrics } from '../controller/metrics.ts';
import { CONDITION_TYPE, INJECTED_ANNOTATION, REPORT_AUDIENCE } from '../contract.ts';
import type { TlsBundle } from './certs.ts';
import { decideInjection, type InjectSettings } from './inject.ts';
import { checkAnnotationPatch, ownAnnotations, type BoundPod } from './report.ts';
import { TokenReviewer } from './token-reviews.ts';

export function webhookMetrics(registry: Registry) {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    admissions: get('dpready_webhook_admissions_total', () => new Counter({
      name: 'dpready_webhook_admissions_total', help: 'Pod admission requests answered, by result (injected, skipped, error) and reason.',
      labelNames: ['result', 'reason'] as const, registers: [registry] })),
    admissionDuration: get('dpready_webhook_admission_duration_seconds', () => new Histogram({
      name: 'dpready_webhook_admission_duration_seconds', help: 'Time to answer one admission request.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: [registry] })),
    notInjected: get('dpready_webhook_pods_not_injected_total', () => new Counter({
      name: 'dpready_webhook_pods_not_injected_total', help: 'Pods that asked for injection but were created without the gate (webhook unreachable or skipped), by namespace.',
      labelNames: ['namespace'] as const, registers: [registry] })),
    reports: get('dpready_reports_total', () => new Counter({
      name: 'dpready_reports_total', help: 'Reporter requests to the report endpoint, by method and result (written, read, unauthorized, forbidden, throttled, invalid, error).',
      labelNames: ['method', 'result'] as const, registers: [registry] })),
  };
}
export type WebhookMetrics = ReturnType<typeof webhookMetrics>;

export interface WebhookServerDeps {
  core: CoreV1Api;
  authn: AuthenticationV1Api;
  inject: () => InjectSettings;
  metrics: Metrics;
  webhookMetrics: WebhookMetrics;
  log: Logger;
  apiTimeoutMs: number;
  now?: () => number;
  /** Whether the controller's pod cache holds this pod with the readiness gate; undefined when it has not seen it. */
  gatedInCache?: (uid: string) => boolean | undefined;
  /** Injected by tests; by default one with the bounds of token-reviews.ts. */
  reviewer?: TokenReviewer;
}

/** A report is a few hundred bytes of annotations; nothing near this is legitimate. */
export const REPORT_BODY_LIMIT = 16 * 1024;
const RETRY_AFTER_S = 1;

/** The token of "Authorization: Bearer <jwt>", or undefined when the header is missing or not of that shape. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h || h.length > 16 * 1024) return undefined;
  return /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i.exec(h)?.[1];
}

/** The pod asked for dpready: it lists the gate, or the webhook stamped it. */
export function asksForReports(p: V1Pod): boolean {
  return (p.spec?.readinessGates ?? []).some((g) => g.conditionType === CONDITION_TYPE) || p.metadata?.annotations?.[INJECTED_ANNOTATION] !== undefined;
}

interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid: string; namespace?: string; operation?: string; kind?: { kind?: string }; object?: V1Pod; dryRun?: boolean };
}

export async function buildWebhookApp(deps: WebhookServerDeps, tls?: TlsBundle): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const wm = deps.webhookMetrics;
  const app = Fastify({
    logger: false,
    // An AdmissionReview holds the whole pod; big pod specs exist, 3 MiB is the API's own cap.
    bodyLimit: 3 * 1024 * 1024,
    requestTimeout: 10_000,
    ...(tls ? { https: { cert: tls.tlsCert, key: tls.tlsKey } } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/mutate', async (req, reply) => {
    const started = performance.now();
    const review = req.body as AdmissionReview;
    const r = review?.request;
    if (!r?.uid) return sendError(reply, 400, 'DPR_BAD_REQUEST', 'expected an admission.k8s.io/v1 AdmissionReview with a request');
    const answer = (response: Record<string, unknown>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.uid, allowed: true, ...response } });
    try {
      if (r.kind?.kind !== 'Pod' || r.operation !== 'CREATE' || !r.object) {
        wm.admissions.inc({ result: 'skipped', reason: 'not-a-pod-create' });
        return answer({});
      }
      const d = decideInjection(r.object, r.namespace ?? r.object.metadata?.namespace ?? '', deps.inject(), now());
      if (!d.inject) {
        wm.admissions.inc({ result: 'skipped', reason: d.reason });
        // Shown by kubectl: a pod that asked for the gate and did not get it should say why.
        return answer(d.reason === 'invalid' || d.reason === 'no-target' ? { warnings: [`dpready: not injected: ${d.message}`] } : {});
      }
      wm.admissions.inc({ result: 'injected', reason: d.mode });
      return answer({ patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(d.patch)).toString('base64') });
    } catch (err) {
      // Still allowed: failing open here is the same trade-off as failurePolicy Ignore.
      wm.admissions.inc({ result: 'error', reason: 'internal' });
      deps.log.error({ err: String(err) }, 'admission failed; pod admitted without injection');
      return answer({ warnings: ['dpready: not injected: internal error (see the controller log)'] });
    } finally {
      wm.admissionDuration.observe((performance.now() - started) / 1000);
    }
  });

  const reviewer = deps.reviewer ?? new TokenReviewer({
    audience: REPORT_AUDIENCE, now,
    review: async (token) => {
      try {
        const tr = await deps.authn.createTokenReview({ body: { spec: { token, audiences: [REPORT_AUDIENCE] } } }, callOptions({ timeoutMs: deps.apiTimeoutMs }));
        deps.metrics.writes.inc({ resource: 'tokenreviews', verb: 'create' });
        return tr.status;
      } catch (err) {
        deps.metrics.writeErrors.inc({ resource: 'tokenreviews', code: errorLabel(err) });
        throw err;
      }
    },
  });

  // Runs before the body is read (onRequest): no bearer token of a JWT's shape, no parsing at all.
  const requireBearer = async (req: FastifyRequest, reply: FastifyReply) => {
    if (bearerToken(req.raw) !== undefined) return;
    wm.reports.inc({ method: req.method, result: 'unauthorized' });
    return sendError(reply, 401, 'DPR_UNAUTHORIZED', 'a pod-bound token for the audience dpready.perf.github.com is required (Authorization: Bearer <token>)');
  };
  const reportRoute = { bodyLimit: REPORT_BODY_LIMIT, onRequest: requireBearer };

  const authenticate = async (req: { raw: IncomingMessage }, reply: FastifyReply, method: string): Promise<BoundPod | undefined> => {
    let review;
    try {
      review = await reviewer.review(bearerToken(req.raw)!);
    } catch (err) {
      wm.reports.inc({ method, result: 'error' });
      void sendError(reply, 503, 'DPR_API_FAILURE', `TokenReview failed: ${describeKubeError(err)}`);
      return undefined;
    }
    if (review.busy) {
      // Too many reviews in flight: a flood, or a burst of reporters. Come back shortly.
      wm.reports.inc({ method, result: 'throttled' });
      void sendError(reply.header('retry-after', String(RETRY_AFTER_S)), 429, 'DPR_THROTTLED', `too many token reviews in flight; retry in ${RETRY_AFTER_S} s`);
      return undefined;
    }
    const id = review.identity;
    if (!id.ok) {
      wm.reports.inc({ method, result: id.status === 401 ? 'unauthorized' : 'forbidden' });
      void sendError(reply, id.status, id.status === 401 ? 'DPR_UNAUTHORIZED' : 'DPR_FORBIDDEN', id.message);
      return undefined;
    }
    return id.pod;
  };

  /** Only pods that asked for dpready report: the gate, or the webhook's stamp. From the cache, or one read when it has not seen the pod yet. */
  const mayReport = async (pod: BoundPod, read?: V1Pod): Promise<'yes' | 'no' | 'gone'> => {
    const cached = read ? undefined : deps.gatedInCache?.(pod.uid);
    if (cached === true) return 'yes';
    const p = read ?? await deps.core.readNamespacedPod({ name: pod.name, namespace: pod.namespace }, callOptions({ timeoutMs: deps.apiTimeoutMs }));
    if (p.metadata?.uid !== pod.uid) return 'gone';
    return asksForReports(p) ? 'yes' : 'no';
  };
  const notAllowed = (reply: FastifyReply, pod: BoundPod, method: string) => {
    wm.reports.inc({ method, result: 'forbidden' });
    return sendError(reply, 403, 'DPR_FORBIDDEN', `pod ${pod.namespace}/${pod.name} has neither the readiness gate ${CONDITION_TYPE} nor the annotation ${INJECTED_ANNOTATION}: it does not report to dpready`);
  };
  const gone = (reply: FastifyReply, pod: BoundPod) => sendError(reply, 404, 'DPR_NOT_FOUND', `pod ${pod.namespace}/${pod.name} with uid ${pod.uid} is gone`);

  app.get('/report/v1/annotations', reportRoute, async (req, reply) => {
    const pod = await authenticate(req, reply, 'GET');
    if (!pod) return reply;
    try {
      const p = await deps.core.readNamespacedPod({ name: pod.name, namespace: pod.namespace }, callOptions({ timeoutMs: deps.apiTimeoutMs }));
      const may = await mayReport(pod, p);
      if (may === 'gone') return gone(reply, pod);
      if (may === 'no') return notAllowed(reply, pod, 'GET');
      wm.reports.inc({ method: 'GET', result: 'read' });
      return { namespace: pod.namespace, name: pod.name, uid: pod.uid, annotations: ownAnnotations(p.metadata?.annotations) };
    } catch (err) {
      return apiFailure(reply, err, pod, 'GET');
    }
  });

  app.patch('/report/v1/annotations', reportRoute, async (req, reply) => {
    const pod = await authenticate(req, reply, 'PATCH');
    if (!pod) return reply;
    const body = checkAnnotationPatch(req.body);
    if (!body.ok) {
      wm.reports.inc({ method: 'PATCH', result: 'invalid' });
      return sendError(reply, 400, 'DPR_BAD_REQUEST', body.message);
    }
    try {
      const may = await mayReport(pod);
      if (may === 'gone') return gone(reply, pod);
      if (may === 'no') return notAllowed(reply, pod, 'PATCH');
      // metadata.uid makes the patch conditional: a new pod of the same name is not touched (422).
      await deps.core.patchNamespacedPod({ name: pod.name, namespace: pod.namespace, body: { metadata: { uid: pod.uid, annotations: body.annotations } } },
        callOptions({ timeoutMs: deps.apiTimeoutMs, patch: PatchStrategy.MergePatch }));
      deps.metrics.writes.inc({ resource: 'pods', verb: 'patch' });
      wm.reports.inc({ method: 'PATCH', result: 'written' });
      return { namespace: pod.namespace, name: pod.name, uid: pod.uid, written: Object.keys(body.annotations).sort() };
    } catch (err) {
      deps.metrics.writeErrors.inc({ resource: 'pods', code: errorLabel(err) });
      return apiFailure(reply, err, pod, 'PATCH');
    }
  });

  const apiFailure = (reply: FastifyReply, err: unknown, pod: BoundPod, method: string) => {
    const code = httpStatus(err);
    wm.reports.inc({ method, result: 'error' });
    const message = apiStatus(err)?.message ?? String((err as { body?: unknown }).body ?? '');
    if (code === 404 || code === 409 || (code === 422 && /\buid\b/i.test(message))) return gone(reply, pod);
    // A definite "no" from the API server (invalid, or refused by admission) will not change by retrying.
    if (code === 400 || code === 422) return sendError(reply, 400, 'DPR_BAD_REQUEST', `Kubernetes API refused the patch: ${message}`);
    if (code === 403) return sendError(reply, 403, 'DPR_FORBIDDEN', `Kubernetes API refused the patch: ${message}`);
    deps.log.warn({ pod: `${pod.namespace}/${pod.name}`, err: describeKubeError(err) }, 'report could not be written');
    // 503: the reporter retries these (its backoff), as it would the API server's own errors.
    return sendError(reply, 503, 'DPR_API_FAILURE', `Kubernetes API: ${describeKubeError(err)}`);
  };

  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'DPR_NOT_FOUND', `no route ${req.method} ${req.url.split('?', 1)[0]}`));
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return sendError(reply, status, status === 500 ? 'DPR_INTERNAL' : 'DPR_BAD_REQUEST', err.message);
  });
  return app;
}

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ statusCode: status, code, message });
}
