// One probe attempt against one target. Every attempt opens a fresh connection (as the
// kubelet's probes do): a kept-alive socket would prove an old path, not the current one.
// An attempt resolves with its completion instant, taken in the callback that observed
// success, so the ready timestamp is not delayed by anything that runs after it.
import { connect, isIP, type Socket } from 'node:net';

import type { Target } from './targets.ts';

export interface ProbeOptions {
  /** Aborts the attempt (its timeout, a newer attempt replacing it, or the end of probing). */
  signal: AbortSignal;
  /** Monotonic clock, ms. */
  now: () => number;
  /** Extra trust anchors for https targets (PEM). */
  ca?: string | Buffer;
  /** Skip certificate verification for https targets (explicit opt-in only). */
  insecureSkipVerify?: boolean;
  /** Called when an HTTP(S) attempt's TCP connection is up, before it asks (the prober drops the attempts still connecting). */
  onConnected?: () => void;
}

export interface ProbeSuccess {
  /** Monotonic instant the attempt succeeded. */
  doneAt: number;
  /** Attempt start to success, ms (includes name resolution for host names). */
  rttMs: number;
}

export type ProbeFn = (target: Target, opts: ProbeOptions) => Promise<ProbeSuccess>;

/**
 * An attempt that asked nothing of the network (the lookup limit was reached): like silence,
 * it says nothing about the target and must not slow the schedule as an answer would.
 */
export class NotAttempted extends Error {}

// getaddrinfo runs on libuv's small thread pool (4 threads) and cannot be cancelled. With a
// name server that does not answer, abandoned lookups would queue up behind each other and a
// lookup started after the path recovered would wait for all of them. So at most this many
// lookups are outstanding at once; an attempt that finds the limit reached fails at once
// and says so, and a later attempt tries again.
const MAX_OUTSTANDING_LOOKUPS = 3;
let outstandingLookups = 0;

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

/** Rejects as soon as `signal` aborts, while the underlying work may still be running. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}

async function resolveAll(name: string, signal: AbortSignal): Promise<string[]> {
  if (outstandingLookups >= MAX_OUTSTANDING_LOOKUPS) {
    throw new NotAttempted(`DNS lookup of ${name} not started: ${outstandingLookups} earlier lookups still unanswered`);
  }
  outstandingLookups++;
  // getaddrinfo, not the c-ares resolver: it applies the pod's search domains, /etc/hosts and
  // nsswitch, exactly as the workload's own lookups would.
  // Loaded on the first lookup (process.getBuiltinModule): an IP target never pays for it.
  const work = process.getBuiltinModule('node:dns/promises').lookup(name, { all: true }).finally(() => { outstandingLookups--; });
  const addrs = await raceAbort(work, signal);
  if (addrs.length === 0) throw new Error(`DNS lookup of ${name} returned no addresses`);
  return addrs.map((a) => a.address);
}

async function address(host: string, signal: AbortSignal): Promise<string> {
  return isIP(host) ? host : (await resolveAll(host, signal))[0]!;
}

function tcpConnect(host: string, port: number, opts: ProbeOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const { signal } = opts;
    if (signal.aborted) return reject(abortError(signal));
    const socket = connect({ host, port });
    const onAbort = () => { socket.destroy(); reject(abortError(signal)); };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      const doneAt = opts.now();
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(doneAt);
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}

/**
 * A TCP connection to ip:port, resolved once connected and left open. Under a dropped path
 * this socket is all an attempt builds: aborting it destroys the socket and creates no error
 * object (an HTTP request aborted before connecting made a "socket hang up" error with its
 * stack trace, measured as most of the user CPU of an attempt).
 */
function openSocket(ip: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const socket = connect({ host: ip, port });
    const onAbort = () => { socket.destroy(); reject(abortError(signal)); };
    const onError = (err: Error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}

// process.getBuiltinModule, not an ES import: the reporter's bundle loads every static import at
// start, and an ES import of node:http or node:https reads all their exports, which loads
// Node's bundled undici (measured: 65-75 ms of start-up against 7 ms for node:http itself).
// TLS is loaded only when an https target is first probed.
const httpModule = () => process.getBuiltinModule('node:http');
const tlsModule = () => process.getBuiltinModule('node:tls');

async function httpGet(target: Extract<Target, { kind: 'http' | 'https' }>, ip: string, opts: ProbeOptions): Promise<number> {
  const secure = target.kind === 'https';
  const { signal } = opts;
  // The connection first, the request only once it is up (see openSocket).
  const tcp = await openSocket(ip, target.port, signal);
  if (signal.aborted) { tcp.destroy(); throw abortError(signal); }
  opts.onConnected?.();
  const socket = secure
    ? tlsModule().connect({
      socket: tcp,
      servername: isIP(target.host) ? undefined : target.host,
      ca: opts.ca,
      rejectUnauthorized: !opts.insecureSkipVerify,
    })
    : tcp;
  return new Promise((resolve, reject) => {
    // This attempt's own connection, closed after it (no Agent: agent:false would build one
    // per attempt, measured as CPU per attempt).
    const req = httpModule().request({
      host: ip,
      port: target.port,
      path: `${target.url.pathname}${target.url.search}`,
      method: 'GET',
      createConnection: () => socket,
      headers: { host: target.url.host, 'user-agent': 'dpready-reporter', connection: 'close' },
    });
    // The TLS socket and the connection under it, explicitly (for http they are one; a second destroy does nothing).
    const close = () => { socket.destroy(); tcp.destroy(); };
    const onAbort = () => { req.destroy(); close(); reject(abortError(signal)); };
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('response', (res) => {
      const doneAt = opts.now();
      signal.removeEventListener('abort', onAbort);
      const status = res.statusCode ?? 0;
      res.destroy();
      req.destroy();
      // 2xx and 3xx, as the kubelet's HTTP probe; redirects are not followed.
      if (status >= 200 && status < 400) resolve(doneAt);
      else reject(new Error(`HTTP ${status} from ${target.raw}`));
    });
    req.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      close();
      reject(err);
    });
    req.end();
  });
}

export const probeOnce: ProbeFn = async (target, opts) => {
  const startedAt = opts.now();
  let doneAt: number;
  switch (target.kind) {
    case 'tcp':
      doneAt = await tcpConnect(await address(target.host, opts.signal), target.port, opts);
      break;
    case 'http':
    case 'https':
      doneAt = await httpGet(target, await address(target.host, opts.signal), opts);
      break;
    case 'dns':
      await resolveAll(target.name, opts.signal);
      doneAt = opts.now();
      break;
  }
  return { doneAt, rttMs: doneAt - startedAt };
};
