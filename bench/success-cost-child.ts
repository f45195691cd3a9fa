// One run of bench/success-cost.ts, in a process of its own: the reporter's prober against an
// http target on this namespace's loopback whose packets are dropped until the parent lets them
// through, then the CPU of the successful attempt, from its launch to its answer read, as one
// JSON line. `warm` runs the reporter's warm-up first (src/reporter/warm-up.ts, which a reporter
// still probing a second after its start runs); `cold` does not, as a reporter whose path heals
// within its first second.
//   node <bundle> cold|warm <port>
import { fileURLToPath } from 'node:url';

import { systemClock } from '../src/reporter/clock.ts';
import { runProber } from '../src/reporter/prober.ts';
import { probeOnce, type ProbeFn } from '../src/reporter/probes.ts';
import { DEFAULT_SCHEDULE } from '../src/reporter/schedule.ts';
import { parseTarget } from '../src/reporter/targets.ts';
import { warmUp, warmUpKinds } from '../src/reporter/warm-up.ts';

export const MODES = ['cold', 'warm'] as const;
export type Mode = (typeof MODES)[number];

/** What one process measured: its successful attempt's CPU (all threads), ms, the attempts it took, and the warm-up's CPU when it ran one. */
export interface SuccessRun {
  mode: Mode; successCpuMs: number; attempts: number; warmUpCpuMs?: number;
  /** The same attempt's CPU from its launch to its connection up: the part before its hold (probes.ts), which falls among the neighbours' ticks. */
  toConnectedCpuMs?: number;
}

async function main(mode: Mode, port: number): Promise<void> {
  const target = parseTarget(`http://127.0.0.1:${port}/healthz`);
  // The warm-up's own CPU: what a reporter pays once for the cheaper success.
  let warmUpCpuMs: number | undefined;
  if (mode === 'warm') {
    const c0 = process.cpuUsage();
    await warmUp(warmUpKinds([target]), probeOnce, systemClock.now);
    const c = process.cpuUsage(c0);
    warmUpCpuMs = Math.round((c.user + c.system) / 10) / 100;
  }
  // Each attempt's CPU from its launch to its end; the success's is the one kept.
  let successCpuMs: number | undefined;
  let toConnectedCpuMs: number | undefined;
  const timed: ProbeFn = (t, o) => {
    const c0 = process.cpuUsage();
    let connected: number | undefined;
    const onConnected = () => {
      const c = process.cpuUsage(c0);
      connected = (c.user + c.system) / 1000;
      o.onConnected?.();
    };
    return probeOnce(t, { ...o, onConnected }).then((ok) => {
      const c = process.cpuUsage(c0);
      if (successCpuMs === undefined) {
        successCpuMs = (c.user + c.system) / 1000;
        toConnectedCpuMs = connected;
      }
      return ok;
    });
  };
  // The reporter's defaults (PROBE_ATTEMPT_TIMEOUT 2s, PROBE_MAX_IN_FLIGHT 100).
  const run = await runProber({
    targets: [target], schedule: DEFAULT_SCHEDULE, attemptTimeoutMs: 2_000, maxInFlight: 100,
    deadline: systemClock.now() + 20_000, clock: systemClock, probe: timed,
  });
  if (run.outcome !== 'ready' || successCpuMs === undefined) throw new Error(`no success within 20 s (${run.results[0]!.lastError ?? run.outcome})`);
  const out: SuccessRun = { mode, successCpuMs: Math.round(successCpuMs * 1000) / 1000, attempts: run.results[0]!.attempts, ...(warmUpCpuMs !== undefined ? { warmUpCpuMs } : {}), ...(toConnectedCpuMs !== undefined ? { toConnectedCpuMs: Math.round(toConnectedCpuMs * 1000) / 1000 } : {}) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [mode, port] = process.argv.slice(2);
  if (!(MODES as readonly string[]).includes(mode ?? '')) throw new Error(`the mode must be one of ${MODES.join(', ')}, not ${JSON.stringify(mode)}`);
  if (!/^[1-9]\d*$/.test(port ?? '')) throw new Error(`the port must be a positive integer, not ${JSON.stringify(port)}`);
  void main(mode as Mode, Number(port));
}
