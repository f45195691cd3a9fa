// The webhook's flags of `dpready controller`, parsed apart from the rest so the controller's
// own flag parser only lists them. Off unless --webhook-listen is given.
import { DpreadyError } from '../errors.ts';
import { parseListen } from '../api/server.ts';
import { parseTargets } from '../reporter/targets.ts';

export interface WebhookSettings {
  listen: string;
  /** Namespace of the controller: its Secret lives there, and it is never injected. */
  namespace: string;
  configName: string;
  secretName: string;
  /** DNS names / IPs in the serving certificate. */
  certNames: string[];
  reporterImage: string;
  reportUrl: string;
  defaultTarget?: string;
  /** PROBE_TIMEOUT of injected reporters without their own: the controller's --datapath-timeout. */
  probeTimeout?: string;
  excludedNamespaces: string[];
  /** The injected reporter container's requests and limits (parseWebhookArgs fills in the defaults). */
  reporterResources?: ReporterResources;
}

export interface ReporterResources { requests: { cpu: string; memory: string }; limits: { memory: string } }

/**
 * Measured on the real node (docs/performance.md, "Cost per pod"; bench/results/2026-12-04-88e52f7.json):
 * the report-mode reporter container peaks at 39.4 MiB (max of 20 pods; p50 34.9) while it
 * starts and probes, and holds 0.2 MiB once a sidecar has handed over to its shell waiter. The
 * request covers the peak; the limit leaves about 1.6× room above it. CPU: 0 after the work.
 */
export const DEFAULT_REPORTER_RESOURCES: ReporterResources = { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '48Mi' } };

export const WEBHOOK_OPTIONS = {
  'webhook-listen': { type: 'string' }, 'webhook-config-name': { type: 'string' }, 'webhook-secret': { type: 'string' },
  'webhook-cert-names': { type: 'string' }, 'reporter-image': { type: 'string' }, 'report-url': { type: 'string' },
  'inject-default-target': { type: 'string' }, 'inject-exclude-namespaces': { type: 'string' },
  'reporter-cpu-request': { type: 'string' }, 'reporter-memory-request': { type: 'string' }, 'reporter-memory-limit': { type: 'string' },
} as const;

export const WEBHOOK_USAGE = `
  --webhook-listen ADDR          serve the injection webhook and the reporters' report endpoint over HTTPS here (default: off), e.g. :8443
  --webhook-config-name NAME     MutatingWebhookConfiguration whose caBundle the controller keeps current (default dpready)
  --webhook-secret NAME          Secret in the controller's namespace holding the self-signed CA and serving certificate (default dpready-webhook-tls)
  --webhook-cert-names NAMES     comma-separated DNS names/IPs of the serving certificate (default dpready-webhook.$POD_NAMESPACE.svc)
  --reporter-image IMAGE         image of the injected reporter (required with --webhook-listen)
  --report-url URL               where injected reporters send their annotations (default https://<first cert name>:<webhook port>)
  --inject-default-target TARGET PROBE_TARGET for pods without the dpready.perf.github.com/probe-target annotation (default: such pods are not injected)
  --inject-exclude-namespaces NS comma-separated namespaces never injected, in addition to kube-system and the controller's own
  --reporter-cpu-request Q       CPU request of the injected reporter (default ${DEFAULT_REPORTER_RESOURCES.requests.cpu})
  --reporter-memory-request Q    memory request of the injected reporter (default ${DEFAULT_REPORTER_RESOURCES.requests.memory})
  --reporter-memory-limit Q      memory limit of the injected reporter (default ${DEFAULT_REPORTER_RESOURCES.limits.memory})
`;

/** A Kubernetes quantity as users write them for CPU and memory (1, 0.5, 10m, 64Mi, 1G). */
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function bad(flag: string, value: string, expected: string): never {
  throw new DpreadyError('DPR_BAD_CONFIG', `--${flag}=${JSON.stringify(value)}: expected ${expected}`);
}

export function parseWebhookArgs(values: Record<string, string | boolean | undefined>, namespace: string): WebhookSettings | undefined {
  const str = (k: keyof typeof WEBHOOK_OPTIONS) => values[k] as string | undefined;
  const listen = str('webhook-listen');
  if (listen === undefined) {
    for (const k of Object.keys(WEBHOOK_OPTIONS)) if (values[k] !== undefined) bad(k, String(values[k]), 'to be used with --webhook-listen');
    return undefined;
  }
  const { port } = parseListen(listen);
  const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const certNames = str('webhook-cert-names') !== undefined ? list(str('webhook-cert-names')) : [`dpready-webhook.${namespace}.svc`];
  if (!certNames.length) bad('webhook-cert-names', str('webhook-cert-names')!, 'at least one DNS name or IP');
  const reporterImage = str('reporter-image');
  if (!reporterImage) bad('reporter-image', reporterImage ?? '', 'an image reference (required with --webhook-listen)');
  const host = certNames[0]!.includes(':') ? `[${certNames[0]}]` : certNames[0];
  const reportUrl = str('report-url') ?? `https://${host}:${port}`;
  if (!/^https:\/\/[^/\s]+\/?$/.test(reportUrl)) bad('report-url', reportUrl, 'https://host[:port]');
  const defaultTarget = str('inject-default-target');
  if (defaultTarget !== undefined) {
    try { parseTargets(defaultTarget); } catch (err) { bad('inject-default-target', defaultTarget, (err as Error).message); }
  }
  const extra = list(str('inject-exclude-namespaces'));
  for (const ns of extra) if (!DNS_LABEL.test(ns)) bad('inject-exclude-namespaces', ns, 'namespace names');
  const quantity = (flag: 'reporter-cpu-request' | 'reporter-memory-request' | 'reporter-memory-limit', fallback: string) => {
    const v = str(flag) ?? fallback;
    if (!QUANTITY.test(v)) bad(flag, v, 'a Kubernetes quantity such as 10m, 32Mi or 1Gi');
    return v;
  };
  const d = DEFAULT_REPORTER_RESOURCES;
  const reporterResources: ReporterResources = {
    requests: { cpu: quantity('reporter-cpu-request', d.requests.cpu), memory: quantity('reporter-memory-request', d.requests.memory) },
    limits: { memory: quantity('reporter-memory-limit', d.limits.memory) },
  };
  const secretName = str('webhook-secret') ?? 'dpready-webhook-tls';
  const configName = str('webhook-config-name') ?? 'dpready';
  return {
    listen, namespace, configName, secretName, certNames, reporterImage, reportUrl: reportUrl.replace(/\/$/, ''),
    ...(defaultTarget !== undefined ? { defaultTarget } : {}),
    excludedNamespaces: [...new Set(['kube-system', namespace, ...extra])],
    reporterResources,
  };
}
