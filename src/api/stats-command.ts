// `dpready stats`: asks a running controller for both latency metrics and pod health and prints
// them, or exports every per-pod record (csv, ndjson); --threshold gates a CI run on the figures
// (exit 1 listing each breach). Without --server it goes through the current kubeconfig to the
// API server's service proxy, so it works from a laptop with nothing but kubectl access.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fetch } from 'undici';
import { stringify as toYaml } from 'yaml';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { DpreadyError, ErrorCodes, isDpreadyError } from '../errors.ts';
import { parseDuration } from '../durations.ts';
import { parseSelector } from '../labels/selector.ts';
import { readTokenFile } from './auth.ts';
import { TOP_N_MAX } from './query.ts';
import { METRICS as TIME_ROUTES, type Metric } from './result-index.ts';

// The two metrics every controller (the existing system's too) serves; time-to-datapath-receive
// is read from the API directly (`/api/v1/time-to-datapath-receive`).
const METRICS: readonly Metric[] = ['time-to-start', 'time-to-datapath-ready'];
import type { MetricStats } from './stats.ts';
import type { PodHealth } from './pod-health.ts';
import { PHASE_NAMES, type PhasesAnswer } from './phases.ts';
import { formatHealth, formatPhases, formatStats } from './stats-format.ts';
import { evaluate, parseThreshold, type Figures } from './thresholds.ts';
import { junitReport } from './junit.ts';
import { kubeBurnerQuantiles } from './kube-burner.ts';

const USAGE = `usage: dpready stats [flags]

Prints percentiles, worst pods and failed pods of time-to-start and time-to-datapath-ready, and
pod health; or exports every per-pod record. With --threshold, exits 1 when any is breached.

  --server URL              the controller's API, e.g. http://127.0.0.1:8080 (after kubectl port-forward);
                            default: through the current kubeconfig's API server (service proxy)
  --output FORMAT           table (default); json, yaml: the raw answers keyed by route (time-to-start,
                            time-to-datapath-ready, pod-health, phases); csv, ndjson: every per-pod record
                            of the selection (GET /api/v1/results); kube-burner: the phases' percentiles as
                            kube-burner's podLatencyQuantilesMeasurement documents (JSON)
  --job-name NAME, --uuid ID  jobName and uuid of the kube-burner documents (default dpready, a random UUID)
  --threshold EXPR          repeatable; SOURCE.STAT OP VALUE or SHORTHAND OP VALUE, e.g.
                              time-to-datapath-ready.p99<5s   failed==0   pod-health.successPct>=99
                            SOURCE: time-to-start, time-to-datapath-ready, pod-health, phase.<name>
                            (e.g. phase.ready-without-datapath.p99<1s); OP: < <= > >= == !=;
                            latencies in ms or as a duration (5s). Breaches are listed on stderr, exit 1;
                            a bad expression exits 2 before any request
  --junit FILE              with --threshold: also write the verdicts as JUnit XML (one testcase per
                            threshold, breaches as failures) for the CI system's test report
  --namespace NS            only pods in NS
  --label-selector SEL      Kubernetes label selector (a=b, a in (x,y), !a, ...)
  --top N                   worst pods and pods per health list (0-${TOP_N_MAX}, default 10)
  --since T, --until T      RFC3339 time or a duration before now (1h, 30m)
  --outcome O               Succeeded, Failed or TimedOut
  --token-file FILE         bearer token for --server (the controller's --api-token-file); the service
                            proxy drops it, so it needs --server (after kubectl port-forward)
  --kubeconfig FILE         default: $KUBECONFIG or ~/.kube/config
  --service-namespace NS    default dpready-system
  --service NAME            default dpready (the chart's Service is <release>-dpready: see its NOTES)
  --service-port PORT       default 8080 (a number or the port's name)
  --timeout D               per request, default 10s
`;

interface Io { out: (s: string) => void; err?: (s: string) => void }

const OUTPUTS = ['table', 'json', 'yaml', 'csv', 'ndjson', 'kube-burner'];

