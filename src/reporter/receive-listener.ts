// The receive side of the datapath: an HTTP listener in the pod that something outside (the
// controller's receive prober) knocks on. The instant of the first knock is when traffic first
// reached the pod: it is taken in the request callback, on the reporter's monotonic clock, the
// same time base as the send side's instants. Only GET RECEIVE_PATH counts; anything else gets
// a 404 and is not taken as proof (a stray scanner is not the prober).
import type { AddressInfo } from 'node:net';
import { RECEIVE_PATH } from '../contract-names.ts';
import { DpreadyError } from '../errors.ts';
import type { Clock } from './clock.ts';

export interface ReceiveListener {
  /** The bound port (useful when asked for port 0 in tests). */
  port: number;
  /** Resolves with the monotonic instant of the first knock. */
  firstKnock: Promise<number>;
  /** Knocks answered so far (the prober's load, for the probe details). */
  knocks(): number;
  close(): Promise<void>;
}

export async function listenForReceive(port: number, clock: Clock, host = '0.0.0.0'): Promise<ReceiveListener> {
  let knocks = 0;
  let resolveFirst!: (at: number) => void;
  const firstKnock = new Promise<number>((resolve) => { resolveFirst = resolve; });
  // Not `import http from 'node:http'`: the reporter's bundle loads every static import at
  // start, and an ES import of node:http reads all its exports, which loads Node's bundled
  // undici (measured: 65-75 ms of start-up against 7 ms for the module object itself).
  const http = process.getBuiltinModule('node:http');
  const server = http.createServer((req, res) => {
    const at = clock.now();
    if (req.method !== 'GET' || req.url?.split('?')[0] !== RECEIVE_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('not the dpready receive path\n');
      return;
    }
    knocks++;
    resolveFirst(at); // later knocks change nothing: a promise settles once
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('received\n');
  });
  // Each knock is a fresh connection: do not keep sockets around for a prober that never reuses them.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new DpreadyError('DPR_BAD_CONFIG',
      `PROBE_RECEIVE_PORT=${port}: cannot listen (${(err as NodeJS.ErrnoException).code ?? err.message}); is another container using it?`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    firstKnock,
    knocks: () => knocks,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
