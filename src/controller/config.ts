// `dpready controller` flags → settings. Every bad value is an error naming the flag, the
// value and what was expected; nothing falls back to a default silently.
import { parseArgs } from 'node:util';
import { DpreadyError } from '../errors.ts';
import { formatDuration, parseDuration } from '../durations.ts';
import { DEFAULT_LISTEN, parseListen } from '../api/server.ts';
import type { ControllerSettings } from './controller.ts';
import { KUBECONFIG_LOOKUP } from './kubeconfig.ts';
import { parseWebhookArgs, WEBHOOK_OPTIONS, WEBHOOK_USAGE, type WebhookSettings } from '../webhook/config.ts';

export interface ControllerConfig extends ControllerSettings {
  kubeconfig?: string;
  listen: string;
  apiTokenFile?: string;
  logLevel: string;
  /** On SIGTERM: readiness fails, and the process keeps serving this long before it closes. */
  shutdownDelayMs: number;
  /** The injection webhook and report endpoint (--webhook-listen); undefined: off. */
  webhook?: WebhookSettings;
}

export const CONTROLLER_USAGE = `usage: dpready controller [flags]

  --kubeconfig PATH              kubeconfig to use (default: ${KUBECONFIG_LOOKUP})
  --namespace NS                 watch only this namespace (default: all namespaces)
  --label-selector SELECTOR      watch only pods matching this selector; full Kubernetes syntax, applied by the API server
  --datapath-timeout DURATION    a pod with no datapath success this long after creation is recorded as timed out (default 5m)
  --timeout-policy POLICY        what the gate does on timeout: fail-closed keeps it False, fail-open turns it True (default fail-closed)
  --pending-grace DURATION       how long a new pod whose reporter has written nothing goes without our condition (default 10s)
  --results-namespace NS         where DatapathResults are stored, so they outlive the pods' namespaces
                                 (default $POD_NAMESPACE, else dpready-system)
  --ready-wait DURATION          hold a succeeded pod's result back up to this long for the pod's Ready instant, so
                                 the result object itself records it (default 0s: write at once; the stats API
                                 takes Ready from the pod watch either way)
  --result-ttl DURATION          delete DatapathResults older than this whose pod is gone (default: keep)
  --shards N                     split the pods among N controllers by a hash of their namespace (default 1)
  --shard-index I                which of the --shards this controller handles, 0 to N-1; with --leader-elect, its
                                 Lease is --leader-elect-name with -shard-I appended (docs/scaling.md)
  --workers N                    condition writes (and, separately, result writes) in flight at once (default 64)
  --resync DURATION              re-examine every pod this often (default 5m)
  --shutdown-delay DURATION      on SIGTERM, fail readiness and keep serving this long before closing (default 5s)
  --leader-elect                 elect one writer among replicas with a Lease (default off)
  --leader-elect-namespace NS    namespace of the Lease (default $POD_NAMESPACE, else dpready-system)
  --leader-elect-name NAME       name of the Lease (default dpready-controller)
  --leader-elect-lease-duration DURATION  how long a follower waits after the last renewal before taking over (default 15s)
  --leader-elect-renew-deadline DURATION  how long the leader keeps writing without a renewal (default 10s; below the lease duration)
  --leader-elect-retry-period DURATION    how often the Lease is renewed or tried (default 2s; below the renew deadline)
  --listen ADDR                  address of the stats API, metrics and health (default :8080)
  --api-token-file PATH          require "Authorization: Bearer <token>" on the stats API, token read from PATH
  --api-timeout DURATION         timeout of each Kubernetes API call (default 10s)
  --log-level LEVEL              trace, debug, info, warn, error (default info)
${WEBHOOK_USAGE}`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
// A Kubernetes name: used for the Lease name and namespaces.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function bad(flag: string, value: string, expected: string): never {
  throw new DpreadyError('DPR_BAD_CONFIG', `--${flag}=${JSON.stringify(value)}: expected ${expected}`);
}

