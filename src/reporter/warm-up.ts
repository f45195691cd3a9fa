// The success path, run once ahead against this process's own loopback listener, while the
// real target is still not answering. Until a reporter's first success, the code that handles one
// (the connection coming up, the request written, the status line read, the earliest success
// settled) has never run in the process, and V8 compiles it on first use. That first success then
// cost 2.4–3.5 ms of CPU against 0.9–1.5 ms once it had run before (bench/success-cost.ts). When many
// pods' datapath heals at one instant (a rule, a NetworkPolicy, the CNI), their reporters'
// successes all come in the same few milliseconds, and each one's CPU delays the neighbours' next
// attempts, whose instants are what those neighbours record.
//
// Only a reporter whose datapath did not work at once runs it (run.ts calls it when the grace
// period ends without a success): a healthy pod's first attempt succeeds, and it costs nothing.
// tcp and http targets only: an https success needs a certificate this process does not have, and
// a lookup's success path is in libc, not in JavaScript.
import { createServer, type Server, type Socket } from 'node:net';

import { runProber } from './prober.ts';
import type { Clock } from './clock.ts';
import type { ProbeFn } from './probes.ts';
import type { Target } from './targets.ts';

/** What a warm-up did: the target kinds whose success path ran, and its wall time. */
export interface WarmUp { kinds: Array<'tcp' | 'http'>; ms: number }

/** An HTTP answer that any request gets, with the connection then closed (as a real target would). */
const ANSWER = 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n';

/** Runs the prober once, to its success, against a listener on 127.0.0.1 for each kind among `targets`. */
export async function warmUpSuccessPath(targets: readonly Target[], probe: ProbeFn, clock: Clock): Promise<WarmUp> {
  const kinds = [...new Set(targets.map((t) => t.kind))].filter((k): k is 'tcp' | 'http' => k === 'tcp' || k === 'http');
  const started = clock.now();
  if (kinds.length === 0) return { kinds, ms: 0 };
  const accepted = new Set<Socket>();
  const server = createServer((socket) => {
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
    socket.on('error', () => { /* the prober closes its side at once; nothing to report */ });
    socket.once('data', () => socket.end(ANSWER));
  });
  await listen(server);
  try {
    const { port } = server.address() as { port: number };
    const local: Target[] = kinds.map((kind) => kind === 'tcp'
      ? { kind, raw: `tcp://127.0.0.1:${port}`, host: '127.0.0.1', port }
      : { kind, raw: `http://127.0.0.1:${port}/`, url: new URL(`http://127.0.0.1:${port}/`), host: '127.0.0.1', port });
    const run = await runProber({
      targets: local, schedule: { initialMs: 20, capMs: 20, growth: 0 }, attemptTimeoutMs: 1_000, maxInFlight: 2,
      deadline: clock.now() + 2_000, clock, probe,
    });
    if (run.outcome !== 'ready') throw new Error(`the loopback listener did not answer (${run.results.map((r) => r.lastError).filter(Boolean).join('; ') || run.outcome})`);
    return { kinds, ms: Math.round((clock.now() - started) * 10) / 10 };
  } finally {
    // Nothing of it may stay open: an init container's process must be able to exit.
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
}
