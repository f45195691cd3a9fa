// An experiment, measured and not shipped: the success path run once ahead against this
// process's own loopback listener, while the real target is still not answering. Until a
// reporter's first success, the code that handles one (the connection coming up, the request
// written, the status line read, the earliest success settled) has never run in the process, and
// V8 compiles it on first use; when many pods' datapath heals at one instant, their reporters'
// successes all come in the same few milliseconds, and each one's CPU delays the neighbours' next
// attempts. bench/success-cost.ts measured it: the first success cost 2.8 ms of CPU cold and
// 2.0 ms after this warm-up, and the warm-up itself 23 ms (success-cost-2026-12-07-b18c6b4.json);
// on the real node the datapath-ready error did not move (2026-12-07-900619b.json, 27.3 ms at
// p99, against 24.1 and 33.3 ms without it). So the reporter does not run it: 23 ms for every
// slow pod to save 0.8 ms at its success does not pay. It stays here so that figure can be
// measured again.
import { createServer, type Server, type Socket } from 'node:net';

import { runProber } from '../src/reporter/prober.ts';
import type { Clock } from '../src/reporter/clock.ts';
import type { ProbeFn } from '../src/reporter/probes.ts';
import type { Target } from '../src/reporter/targets.ts';

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
