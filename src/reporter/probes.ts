// One probe attempt against one target. Every attempt opens a fresh connection (as the
// kubelet's probes do): a kept-alive socket would prove an old path, not the current one.
// An attempt resolves with its completion instant, taken in the callback that observed
// success, so the ready timestamp is not delayed by anything that runs after it.
import { isIP, type Socket } from 'node:net';

import type { AttemptSignal } from './attempt-signal.ts';
import { connectTcp, type TcpConnection } from './tcp-connect.ts';
import type { Target } from './targets.ts';

export interface ProbeOptions {
  /** Aborts the attempt (its timeout, a newer attempt replacing it, or the end of probing). */
  signal: AttemptSignal;
  /** Monotonic clock, ms. */
  now: () => number;
  /** Extra trust anchors for https targets (PEM). */
  ca?: string | Buffer;
  /** Skip certificate verification for https targets (explicit opt-in only). */
  insecureSkipVerify?: boolean;
  /** Called once an http(s) attempt's TCP connection is up (the prober then lets it run to its timeout). */
  onConnected?: () => void;
  /**
   * Called with now() once a tcp or http(s) attempt's SYN is in the kernel's hands: just after
   * its connect(2) returned (tcp-connect.ts makes the call at once). A refusal proves a rule was
   * there when the SYN crossed, so the deny prober dates it from here, not from before it asked:
   * a reporter that waits for a core in between would otherwise date a denial before the rule
   * existed.
   * A success's sentAt is this same instant.
   */
  onSent?: (at: number) => void;
  /**
   * Called with now() before the attempt's packet is handed to the kernel: just before a tcp or
   * http(s) attempt's connect(2) (after any lookup of the host's name), as a dns attempt asks for
   * its lookup. Its packet leaves after this instant, so an attempt that then fails proves the
   * path did not work at it: the prober's lower bound on the path's true instant.
   */
  onSending?: (at: number) => void;
  /**
   * For http(s): once the connection is up, the request (and for https the TLS handshake) waits
   * until this long after the SYN's instant. The prober asks for it (HOLD_REQUEST_MS): the rest of
   * a successful exchange is most of its CPU, and is not part of what it records.
   */
  holdRequestMs?: number;
}

