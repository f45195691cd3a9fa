// One variant of bench/attempt-cost.ts, in a process of its own: ticks every 20 ms against a
// target whose packets are dropped, and prints its CPU per tick (user, system) over 10 s after
// 3 s of warm-up as one JSON line. bench/attempt-cost.ts bundles this file as the reporter's
// bundle is built (scripts/bundle-reporter.ts), so the prober runs as it does in a pod: no tsx,
// no source transforms, the same minified code.
//   node <bundle> timer|socket|prober-tcp|prober-http <port>
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { systemClock } from '../src/reporter/clock.ts';
import { runProber } from '../src/reporter/prober.ts';
import { probeOnce } from '../src/reporter/probes.ts';
import { DEFAULT_SCHEDULE } from '../src/reporter/schedule.ts';
import { connectTcp, type TcpConnection } from '../src/reporter/tcp-connect.ts';
import { parseTarget } from '../src/reporter/targets.ts';

export const VARIANTS = ['timer', 'socket', 'handle', 'prober-tcp', 'prober-http'] as const;
export type Variant = (typeof VARIANTS)[number];
export const TICK_MS = 20;
export const WARMUP_MS = 3_000;
export const MEASURE_MS = 10_000;

/**
 * The spread of the intervals between consecutive attempt starts, ms (prober variants): a
 * success's instant is late against the path's heal by up to the interval it fell in, so an
 * attempt started early or late stretches that bound past the schedule's 20 ms.
 */
export interface Gaps { n: number; p1: number; p10: number; p50: number; p90: number; p99: number }
export interface PerTick { ticks: number; userMs: number; systemMs: number; gapsMs?: Gaps }

/** CPU per tick over the measured window, from the ticks in it and process.cpuUsage's difference. */
export function perTick(ticks: number, cpu: NodeJS.CpuUsage): PerTick {
  if (ticks <= 0) throw new Error('no tick in the measured window');
  const r = (us: number) => Math.round((us / 1000 / ticks) * 1000) / 1000;
  return { ticks, userMs: r(cpu.user), systemMs: r(cpu.system) };
}

/** The gaps between consecutive instants (attempt starts), by nearest rank. */
export function gaps(starts: readonly number[]): Gaps {
  if (starts.length < 2) throw new Error(`no gap between ${starts.length} attempt start(s)`);
  const g = starts.slice(1).map((t, i) => t - starts[i]!).sort((a, b) => a - b);
  const q = (p: number) => Math.round(g[Math.max(0, Math.ceil(g.length * p) - 1)]! * 100) / 100;
  return { n: g.length, p1: q(0.01), p10: q(0.1), p50: q(0.5), p90: q(0.9), p99: q(0.99) };
}

/**
 * A bare timer on the 20 ms grid; with `connectTo`, also a bare connection attempt per tick
 * (net.connect, or with `handle` the reporter's connectTcp), closed 900 ms later by a later tick.
 */
function bareTicks(connectTo: number | undefined, handle: boolean, signal: AbortSignal, onTick: () => void): void {
  const open: Array<{ socket: Socket | TcpConnection; expiresAt: number }> = [];
  const close = (s: Socket | TcpConnection) => { if ('destroy' in s) s.destroy(); else s.close(); };
  let next = performance.now();
  const tick = () => {
    if (signal.aborted) { for (const o of open) close(o.socket); return; }
    onTick();
    if (connectTo !== undefined) {
      const now = performance.now();
      while (open.length && open[0]!.expiresAt <= now) close(open.shift()!.socket);
      if (handle) {
        open.push({ socket: connectTcp('127.0.0.1', connectTo, 4, () => { /* none expected: the port drops */ }), expiresAt: now + 900 });
      } else {
        const socket = connect({ host: '127.0.0.1', port: connectTo });
        socket.on('error', () => { /* none expected: the port drops */ });
        open.push({ socket, expiresAt: now + 900 });
      }
    }
    next += TICK_MS;
    setTimeout(tick, Math.max(0, next - performance.now()));
  };
  tick();
}

async function main(variant: Variant, port: number): Promise<void> {
  let ticks = 0;
  // Attempt starts in the measured window (prober variants).
  let starts: number[] | undefined;
  const measured = new Promise<PerTick>((resolve) => {
    setTimeout(() => {
      const t0 = ticks;
      const c0 = process.cpuUsage();
      starts = [];
      setTimeout(() => {
        const cpu = perTick(ticks - t0, process.cpuUsage(c0));
        const spread = starts!.length ? { gapsMs: gaps(starts!) } : {};
        starts = undefined;
        resolve({ ...cpu, ...spread });
      }, MEASURE_MS);
    }, WARMUP_MS);
  });
  const stop = new AbortController();
  if (variant === 'timer' || variant === 'socket' || variant === 'handle') {
    bareTicks(variant === 'timer' ? undefined : port, variant === 'handle', stop.signal, () => { ticks++; });
  } else {
    const target = parseTarget(variant === 'prober-tcp' ? `tcp://127.0.0.1:${port}` : `http://127.0.0.1:${port}/healthz`);
    // The reporter's defaults (PROBE_ATTEMPT_TIMEOUT 2s, PROBE_MAX_IN_FLIGHT 100).
    void runProber({
      targets: [target], schedule: DEFAULT_SCHEDULE, attemptTimeoutMs: 2_000, maxInFlight: 100,
      deadline: systemClock.now() + WARMUP_MS + MEASURE_MS + 5_000, clock: systemClock, probe: probeOnce,
      signal: stop.signal, onAttempt: (_target, at) => { ticks++; starts?.push(at); },
      // As run.ts runs it in a pod without a receive check or deny targets.
      sleepOnThread: true,
    });
  }
  const result = await measured;
  stop.abort();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [variant, port] = process.argv.slice(2);
  if (!(VARIANTS as readonly string[]).includes(variant ?? '')) throw new Error(`the variant must be one of ${VARIANTS.join(', ')}, not ${JSON.stringify(variant)}`);
  if (!/^[1-9]\d*$/.test(port ?? '')) throw new Error(`the port must be a positive integer, not ${JSON.stringify(port)}`);
  void main(variant as Variant, Number(port));
}
