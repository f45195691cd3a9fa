// The HTTP API as a fastify app, built but not listening: tests drive it with inject(), and
// server.ts binds it. Everything it reads arrives in deps (index, pods, clock, registry), so
// the same app runs on the leader and on every other replica.
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import {
  hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { Histogram, type Registry } from 'prom-client';
import { Rfc3339 } from '../contract.ts';
import type { ErrorCode } from '../errors.ts';
import { AnswerCache } from './answer-cache.ts';
import { PAGE_CSP, PAGE_HTML } from './page.ts';
import { bearerTokenCheck } from './auth.ts';
import { compileFilter } from './filters.ts';
import { Readable } from 'node:stream';
import { CONTENT_TYPES, exportChunks } from './export.ts';
import { countPending, podHealth } from './pod-health.ts';
import type { PodSource } from './pod-source.ts';
import { podHealthQuery, queryProblems, resultsQuery, timeQuery, toFilters, type QueryProblem } from './query.ts';
import { METRICS, type ResultIndex } from './result-index.ts';
import { phaseStats } from './phases.ts';
import { ErrorSchema, MetricStatsSchema, PhasesSchema, PodHealthSchema, StatusSchema } from './schemas.ts';
import { metricStats } from './stats.ts';

export interface ServerTimeouts {
  /** Whole request, headers to last byte (Node's requestTimeout). */
  requestTimeout: number;
  /** Idle keep-alive connection. */
  keepAliveTimeout: number;
  /** Socket inactivity (fastify's connectionTimeout). */
  connectionTimeout: number;
}

export const DEFAULT_TIMEOUTS: ServerTimeouts = { requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionTimeout: 60_000 };

export interface AppDeps {
  results: ResultIndex;
  pods: PodSource;
  /** The controller's registry; /metrics serves it, and the API adds its request histogram to it. */
  registry: Registry;
  /** False until the result and pod caches have synced: /readyz answers 503 and data routes too. */
  isReady: () => boolean;
  /** For /readyz only, after isReady: why this replica should get no traffic (its webhook not listening, shutting down), or undefined. */
  notServing?: () => string | undefined;
  /** ms since epoch; durations in since/until count back from it. */
  now?: () => number;
  /** When set, every route but /healthz and /readyz needs `Authorization: Bearer <token>`. */
  token?: string;
  logger?: FastifyServerOptions['logger'];
  timeouts?: Partial<ServerTimeouts>;
}

/** Routes open without a token: probes from the kubelet carry none. */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/']);
export const DATA_ROUTES = ['/api/v1/time-to-start', '/api/v1/time-to-datapath-ready', '/api/v1/time-to-datapath-receive', '/api/v1/time-to-policy-enforced', '/api/v1/pod-health', '/api/v1/phases', '/api/v1/results'] as const;
const GET_ONLY = new Set<string>([...DATA_ROUTES, '/metrics', '/healthz', '/readyz', '/']);

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const app = Fastify({
    logger: deps.logger ?? false,
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    connectionTimeout: timeouts.connectionTimeout,
    // Only GET routes: nothing needs a body.
    bodyLimit: 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const checkToken = deps.token !== undefined ? bearerTokenCheck(deps.token) : undefined;
  app.addHook('onRequest', async (req, reply) => {
    // routeOptions.url is the matched pattern, so "/healthz/../x" tricks cannot reach an open route.
    if (!checkToken || OPEN_ROUTES.has(req.routeOptions.url ?? '')) return;
    if (!checkToken(req.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer realm="dpready"');
      return sendError(reply, 401, 'DPR_UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" header is required');
    }
  });

  const latency = requestHistogram(deps.registry);
  app.addHook('onResponse', async (req, reply) => {
    latency.observe({ route: req.routeOptions.url ?? 'unmatched', code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) return sendBadQuery(reply, queryProblems(err.validation as never));
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    // fastify's own 4xx (bad JSON, body too large …) keep their status under our catalogue's code.
    if (status >= 400 && status < 500) return sendError(reply, status, 'DPR_BAD_REQUEST', `${err.code ? `${err.code}: ` : ''}${err.message}`);
    req.log.error({ err }, 'API request failed');
    return sendError(reply, 500, 'DPR_INTERNAL', 'internal error; the controller log has the details');
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    if (GET_ONLY.has(path)) {
      reply.header('allow', 'GET, HEAD');
      return sendError(reply, 405, 'DPR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; use GET`);
    }
    return sendError(reply, 404, 'DPR_NOT_FOUND', `no route ${req.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'dpready stats API',
        version: 'v1',
        description: 'Pod start and datapath-ready latencies, worst pods, failures and pod health, from the controller\'s in-memory index.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(deps.token !== undefined ? { security: [{ bearer: [] }] } : {}),
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const api = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 503: ErrorSchema };
  const toJson = {
    stats: serializerCompiler({ schema: MetricStatsSchema, method: 'GET', url: '/api/v1/time-to-*', httpStatus: '200' }),
    health: serializerCompiler({ schema: PodHealthSchema, method: 'GET', url: '/api/v1/pod-health', httpStatus: '200' }),
    phases: serializerCompiler({ schema: PhasesSchema, method: 'GET', url: '/api/v1/phases', httpStatus: '200' }),
  };
  const cache = new AnswerCache();
  // Serialized here rather than by fastify so the cached string is sent as is.
  const answer = (url: string, reply: FastifyReply, compute: () => string): void => {
    const stamp = deps.pods.version ? `${deps.results.version}:${deps.pods.version()}` : undefined;
    const key = stamp !== undefined && !dependsOnNow(url) ? url : undefined;
    let body = key !== undefined ? cache.get(stamp!, key) : undefined;
    if (body === undefined) {
      body = compute();
      if (key !== undefined) cache.set(stamp!, key, body);
    }
    void reply.type('application/json; charset=utf-8').send(body);
  };

  for (const metric of METRICS) {
    api.get(`/api/v1/${metric}`, {
      schema: {
        summary: {
          'time-to-start': 'Pod creation to reporter start',
          'time-to-datapath-ready': 'Pod creation to first successful datapath probe',
          'time-to-datapath-receive': 'Pod creation to the first inbound probe reaching the pod (pods with the receive check on only)',
          'time-to-policy-enforced': 'Pod creation to its NetworkPolicy seen in force: every deny target unanswered (pods with deny targets only)',
        }[metric],
        tags: ['stats'],
        querystring: timeQuery(now),
        response: { 200: MetricStatsSchema, ...errors },
      },
    }, (req, reply) => {
      if (!deps.isReady()) return void sendNotReady(reply);
      answer(req.url, reply, () => {
        const filters = toFilters(req.query);
        const pending = countPending(deps.pods.snapshot(), deps.results, filters);
        return toJson.stats(metricStats(deps.results.view(metric), compileFilter(filters), { metric, topN: req.query.topN, pending }));
      });
    });
  }

  api.get('/api/v1/pod-health', {
    schema: {
      summary: 'Tracked pods by phase and datapath state, with pending and failed pods',
      tags: ['stats'],
      querystring: podHealthQuery(now),
      response: { 200: PodHealthSchema, ...errors },
    },
  }, (req, reply) => {
    if (!deps.isReady()) return void sendNotReady(reply);
    answer(req.url, reply, () => toJson.health(podHealth(deps.pods.snapshot(), deps.results, toFilters(req.query), req.query.topN, {
      namespace: req.query.namespace ?? '', labelSelector: rawParam(req.url, 'labelSelector'),
    })));
  });

  api.get('/api/v1/phases', {
    schema: {
      summary: 'Per-phase latencies (scheduled … ready, the reporter\'s instants, ready-without-datapath): percentiles, min, max, worst pods',
      tags: ['stats'],
      querystring: timeQuery(now),
      response: { 200: PhasesSchema, ...errors },
    },
  }, (req, reply) => {
    if (!deps.isReady()) return void sendNotReady(reply);
    answer(req.url, reply, () => toJson.phases(phaseStats(deps.results.values(), compileFilter(toFilters(req.query)), req.query.topN)));
  });

  api.get('/api/v1/results', {
    schema: {
      summary: 'Every per-pod result of the selection, streamed as NDJSON or CSV, by namespace, name',
      tags: ['stats'],
      querystring: resultsQuery(now),
      produces: [CONTENT_TYPES.ndjson, CONTENT_TYPES.csv],
      response: errors,
    },
  }, (req, reply) => {
    if (!deps.isReady()) return void sendNotReady(reply);
    const { format } = req.query;
    // A stream, so no response schema: fastify sends it as is.
    void (reply as FastifyReply).type(CONTENT_TYPES[format]).send(Readable.from(exportChunks(deps.results.values(), compileFilter(toFilters(req.query)), format)));
  });

  api.get('/metrics', { schema: { summary: 'Prometheus metrics of the controller', tags: ['operations'] } }, async (_req, reply) => {
    const body = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(body);
  });
  // The live page: static HTML, open like the health routes (it holds no data; its requests
  // to the data routes carry the token).
  api.get('/', { schema: { summary: 'Live page: CDF and histogram, worst pods, failures, pods waiting now; polls this API', tags: ['operations'] } }, (_req, reply) => {
    void reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).header('cache-control', 'no-cache').send(PAGE_HTML);
  });
  api.get('/healthz', { schema: { summary: 'Liveness; always open', tags: ['operations'], response: { 200: StatusSchema } } },
    () => ({ status: 'ok' }));
  api.get('/readyz', {
    schema: { summary: 'Readiness: 503 until the caches have synced; always open', tags: ['operations'], response: { 200: StatusSchema, 503: StatusSchema } },
  }, (_req, reply) => {
    const why = !deps.isReady() ? 'caches not synced' : deps.notServing?.();
    if (why) reply.code(503);
    return { status: why ?? 'ok' };
  });

  return app;
}

/** A query parameter as the client sent it ('' when absent), for echoing back. */
function rawParam(url: string, name: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : new URLSearchParams(url.slice(q + 1)).get(name) ?? '';
}

/** since/until given as a duration ("1h") move with the clock: such answers are not reusable. */
function dependsOnNow(url: string): boolean {
  const q = url.indexOf('?');
  if (q < 0) return false;
  const params = new URLSearchParams(url.slice(q + 1));
  return ['since', 'until'].some((k) => params.has(k) && !Rfc3339.safeParse(params.get(k)).success);
}

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8')
    .send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', code, message });
}

function sendBadQuery(reply: FastifyReply, problems: QueryProblem[]): FastifyReply {
  const first = problems[0] ?? { parameter: 'query', problem: 'invalid' };
  return reply.code(400).type('application/json; charset=utf-8').send({
    statusCode: 400, error: 'Bad Request', code: 'DPR_BAD_QUERY',
    message: problems.map((p) => `${p.parameter}: ${p.problem}`).join('; '),
    parameter: first.parameter, problem: first.problem, problems,
  });
}

function sendNotReady(reply: FastifyReply): FastifyReply {
  // Answering from a half-filled cache would report too few pods as if they were all there.
  reply.header('retry-after', '5');
  return sendError(reply, 503, 'DPR_NOT_SYNCED', 'results are still loading (caches not synced); retry shortly');
}

function requestHistogram(registry: Registry): Histogram<'route' | 'code'> {
  const name = 'dpready_stats_api_request_duration_seconds';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<'route' | 'code'>;
  return new Histogram({
    name,
    help: 'Stats API request duration by route pattern and status code.',
    labelNames: ['route', 'code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
}