export function parseControllerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env,
  validateSelector: (s: string) => void = () => {}): ControllerConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        kubeconfig: { type: 'string' }, namespace: { type: 'string' }, 'label-selector': { type: 'string' },
        'datapath-timeout': { type: 'string' }, 'timeout-policy': { type: 'string' }, 'pending-grace': { type: 'string' },
        'result-ttl': { type: 'string' }, 'results-namespace': { type: 'string' }, 'ready-wait': { type: 'string' }, workers: { type: 'string' }, resync: { type: 'string' }, 'shutdown-delay': { type: 'string' },
        shards: { type: 'string' }, 'shard-index': { type: 'string' },
        'leader-elect': { type: 'boolean' }, 'leader-elect-namespace': { type: 'string' }, 'leader-elect-name': { type: 'string' },
        'leader-elect-lease-duration': { type: 'string' }, 'leader-elect-renew-deadline': { type: 'string' }, 'leader-elect-retry-period': { type: 'string' },
        listen: { type: 'string' }, 'api-token-file': { type: 'string' }, 'api-timeout': { type: 'string' },
        'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...WEBHOOK_OPTIONS,
      },
    }));
  } catch (err) {
    throw new DpreadyError('DPR_USAGE', `${(err as Error).message}\n\n${CONTROLLER_USAGE}`);
  }
  if (values.help) return 'help';
  const str = (k: string) => values[k] as string | undefined;
  const duration = (k: string, dflt: string) => parseDuration(str(k) ?? dflt, { name: `--${k}`, code: 'DPR_BAD_CONFIG' });

  const namespace = str('namespace') ?? '';
  if (namespace && !DNS_LABEL.test(namespace)) bad('namespace', namespace, 'a namespace name (lowercase letters, digits and -)');
  const labelSelector = str('label-selector');
  if (labelSelector !== undefined) validateSelector(labelSelector);
  const policy = str('timeout-policy') ?? 'fail-closed';
  if (policy !== 'fail-closed' && policy !== 'fail-open') bad('timeout-policy', policy, 'fail-closed or fail-open');
  const workersText = str('workers') ?? '64';
  const workers = Number(workersText);
  if (!/^\d+$/.test(workersText) || workers < 1 || workers > 256) bad('workers', workersText, 'a whole number from 1 to 256');
  const resultsNamespace = str('results-namespace') ?? env.POD_NAMESPACE ?? 'dpready-system';
  if (!DNS_LABEL.test(resultsNamespace)) bad('results-namespace', resultsNamespace, 'a namespace name (lowercase letters, digits and -)');
  const leaseNamespace = str('leader-elect-namespace') ?? env.POD_NAMESPACE ?? 'dpready-system';
  if (!DNS_LABEL.test(leaseNamespace)) bad('leader-elect-namespace', leaseNamespace, 'a namespace name');
  const baseLeaseName = str('leader-elect-name') ?? 'dpready-controller';
  if (!DNS_LABEL.test(baseLeaseName)) bad('leader-elect-name', baseLeaseName, 'a Lease name (lowercase letters, digits and -)');
  const shardsText = str('shards') ?? '1';
  const shards = Number(shardsText);
  if (!/^\d+$/.test(shardsText) || shards < 1 || shards > 64) bad('shards', shardsText, 'a whole number from 1 to 64');
  const shardText = str('shard-index') ?? (shards === 1 ? '0' : undefined);
  if (shardText === undefined) bad('shard-index', '', `which shard this controller handles, 0 to ${shards - 1} (--shards=${shards})`);
  const shardIndex = Number(shardText);
  if (!/^\d+$/.test(shardText) || shardIndex >= shards) bad('shard-index', shardText, `a whole number from 0 to ${shards - 1} (--shards=${shards})`);
  // Each shard elects its own leader.
  const leaseName = shards > 1 ? `${baseLeaseName}-shard-${shardIndex}` : baseLeaseName;
  const logLevel = str('log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) bad('log-level', logLevel, LOG_LEVELS.join(', '));
  const listen = str('listen') ?? DEFAULT_LISTEN;
  parseListen(listen);
  const datapathTimeoutMs = duration('datapath-timeout', '5m');
  if (datapathTimeoutMs < 1_000) bad('datapath-timeout', str('datapath-timeout')!, 'at least 1s');
  // A gate held for a day is a stuck rollout, not a measurement; the bound also keeps every
  // recheck timer far below Node's 2^31 ms limit.
  if (datapathTimeoutMs > 24 * 3_600_000) bad('datapath-timeout', str('datapath-timeout')!, 'at most 24h');
  const resultTtl = str('result-ttl');
  const resultTtlMs = resultTtl === undefined ? undefined : duration('result-ttl', '0s');
  if (resultTtlMs !== undefined && resultTtlMs < 60_000) bad('result-ttl', resultTtl!, 'at least 1m');
  const leaseDurationMs = duration('leader-elect-lease-duration', '15s');
  const renewDeadlineMs = duration('leader-elect-renew-deadline', '10s');
  const retryPeriodMs = duration('leader-elect-retry-period', '2s');
  // client-go's rule: the leader must give up before a follower may take over, and retry in between.
  if (leaseDurationMs < 1_000) bad('leader-elect-lease-duration', str('leader-elect-lease-duration')!, 'at least 1s');
  if (renewDeadlineMs >= leaseDurationMs) bad('leader-elect-renew-deadline', str('leader-elect-renew-deadline') ?? '10s', 'less than --leader-elect-lease-duration');
  if (retryPeriodMs >= renewDeadlineMs || retryPeriodMs < 100) bad('leader-elect-retry-period', str('leader-elect-retry-period') ?? '2s', 'at least 100ms and less than --leader-elect-renew-deadline');
  const shutdownDelayMs = duration('shutdown-delay', '5s');
  if (shutdownDelayMs > 60_000) bad('shutdown-delay', str('shutdown-delay')!, 'at most 1m (the pod\'s termination grace period must cover it)');
  const resyncMs = duration('resync', '5m');
  if (resyncMs < 1_000) bad('resync', str('resync')!, 'at least 1s');

  return {
    kubeconfig: str('kubeconfig'),
    namespace, resultsNamespace, labelSelector, timeoutPolicy: policy, workers,
    ...(shards > 1 ? { shard: { count: shards, index: shardIndex } } : {}), leaseNamespace, leaseName, logLevel, listen,
    datapathTimeoutMs, resultTtlMs, resyncMs, leaseDurationMs, renewDeadlineMs, retryPeriodMs,
    pendingGraceMs: duration('pending-grace', '10s'),
    readyWaitMs: readyWaitMs(duration('ready-wait', '0s'), str('ready-wait')),
    apiTimeoutMs: duration('api-timeout', '10s'),
    shutdownDelayMs,
    leaderElect: values['leader-elect'] === true,
    apiTokenFile: str('api-token-file'),
    webhook: withProbeTimeout(parseWebhookArgs(values, env.POD_NAMESPACE ?? 'dpready-system'), datapathTimeoutMs),
  };
}

function readyWaitMs(ms: number, text: string | undefined): number {
  if (ms > 60_000) bad('ready-wait', text!, 'at most 1m');
  return ms;
}

/** Injected reporters probe as long as the gate waits: PROBE_TIMEOUT follows --datapath-timeout. */
function withProbeTimeout(w: WebhookSettings | undefined, datapathTimeoutMs: number): WebhookSettings | undefined {
  return w && { ...w, probeTimeout: formatDuration(datapathTimeoutMs) };
}
