// The receive prober's load at 1,000 pending pods: the controller's ReceiveProber with the real
// clock and timers, and a knock that never gets an answer (a blocked ingress path, the worst
// case), so it runs as fast as its bounds allow. In-process, with no packets sent: pod IPs of a
// KWOK cluster are not this machine's to send to.
import { systemClock } from '../src/controller/clock.ts';
import { ReceiveProber } from '../src/controller/receive-prober.ts';
import type { PodSummary } from '../src/controller/pod-summary.ts';

export interface ReceiveLoadFigures {
  pods: number;
  seconds: number;
  knocksPerSecond: number;
  /** Seconds between two knocks of one pod, median over pods. */
  perPodIntervalS: number;
  maxInFlight: number;
  markKnocksPerSecond: number;
  /**
   * The lower bound: 90% of the configured rate. At 1,000 pods that never answer, the token
   * bucket, not the prober, must be what limits the knocks; a prober that stalls or knocks
   * too rarely would pass the upper bound alone.
   */
  markMinKnocksPerSecond: number;
}

export async function receiveLoad(opts: { pods: number; seconds: number }): Promise<ReceiveLoadFigures> {
  let inFlight = 0;
  let maxInFlight = 0;
  const perPod = new Map<string, number>();
  const prober = new ReceiveProber({
    clock: systemClock,
    knock: (ip, _port, timeoutMs) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      perPod.set(ip, (perPod.get(ip) ?? 0) + 1);
      return new Promise((resolve) => setTimeout(() => { inFlight--; resolve('silent'); }, timeoutMs));
    },
  });
  prober.start();
  for (let i = 0; i < opts.pods; i++) {
    const pod: PodSummary = {
      uid: `u${i}`, namespace: 'bench', name: `p${i}`, labels: {}, annotations: {}, hasGate: true, creationTimestampMs: 0,
      phase: 'Running', deleting: false, receivePort: 9376, podIP: `192.0.2.${i}`,
    };
    prober.observe(pod.uid, pod);
  }
  // The steady rate: the first second includes the token bucket's initial burst (a tenth of a second's worth).
  await new Promise((r) => setTimeout(r, 1_000));
  const started = performance.now();
  const sentBefore = prober.sent;
  await new Promise((r) => setTimeout(r, opts.seconds * 1_000));
  const elapsed = (performance.now() - started) / 1_000;
  const sent = prober.sent - sentBefore;
  prober.stop();
  const counts = [...perPod.values()].sort((a, b) => a - b);
  const median = counts[Math.floor(counts.length / 2)] ?? 0;
  return {
    pods: opts.pods, seconds: Math.round(elapsed * 10) / 10,
    knocksPerSecond: Math.round(sent / elapsed),
    perPodIntervalS: Math.round((elapsed / Math.max(1, median)) * 100) / 100,
    // The configured rate (1,000/s) plus the token bucket's burst (100) spread over the window.
    maxInFlight, markKnocksPerSecond: Math.round(1_000 + 100 / elapsed), markMinKnocksPerSecond: 900,
  };
}
