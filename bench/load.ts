// The benchmark's HTTP load generator: `concurrency` clients on one undici Pool send GETs to one
// path until `maxRequests` are sent or `maxMs` has passed (always bounded), and every latency is
// kept so each caller computes the statistics it reports.
import type { Pool } from 'undici';

export interface LoadRun { latencies: number[]; errors: number; seconds: number }

export async function loadPath(pool: Pool, path: string, concurrency: number, maxRequests: number, maxMs = Infinity): Promise<LoadRun> {
  const latencies: number[] = [];
  let sent = 0, errors = 0;
  const began = performance.now();
  const deadline = began + maxMs;
  const client = async () => {
    while (sent < maxRequests && performance.now() < deadline) {
      sent++;
      const t0 = performance.now();
      try {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.text();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { latencies, errors, seconds: (performance.now() - began) / 1000 };
}
