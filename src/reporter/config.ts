// The reporter's environment, validated in one place. The existing reporter fell back to
// defaults on bad values, which turned typos into silently wrong measurements; here every
// bad value is an error naming the variable, the value given and what is expected. Unset
// variables take documented defaults; a variable set to an empty string is a bad value.
import { readFileSync } from 'node:fs';

import { parseDuration } from '../durations.ts';
import { DpreadyError } from '../errors.ts';
import { originWallMs } from './clock.ts';
import { DEFAULT_SCHEDULE, type ScheduleOptions } from './schedule.ts';
import { parseDenyTargets, parseTargets, type Target } from './targets.ts';

export type Mode = 'sidecar' | 'init';

export interface ReporterConfig {
  podName: string;
  namespace: string;
  targets: Target[];
  /** Overall deadline, ms after the start (PROBE_TIMEOUT). */
  timeoutMs: number;
  /**
   * The reporter's start, on the monotonic clock of this process (performance.now, ms; negative
   * when it came before Node's own start): the container's exec as dpready-start stamped it
   * (DPREADY_START_NS), or else this process's start.
   */
  start: { at: number; from: 'exec' | 'node' };
  /**
   * The wall-clock instant (epoch ms) of the monotonic clock's origin, from which every instant
   * written is counted (clock.ts originWallMs): DPREADY_WALL_MINUS_MONO_NS when set, else measured.
   */
  originWallMs: number;
  schedule: ScheduleOptions;
  attemptTimeoutMs: number;
  maxInFlight: number;
  mode: Mode;
  ca?: Buffer;
  caFile?: string;
  insecureSkipVerify: boolean;
  /** How long the start annotation waits for a first success to share its patch. */
  startGraceMs: number;
  /** Timeout of each Kubernetes API call. */
  apiCallTimeoutMs: number;
  /** The receive check: listen here and record the first inbound probe (PROBE_RECEIVE_PORT). */
  receivePort?: number;
  /** The policy check (PROBE_DENY_TARGET): targets that must stop answering. */
  denyTargets?: Target[];
  /** Consecutive unanswered rounds that confirm the policy in force (PROBE_DENY_CONFIRM). */
  denyConfirm: number;
  /** Set when injected by the webhook: report to the controller instead of patching the pod. */
  report?: { url: string; tokenFile: string; ca: string };
  /** Classic mode: the ServiceAccount token and CA directory, when not the standard mount. */
  serviceAccountDir?: string;
  /** PROBE_* variables we do not know: probably typos, reported as warnings. */
  unknownVariables: string[];
}

/** Every variable the reporter reads, its default and meaning; the README table mirrors this. */
export const VARIABLES = {
  MY_POD_NAME: { default: undefined, help: 'name of this pod (downward API metadata.name); required' },
  MY_POD_NAMESPACE: { default: undefined, help: 'namespace of this pod (downward API metadata.namespace); required' },
  PROBE_TARGET: { default: undefined, help: 'comma-separated targets; required' },
  PROBE_TIMEOUT: { default: '60s', help: 'overall deadline from the start' },
  PROBE_INTERVAL: { default: '2s', help: 'cap of the growing interval between attempt starts' },
  PROBE_INITIAL_INTERVAL: { default: '20ms', help: 'floor of the interval (the first attempts)' },
  PROBE_INTERVAL_GROWTH: { default: '0.015', help: 'interval as a fraction of time waited so far; 0 = fixed interval' },
  PROBE_ATTEMPT_TIMEOUT: { default: '2s', help: 'each attempt is abandoned after this long' },
  PROBE_MAX_IN_FLIGHT: { default: '100', help: 'overlapping attempts per target (100 = 2 s of attempts at 20 ms); at the limit the oldest is replaced' },
  PROBE_MODE: { default: 'sidecar', help: 'sidecar: stay alive after writing until SIGTERM; init: exit after writing' },
  PROBE_CA_FILE: { default: undefined, help: 'PEM bundle trusted for https targets (in addition to the system roots)' },
  PROBE_INSECURE_SKIP_VERIFY: { default: 'false', help: 'true to skip certificate verification for https targets' },
  PROBE_START_GRACE: { default: '1s', help: 'a first success within this long shares one patch with the start' },
  PROBE_API_TIMEOUT: { default: '5s', help: 'timeout of each Kubernetes API call' },
  PROBE_RECEIVE_PORT: { default: undefined, help: 'receive check: listen on this port (the container port named dpready-receive) and record the first inbound probe' },
  PROBE_DENY_TARGET: { default: undefined, help: 'policy check: comma-separated targets that the pod\'s NetworkPolicy must deny (forms of PROBE_TARGET but dns://); the gate waits until none answers' },
  PROBE_DENY_CONFIRM: { default: '3', help: 'policy check: consecutive rounds in which every deny target goes unanswered (refused or silent) that confirm the policy in force' },
  DPREADY_REPORT_URL: { default: undefined, help: 'https://host:port of the controller: send the annotations there (with the pod-bound token) instead of patching the pod; set by the webhook' },
  DPREADY_REPORT_TOKEN_FILE: { default: '/var/run/secrets/dpready/token', help: 'projected ServiceAccount token for the audience dpready.perf.github.com (with DPREADY_REPORT_URL)' },
  DPREADY_SERVICEACCOUNT_DIR: { default: '/var/run/secrets/kubernetes.io/serviceaccount', help: 'classic mode: the directory holding the pod\'s ServiceAccount token and ca.crt (the API server is KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT)' },
  DPREADY_REPORT_CA: { default: undefined, help: 'PEM of the CA that signs the controller\'s certificate (with DPREADY_REPORT_URL)' },
  DPREADY_START_NS: { default: undefined, help: 'set by the image\'s entrypoint (dpready-start): the instant the container\'s command started, Unix ns; recorded as the start (unset: this process\'s start)' },
  DPREADY_WALL_MINUS_MONO_NS: { default: undefined, help: 'set by the image\'s entrypoint (dpready-start): the wall clock minus the monotonic clock, ns, read together; every instant written is dated by it (unset: the reporter measures it)' },
} as const;