export interface ProbeSuccess {
  /**
   * Monotonic instant the attempt's own packet went out: for tcp and http(s), read just after
   * its connect(2) returned (the SYN leaves inside that call), so after any lookup of the host's
   * name and after any wait for a core before the call; for dns, when the query was asked for.
   * A lookup is not the datapath being probed, and on a busy node it takes tens of ms: an
   * attempt that began while the path was still broken could send its SYN after it healed.
   * A clock read before the call would date the SYN early by however long the reporter then
   * waited for a core, possibly to before the heal it claims to have seen.
   */
  sentAt: number;
  /** Monotonic instant the attempt succeeded. */
  doneAt: number;
  /** Attempt start to success, ms (includes name resolution for host names), less any hold (holdRequestMs). */
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

function abortError(signal: AttemptSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

/** Rejects as soon as `signal` aborts, while the underlying work may still be running. */
function raceAbort<T>(work: Promise<T>, signal: AttemptSignal): Promise<T> {
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

async function resolveAll(name: string, signal: AttemptSignal): Promise<string[]> {
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

/** The host's first address by lookup (an IP target needs none: see probeOnce). */
async function lookupFirst(host: string, signal: AttemptSignal): Promise<string> {
  return (await resolveAll(host, signal))[0]!;
}

/**
 * Connects to ip:port (connectTcp), saying onSending just before the connect(2) and onSent just
 * after it, and resolves with the connection and the instant it came up. Aborting it closes the
 * connection and creates no error object (an HTTP request aborted before connecting made a
 * "socket hang up" error with its stack trace, measured as most of the user CPU of an attempt).
 */
function openConnection(ip: string, port: number, opts: ProbeOptions): Promise<{ conn: TcpConnection; upAt: number }> {
  const { signal } = opts;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    opts.onSending?.(opts.now());
    const conn = connectTcp(ip, port, isIP(ip) === 6 ? 6 : 4, (err) => {
      signal.removeEventListener('abort', onAbort);
      if (err) {
        conn.close();
        reject(err);
        return;
      }
      resolve({ conn, upAt: opts.now() });
    });
    opts.onSent?.(opts.now());
    const onAbort = () => { conn.close(); reject(abortError(signal)); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `opts` with onSent also recording the instant in `sent` (the attempt's ProbeSuccess.sentAt). */
function recordingSent(opts: ProbeOptions, sent: { at: number }): ProbeOptions {
  const { onSent } = opts;
  return { ...opts, onSent: (at) => { sent.at = at; onSent?.(at); } };
}

async function tcpConnect(ip: string, port: number, opts: ProbeOptions): Promise<number> {
  const { conn, upAt } = await openConnection(ip, port, opts);
  conn.close();
  return upAt;
}

// TLS through process.getBuiltinModule, loaded only when an https target is first probed: an ES
// import would load it at every start, for every reporter, most of which probe plain http.
const tlsModule = () => process.getBuiltinModule('node:tls');

/** The request of every attempt at a target: the same bytes each time, built once. */
const requests = new WeakMap<Target, Buffer>();
function requestOf(target: Extract<Target, { kind: 'http' | 'https' }>): Buffer {
  let bytes = requests.get(target);
  if (!bytes) {
    // The URL parser has percent-encoded the path and validated the host, so neither can hold
    // a space or a line break.
    bytes = Buffer.from(`GET ${target.url.pathname}${target.url.search} HTTP/1.1\r\nHost: ${target.url.host}\r\nUser-Agent: dpready-reporter\r\nConnection: close\r\n\r\n`, 'latin1');
    requests.set(target, bytes);
  }
  return bytes;
}

/** The longest response head read while looking for a final status line. */
const MAX_HEAD = 16 * 1024;

/**
 * The final status code at the start of `head`, skipping interim (1xx) responses; `undefined`
 * while more bytes are needed. Throws when the bytes are not an HTTP/1 response.
 */
export function finalStatus(head: string, target: string): number | undefined {
  let at = 0;
  for (;;) {
    const eol = head.indexOf('\n', at);
    if (eol < 0) {
      if (head.length - at >= MAX_HEAD) throw new Error(`no HTTP status line in the first ${MAX_HEAD} bytes from ${target}`);
      return undefined;
    }
    const m = /^HTTP\/1\.[01] (\d{3})(?: |\r?$)/.exec(head.slice(at, eol));
    if (!m) throw new Error(`not an HTTP/1.1 response from ${target}: ${JSON.stringify(head.slice(at, Math.min(eol, at + 40)))}`);
    const status = Number(m[1]);
    if (status >= 200) return status;
    // An interim response (100 Continue, 103 Early Hints): its head ends at a blank line.
    const end = head.indexOf('\r\n\r\n', eol - 1);
    if (end < 0) {
      if (head.length - at >= MAX_HEAD) throw new Error(`an interim response longer than ${MAX_HEAD} bytes from ${target}`);
      return undefined;
    }
    at = end + 4;
  }
}

/**
 * Keeps a connection that is up, with nothing asked of it, for `ms`: still the bare handle, so the
 * Socket the exchange needs is built after the hold, not among the neighbours' ticks (by hand,
 * 0.2-0.4 ms of CPU in a warmed process, 2-3 ms in a cold one). Nothing reads the connection
 * meanwhile: a reset during the hold fails the attempt when its request meets it. Rejects, with
 * the connection closed, if the attempt is stopped meanwhile.
 */
function hold(conn: TcpConnection, ms: number, signal: AttemptSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => { clearTimeout(timer); conn.close(); reject(abortError(signal)); };
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One GET over a fresh connection, read as far as its final status line: 2xx and 3xx are
 * success, as the kubelet's HTTP probe (redirects are not followed). The request is written
 * and the status line read on the socket itself, not through node:http: on a dropped path
 * every attempt ends before it asks, so the process's first exchange comes exactly when the
 * path heals, and node:http's first ClientRequest and parser ran cold then (by hand, an order of
 * magnitude more CPU than a warm exchange). Twenty reporters paid it at once on two cores, and the
 * last of them saw the healed path 185-317 ms late (2026-12-05-82f529f.json).
 */
async function httpGet(target: Extract<Target, { kind: 'http' | 'https' }>, ip: string, opts: ProbeOptions, sent: { at: number }): Promise<{ doneAt: number; heldMs: number }> {
  const { signal } = opts;
  // The connection first, the request only once it is up: under a dropped path an attempt is
  // the handle alone (tcp-connect.ts).
  const { conn } = await openConnection(ip, target.port, opts);
  opts.onConnected?.();
  if (signal.aborted) { conn.close(); throw abortError(signal); }
  let heldMs = 0;
  const wait = opts.holdRequestMs === undefined ? 0 : sent.at + opts.holdRequestMs - opts.now();
  if (wait > 0) {
    const from = opts.now();
    await hold(conn, wait, signal);
    heldMs = opts.now() - from;
  }
  const tcp = conn.toSocket();
  const socket: Socket = target.kind === 'https'
    ? tlsModule().connect({
      socket: tcp,
      servername: isIP(target.host) ? undefined : target.host,
      ca: opts.ca,
      rejectUnauthorized: !opts.insecureSkipVerify,
    })
    : tcp;
  return new Promise<{ doneAt: number; heldMs: number }>((resolve, reject) => {
    let head = '';
    // The TLS socket and the connection under it (for http they are one; a second destroy does nothing).
    const settle = (outcome: () => void) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      tcp.destroy();
      outcome();
    };
    const onAbort = () => settle(() => reject(abortError(signal)));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => {
      const doneAt = opts.now();
      head += chunk.toString('latin1');
      let status: number | undefined;
      try {
        status = finalStatus(head, target.raw);
      } catch (err) {
        settle(() => reject(err as Error));
        return;
      }
      if (status === undefined) return;
      if (status < 400) settle(() => resolve({ doneAt, heldMs }));
      else settle(() => reject(new Error(`HTTP ${status} from ${target.raw}`)));
    });
    socket.once('end', () => settle(() => reject(new Error(`${target.raw} closed the connection before an HTTP status line`))));
    socket.once('error', (err) => settle(() => reject(err)));
    socket.write(requestOf(target));
  });
}

export const probeOnce: ProbeFn = async (target, opts) => {
  const startedAt = opts.now();
  // The SYN's instant comes from onSent, read as connect(2) returns: before then no connection
  // can have come up, so a settled tcp or http(s) attempt always has it.
  const sent = { at: startedAt };
  let doneAt: number;
  let heldMs = 0;
  switch (target.kind) {
    case 'tcp': {
      // An IP target connects without an await in between: no promise and no microtask turn
      // for a lookup it does not make, up to 50 times a second.
      const ip = isIP(target.host) ? target.host : await lookupFirst(target.host, opts.signal);
      doneAt = await tcpConnect(ip, target.port, recordingSent(opts, sent));
      break;
    }
    case 'http':
    case 'https': {
      const ip = isIP(target.host) ? target.host : await lookupFirst(target.host, opts.signal);
      const got = await httpGet(target, ip, recordingSent(opts, sent), sent);
      doneAt = got.doneAt;
      heldMs = got.heldMs;
      break;
    }
    case 'dns':
      opts.onSending?.(startedAt);
      await resolveAll(target.name, opts.signal);
      doneAt = opts.now();
      break;
  }
  return { sentAt: sent.at, doneAt, rttMs: doneAt - startedAt - heldMs };
};
