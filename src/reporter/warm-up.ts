// A connection that comes up runs code that no failed attempt has run: node's connect
// completion, the socket's events, the probe's handlers up to its hold (probes.ts). V8 compiles
// each on first use, so a reporter's first success paid ~1 ms more CPU than a later one
// between its SYN and its hold, and that is CPU spent in the interval in which its neighbours'
// next ticks fall due when many pods heal at once. A reporter still probing a while after its
// start (run.ts: WARM_UP_AFTER_MS) therefore runs one attempt of each kind it probes against a
// listener of its own on loopback, once, while the path is still down and the node likely quiet.
// What it costs and saves is measured by bench/success-cost.ts.
import type { Server, Socket } from 'node:net';

import { AttemptStop } from './attempt-signal.ts';
import type { ProbeFn } from './probes.ts';
import type { Target } from './targets.ts';

/** Any request gets this answer, and the connection is closed, as a real target would. */
const ANSWER = 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n';

/** The kinds a warm-up can run: an https target warms its connection as http (no certificate here), a dns target has no connection. */
export function warmUpKinds(targets: readonly Target[]): Array<'tcp' | 'http'> {
  const kinds = new Set<'tcp' | 'http'>();
  for (const t of targets) {
    if (t.kind === 'tcp') kinds.add('tcp');
    else if (t.kind === 'http' || t.kind === 'https') kinds.add('http');
  }
  return [...kinds];
}

/** One successful attempt of each kind against 127.0.0.1; rejects if the listener cannot be had or an attempt fails. */
export async function warmUp(kinds: ReadonlyArray<'tcp' | 'http'>, probe: ProbeFn, now: () => number): Promise<void> {
  if (kinds.length === 0) return;
  const { createServer } = process.getBuiltinModule('node:net');
  const accepted = new Set<Socket>();
  const server = createServer((socket) => {
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
    // The probe closes its side as soon as it has what it needs; nothing to report.
    socket.on('error', () => {});
    socket.once('data', () => socket.end(ANSWER));
  });
  const port = await listen(server);
  try {
    for (const kind of kinds) {
      const target: Target = kind === 'tcp'
        ? { kind, raw: `tcp://127.0.0.1:${port}`, host: '127.0.0.1', port }
        : { kind, raw: `http://127.0.0.1:${port}/`, url: new URL(`http://127.0.0.1:${port}/`), host: '127.0.0.1', port };
      const signal = new AttemptStop();
      const timer = setTimeout(() => signal.abort(new Error(`no answer from this process's own listener within ${WARM_UP_TIMEOUT_MS} ms`)), WARM_UP_TIMEOUT_MS);
      try {
        // A hold of 1 ms: the code of a held request, with next to no wait.
        await probe(target, { signal, now, holdRequestMs: 1 });
      } finally {
        clearTimeout(timer);
        signal.abort(new Error('warm-up over'));
      }
    }
  } finally {
    // Nothing of it may stay open: an init container's process must be able to exit.
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A loopback attempt that takes longer than this is not warming anything up. */
const WARM_UP_TIMEOUT_MS = 2_000;

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}