/** How far DPREADY_WALL_MINUS_MONO_NS may lie from the clocks' offset read here (to the ms): a value from another host or boot is off by far more. */
export const WALL_OFFSET_BOUND_MS = 1_000;

/**
 * How far DPREADY_START_NS may lie from this process's start. Before it: Node's start-up after
 * dpready-start's exec, hundreds of ms on a loaded node, never minutes (an older value was not
 * stamped for this process). After it: only the two clocks' readings differ.
 */
export const START_STAMP_BOUNDS = { beforeMs: 5 * 60_000, afterMs: 1_000 };

type Env = Record<string, string | undefined>;

const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function show(name: string, value: string | undefined): string {
  return value === undefined ? `${name} is not set` : `${name}=${JSON.stringify(value)}`;
}

/** One variable's problem, listed with the others in a single error. */
interface Issue { name: keyof typeof VARIABLES; message: string }

/**
 * Reads each variable with its own check, in the order of VARIABLES, collecting every problem
 * rather than stopping at the first: a user fixing a manifest sees them all at once. Hand-written
 * (a dozen checks) rather than a schema library: the reporter's bundle loads only what it runs.
 */
function readAll(env: Env, processStartWallMs: number | undefined) {
  const issues: Issue[] = [];
  const read = <T>(name: keyof typeof VARIABLES, parse: (value: string) => T): T => {
    const given = env[name];
    const fallback: string | undefined = VARIABLES[name].default;
    const value = given ?? fallback;
    try {
      if (value === undefined) throw new Error(`${show(name, given)}; expected ${VARIABLES[name].help}`);
      return parse(value);
    } catch (err) {
      issues.push({ name, message: err instanceof Error ? err.message : String(err) });
      return undefined as T;
    }
  };
  const optional = <T>(name: keyof typeof VARIABLES, parse: (value: string) => T): T | undefined =>
    env[name] === undefined ? undefined : read(name, parse);
  const duration = (name: keyof typeof VARIABLES, min: number) => read(name, (value) => {
    const ms = parseDuration(value, { name, bareUnit: 's', code: 'DPR_BAD_CONFIG' });
    if (ms < min) throw new Error(`${show(name, value)}: too small; expected at least ${min} ms`);
    return ms;
  });
  const pattern = (name: keyof typeof VARIABLES, re: RegExp, what: string) => read(name, (value) => {
    if (!re.test(value)) throw new Error(`${show(name, value)}: expected ${what}`);
    return value;
  });
  const oneOf = <T extends string>(name: keyof typeof VARIABLES, choices: readonly T[]) => read(name, (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new Error(`${show(name, value)}: expected one of ${choices.join(', ')}`);
    return value as T;
  });
  const wallMinusMonoNs = optional('DPREADY_WALL_MINUS_MONO_NS', (value) => {
    if (!/^[1-9]\d{0,18}$/.test(value)) throw new Error(`${show('DPREADY_WALL_MINUS_MONO_NS', value)}: expected a whole number of ns, as dpready-start sets it`);
    const ns = BigInt(value);
    // Date.now() − the monotonic clock, to within Date.now()'s millisecond.
    const roughMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;
    const offBy = Number(ns / 1_000_000n) - roughMs;
    if (Math.abs(offBy) > WALL_OFFSET_BOUND_MS) {
      throw new Error(`${show('DPREADY_WALL_MINUS_MONO_NS', value)}: ${Math.round(Math.abs(offBy))} ms ${offBy > 0 ? 'more' : 'less'} than the clocks' offset here; `
        + `expected the offset dpready-start read on this host just before it ran this process (within ${WALL_OFFSET_BOUND_MS} ms). It is set by the image's entrypoint; unset it to have the reporter measure the offset itself`);
    }
    return ns;
  });
  // Read here, once the offset is known: DPREADY_START_NS is placed on the monotonic clock by it.
  const origin = processStartWallMs ?? originWallMs(wallMinusMonoNs);
  const values = {
    MY_POD_NAME: pattern('MY_POD_NAME', DNS_SUBDOMAIN, 'a pod name (lowercase DNS subdomain, at most 253 characters)'),
    MY_POD_NAMESPACE: pattern('MY_POD_NAMESPACE', DNS_LABEL, 'a namespace name (lowercase DNS label, at most 63 characters)'),
    PROBE_TARGET: read('PROBE_TARGET', parseTargets),
    PROBE_TIMEOUT: duration('PROBE_TIMEOUT', 1),
    PROBE_INTERVAL: duration('PROBE_INTERVAL', 1),
    PROBE_INITIAL_INTERVAL: duration('PROBE_INITIAL_INTERVAL', 1),
    PROBE_INTERVAL_GROWTH: read('PROBE_INTERVAL_GROWTH', (value) => {
      const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
      if (!(n >= 0 && n <= 1)) throw new Error(`${show('PROBE_INTERVAL_GROWTH', value)}: expected a fraction from 0 to 1, such as 0.015`);
      return n;
    }),
    PROBE_ATTEMPT_TIMEOUT: duration('PROBE_ATTEMPT_TIMEOUT', 1),
    PROBE_MAX_IN_FLIGHT: read('PROBE_MAX_IN_FLIGHT', (value) => {
      const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!(n >= 1 && n <= 1000)) throw new Error(`${show('PROBE_MAX_IN_FLIGHT', value)}: expected a whole number from 1 to 1000`);
      return n;
    }),
    PROBE_MODE: oneOf('PROBE_MODE', ['sidecar', 'init'] as const),
    PROBE_CA_FILE: optional('PROBE_CA_FILE', (path) => {
      try {
        const pem = readFileSync(path);
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
        return { path, pem };
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`${show('PROBE_CA_FILE', path)}: ${why}; expected a readable PEM file of CA certificates`, { cause: err });
      }
    }),
    PROBE_INSECURE_SKIP_VERIFY: oneOf('PROBE_INSECURE_SKIP_VERIFY', ['true', 'false'] as const),
    PROBE_START_GRACE: duration('PROBE_START_GRACE', 0),
    PROBE_API_TIMEOUT: duration('PROBE_API_TIMEOUT', 1),
    PROBE_RECEIVE_PORT: optional('PROBE_RECEIVE_PORT', (value) => {
      const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!(n >= 1 && n <= 65535)) throw new Error(`${show('PROBE_RECEIVE_PORT', value)}: expected a port number from 1 to 65535`);
      return n;
    }),
    PROBE_DENY_TARGET: optional('PROBE_DENY_TARGET', parseDenyTargets),
    PROBE_DENY_CONFIRM: read('PROBE_DENY_CONFIRM', (value) => {
      const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!(n >= 1 && n <= 100)) throw new Error(`${show('PROBE_DENY_CONFIRM', value)}: expected a whole number of attempts from 1 to 100`);
      return n;
    }),
    DPREADY_START_NS: optional('DPREADY_START_NS', (value) => {
      if (!/^[1-9]\d{0,18}$/.test(value)) throw new Error(`${show('DPREADY_START_NS', value)}: expected Unix time in ns, as dpready-start sets it`);
      // Whole ms from BigInt, then the ns below them: a Number of ns since 1970 loses the µs.
      const ns = BigInt(value);
      const ms = Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
      const early = origin - ms;
      if (early > START_STAMP_BOUNDS.beforeMs || -early > START_STAMP_BOUNDS.afterMs) {
        throw new Error(`${show('DPREADY_START_NS', value)}: ${new Date(ms).toISOString()} is ${Math.round(Math.abs(early))} ms ${early > 0 ? 'before' : 'after'} this process started; `
          + `expected the instant dpready-start stamped just before it ran this process (at most ${START_STAMP_BOUNDS.beforeMs / 60_000} min before, ${START_STAMP_BOUNDS.afterMs} ms after). `
          + 'It is set by the image\'s entrypoint; unset it to record this process\'s start instead');
      }
      return ms - origin;
    }),
  };
  return { values, issues, origin };
}