export async function main(argv: string[], io: Io = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) }): Promise<number> {
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        output: { type: 'string', default: 'table' },
        namespace: { type: 'string' },
        'label-selector': { type: 'string' },
        top: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        outcome: { type: 'string' },
        'token-file': { type: 'string' },
        kubeconfig: { type: 'string' },
        'service-namespace': { type: 'string', default: 'dpready-system' },
        service: { type: 'string', default: 'dpready' },
        'service-port': { type: 'string', default: '8080' },
        timeout: { type: 'string', default: '10s' },
        threshold: { type: 'string', multiple: true, default: [] },
        junit: { type: 'string' },
        'job-name': { type: 'string', default: 'dpready' },
        uuid: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new DpreadyError('DPR_USAGE', `${(err as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (!OUTPUTS.includes(values.output)) {
    throw new DpreadyError('DPR_USAGE', `--output=${JSON.stringify(values.output)}: expected ${OUTPUTS.join(', ')}`);
  }
  // Every threshold is read before any request: a typo exits 2 at once.
  const thresholds = values.threshold.map((t) => parseThreshold(t, PHASE_NAMES));
  if (values.junit !== undefined && thresholds.length === 0) {
    throw new DpreadyError('DPR_USAGE', `--junit needs at least one --threshold: its testcases are the thresholds`);
  }
  // The API server authenticates the caller and then removes the Authorization header, so a
  // token never reaches the controller through the service proxy: say so instead of ignoring it.
  if (values['token-file'] !== undefined && values.server === undefined) {
    throw new DpreadyError('DPR_USAGE', `--token-file needs --server: the API server's service proxy does not forward a bearer token. Run\n`
      + `  kubectl -n ${values['service-namespace']} port-forward svc/${values.service} 8080:${values['service-port']}\n`
      + `and pass --server http://127.0.0.1:8080 --token-file ${values['token-file']}`);
  }
  // Checked here too so a typo fails before any network round trip, with the same message; a bad
  // flag is a usage error (exit 64) like any other.
  if (values['label-selector'] !== undefined) {
    try {
      parseSelector(values['label-selector'], '--label-selector');
    } catch (err) {
      throw isDpreadyError(err) ? new DpreadyError('DPR_USAGE', err.message, { cause: err }) : err;
    }
  }
  if (values.top !== undefined && (!/^\d+$/.test(values.top) || Number(values.top) > TOP_N_MAX)) {
    throw new DpreadyError('DPR_USAGE', `--top=${JSON.stringify(values.top)}: expected a whole number from 0 to ${TOP_N_MAX}`);
  }
  const timeoutMs = parseDuration(values.timeout, { name: '--timeout', code: 'DPR_USAGE' });

  const query = new URLSearchParams();
  const pass: [string, string | undefined][] = [
    ['topN', values.top], ['namespace', values.namespace], ['labelSelector', values['label-selector']],
    ['since', values.since], ['until', values.until], ['outcome', values.outcome],
  ];
  for (const [k, v] of pass) if (v !== undefined) query.set(k, v);
  const qs = query.size > 0 ? `?${query}` : '';
  const filters = new URLSearchParams(query);
  filters.delete('topN');

  const get = values.server !== undefined
    ? await directGetter(values.server, values['token-file'])
    : proxyGetter({
      kubeconfig: values.kubeconfig, namespace: values['service-namespace'], service: values.service, port: values['service-port'],
    });

  const exporting = values.output === 'csv' || values.output === 'ndjson';
  if (exporting) {
    filters.set('format', values.output);
    io.out(await get(`/api/v1/results?${filters}`, timeoutMs, 'text') as string);
  }
  let answers: MetricStats[] = [];
  let health: PodHealth | undefined;
  let phases: PhasesAnswer | undefined;
  // Time routes beyond the two printed (time-to-datapath-receive) are fetched when a threshold names them.
  const extra = TIME_ROUTES.filter((m) => !METRICS.includes(m) && thresholds.some((t) => t.source === m));
  let extraAnswers: MetricStats[] = [];
  if (!exporting || thresholds.length > 0) {
    [answers, health, phases, extraAnswers] = await Promise.all([
      Promise.all(METRICS.map((m) => get(`/api/v1/${m}${qs}`, timeoutMs) as Promise<MetricStats>)),
      get(`/api/v1/pod-health${qs}`, timeoutMs) as Promise<PodHealth>,
      get(`/api/v1/phases${qs}`, timeoutMs) as Promise<PhasesAnswer>,
      Promise.all(extra.map((m) => get(`/api/v1/${m}${qs}`, timeoutMs) as Promise<MetricStats>)),
    ]);
  }
  const raw = () => ({ ...Object.fromEntries(METRICS.map((m, i) => [m, answers[i]])), 'pod-health': health, phases });
  if (values.output === 'json') {
    io.out(JSON.stringify(raw(), null, 2) + '\n');
  } else if (values.output === 'yaml') {
    io.out(toYaml(raw()));
  } else if (values.output === 'kube-burner') {
    io.out(JSON.stringify(kubeBurnerQuantiles(phases!, { uuid: values.uuid ?? randomUUID(), jobName: values['job-name'], at: new Date() }), null, 2) + '\n');
  } else if (values.output === 'table') {
    io.out(formatStats(answers));
    io.out(formatPhases(phases!));
    io.out(formatHealth(health!));
  }

  if (thresholds.length === 0) return 0;
  const figures: Figures = {
    ...Object.fromEntries(METRICS.map((m, i) => [m, answers[i] as unknown as Record<string, unknown>])),
    ...Object.fromEntries(extra.map((m, i) => [m, extraAnswers[i] as unknown as Record<string, unknown>])),
    'pod-health': health as unknown as Record<string, unknown>,
    ...Object.fromEntries((phases?.phases ?? []).map((p) => [`phase:${p.phase}`, p as unknown as Record<string, unknown>])),
  };
  const verdicts = evaluate(thresholds, figures);
  const breaches = verdicts.filter((v) => !v.ok);
  // stderr, so --output json|csv|ndjson stays machine-readable on stdout.
  err(`thresholds: ${verdicts.length - breaches.length} passed, ${breaches.length} breached\n`);
  for (const v of verdicts) err(`  ${v.ok ? 'ok      ' : 'BREACHED'}  ${v.message}\n`);
  if (values.junit !== undefined) {
    try {
      await writeFile(values.junit, junitReport(verdicts, new Date()));
    } catch (e) {
      throw new DpreadyError('DPR_USAGE', `--junit=${values.junit}: cannot write: ${(e as Error).message}`, { cause: e });
    }
  }
  return breaches.length > 0 ? ErrorCodes.DPR_THRESHOLD_BREACHED.exitCode : 0;
}

type Getter = (path: string, timeoutMs: number, as?: 'json' | 'text') => Promise<unknown>;

async function directGetter(server: string, tokenFile: string | undefined): Promise<Getter> {
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new DpreadyError('DPR_USAGE', `--server=${JSON.stringify(server)}: expected a URL such as http://127.0.0.1:8080`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new DpreadyError('DPR_USAGE', `--server=${JSON.stringify(server)}: expected an http or https URL`);
  }
  const token = tokenFile !== undefined ? await readTokenFile(tokenFile).catch((err: unknown) => {
    throw isDpreadyError(err) ? new DpreadyError('DPR_USAGE', err.message.replace('--api-token-file', '--token-file')) : err;
  }) : undefined;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const root = base.href.replace(/\/$/, '');
  return (path, timeoutMs, as) => request(`${root}${path}`, { headers }, timeoutMs, server, as);
}

function proxyGetter(o: { kubeconfig?: string; namespace: string; service: string; port: string }): Getter {
  const kc = new KubeConfig();
  try {
    if (o.kubeconfig !== undefined) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new DpreadyError('DPR_API_FAILURE', `cannot load kubeconfig: ${(err as Error).message}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new DpreadyError('DPR_API_FAILURE', 'the kubeconfig has no current cluster; pass --server or set a context');
  const svc = `http:${encodeURIComponent(o.service)}:${encodeURIComponent(o.port)}`;
  const root = `${cluster.server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/services/${svc}/proxy`;
  const where = `service ${o.namespace}/${o.service}:${o.port} via ${cluster.server}`;
  return async (path, timeoutMs, as) => {
    const ctx = new RequestContext(`${root}${path}`, HttpMethod.GET);
    try {
      await kc.applySecurityAuthentication(ctx);
    } catch (err) {
      throw new DpreadyError('DPR_API_FAILURE', `kubeconfig credentials for ${cluster.server}: ${(err as Error).message}`, { cause: err });
    }
    return request(ctx.getUrl(), { headers: { ...ctx.getHeaders(), accept: 'application/json' }, dispatcher: ctx.getDispatcher() }, timeoutMs, where, as);
  };
}

async function request(url: string, init: { headers: Record<string, string>; dispatcher?: unknown }, timeoutMs: number, where: string,
  as: 'json' | 'text' = 'json'): Promise<unknown> {
  let res;
  try {
    res = await fetch(url, { ...(init as object), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describe(err);
    throw new DpreadyError('DPR_API_FAILURE', `stats API at ${where}: ${why}`, { cause: err });
  }
  const text = await res.text();
  // An export (possibly megabytes of NDJSON/CSV) is passed through unparsed.
  if (res.ok && as === 'text') return text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const b = body as { message?: unknown } | undefined;
    const detail = typeof b?.message === 'string' ? b.message : text.slice(0, 300);
    // 400s are the user's query: report them as usage errors, with the server's wording.
    const code = res.status === 400 ? 'DPR_USAGE' : 'DPR_API_FAILURE';
    throw new DpreadyError(code, `stats API at ${where}: HTTP ${res.status}: ${detail}`);
  }
  if (body === undefined) throw new DpreadyError('DPR_API_FAILURE', `stats API at ${where}: answer is not JSON: ${text.slice(0, 200)}`);
  return body;
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  return e.cause ? `${e.message}: ${e.cause.code ?? ''} ${e.cause.message}`.trim() : e.message;
}