/**
 * Reads and validates the reporter's environment; throws DpreadyError listing every problem.
 * `processStartWallMs` is this process's start (epoch ms; the monotonic clock's origin), which
 * DPREADY_START_NS is checked against and placed by; a test gives it, a reporter measures it
 * (clock.ts originWallMs, with DPREADY_WALL_MINUS_MONO_NS when set).
 */
export function loadConfig(env: Env, processStartWallMs?: number): ReporterConfig {
  const { values: v, issues, origin } = readAll(env, processStartWallMs);
  if (issues.length) {
    const onlyTargets = issues.every((i) => i.name === 'PROBE_TARGET' || i.name === 'PROBE_DENY_TARGET');
    throw new DpreadyError(onlyTargets ? 'DPR_BAD_TARGET' : 'DPR_BAD_CONFIG', issues.map((i) => i.message).join('\n'));
  }
  const insecureSkipVerify = v.PROBE_INSECURE_SKIP_VERIFY === 'true';
  if (insecureSkipVerify && v.PROBE_CA_FILE) {
    throw new DpreadyError('DPR_BAD_CONFIG',
      `PROBE_INSECURE_SKIP_VERIFY="true" with PROBE_CA_FILE=${JSON.stringify(v.PROBE_CA_FILE.path)}: expected one of them, not both (skipping verification would ignore the CA)`);
  }
  const known = new Set(Object.keys(VARIABLES));
  const report = reportSettings(env);
  return {
    podName: v.MY_POD_NAME,
    namespace: v.MY_POD_NAMESPACE,
    targets: v.PROBE_TARGET,
    timeoutMs: v.PROBE_TIMEOUT,
    start: v.DPREADY_START_NS !== undefined ? { at: v.DPREADY_START_NS, from: 'exec' } : { at: 0, from: 'node' },
    originWallMs: origin,
    schedule: {
      ...DEFAULT_SCHEDULE,
      initialMs: v.PROBE_INITIAL_INTERVAL,
      growth: v.PROBE_INTERVAL_GROWTH,
      capMs: v.PROBE_INTERVAL,
    },
    attemptTimeoutMs: v.PROBE_ATTEMPT_TIMEOUT,
    maxInFlight: v.PROBE_MAX_IN_FLIGHT,
    mode: v.PROBE_MODE,
    ...(v.PROBE_CA_FILE ? { ca: v.PROBE_CA_FILE.pem, caFile: v.PROBE_CA_FILE.path } : {}),
    insecureSkipVerify,
    startGraceMs: v.PROBE_START_GRACE,
    apiCallTimeoutMs: v.PROBE_API_TIMEOUT,
    ...(v.PROBE_RECEIVE_PORT !== undefined ? { receivePort: v.PROBE_RECEIVE_PORT } : {}),
    ...(v.PROBE_DENY_TARGET !== undefined ? { denyTargets: v.PROBE_DENY_TARGET } : {}),
    denyConfirm: v.PROBE_DENY_CONFIRM,
    ...(report ? { report } : {}),
    ...(env.DPREADY_SERVICEACCOUNT_DIR ? { serviceAccountDir: env.DPREADY_SERVICEACCOUNT_DIR } : {}),
    // Kubernetes injects <SERVICE>_PORT… variables for every service, so a service named
    // "probe" would collide; unknown names are warned about, not rejected.
    unknownVariables: Object.keys(env).filter((k) => k.startsWith('PROBE_') && !known.has(k)
      && !/^PROBE_(SERVICE_|PORT)/.test(k)).sort(),
  };
}

function reportSettings(env: Env): ReporterConfig['report'] {
  const url = env.DPREADY_REPORT_URL;
  if (url === undefined) return undefined;
  if (!/^https:\/\/[^/\s]+\/?$/.test(url)) throw new DpreadyError('DPR_BAD_CONFIG', `${show('DPREADY_REPORT_URL', url)}: expected https://host[:port]`);
  const ca = env.DPREADY_REPORT_CA;
  if (!ca?.includes('-----BEGIN CERTIFICATE-----')) throw new DpreadyError('DPR_BAD_CONFIG', `${show('DPREADY_REPORT_CA', ca === undefined ? undefined : '…')}: expected PEM certificates (with DPREADY_REPORT_URL)`);
  return { url, ca, tokenFile: env.DPREADY_REPORT_TOKEN_FILE || VARIABLES.DPREADY_REPORT_TOKEN_FILE.default };
}
