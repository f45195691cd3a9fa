// Renders the two time-route answers as the table `dpready stats` prints. Pure, so its output
// is tested without a server.
import { formatDuration } from '../durations.ts';
import type { PodHealth } from './pod-health.ts';
import type { PhasesAnswer } from './phases.ts';
import type { MetricStats } from './stats.ts';

/** A plain-text table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function ms(v: number, count: number): string {
  return count === 0 ? '-' : formatDuration(v);
}

export function formatStats(stats: readonly MetricStats[]): string {
  const out: string[] = [];
  out.push(table(
    ['METRIC', 'COUNT', 'FAILED', 'TIMEDOUT', 'PENDING', 'P50', 'P90', 'P95', 'P99', 'MIN', 'MAX', 'MEAN'],
    stats.map((s) => [
      s.metric, String(s.count), String(s.totalFailed), String(s.timedOut), String(s.pending),
      ms(s.p50, s.count), ms(s.p90, s.count), ms(s.p95, s.count), ms(s.p99, s.count),
      ms(s.min, s.count), ms(s.max, s.count), ms(s.mean, s.count),
    ]),
  ));
  out.push(`(percentiles: ${stats[0]?.percentileMethod ?? 'linear-interpolation-r7'}, linear interpolation between closest ranks)`);
  for (const s of stats) {
    out.push('', `Worst pods, ${s.metric}:`);
    out.push(s.worstPods.length === 0 ? '  (none)' : table(
      ['NAMESPACE', 'NAME', 'NODE', 'VALUE', 'CREATED'],
      s.worstPods.map((p) => [p.namespace, p.name, p.nodeName || '-', formatDuration(p.value), p.createdAt]),
    ));
  }
  // Failed pods are the same set for both metrics more often than not: print each pod once.
  const failed = new Map<string, { ns: string; name: string; node: string; reasons: Set<string> }>();
  for (const s of stats) {
    for (const p of s.failedPods) {
      const f = failed.get(p.uid) ?? { ns: p.namespace, name: p.name, node: p.nodeName, reasons: new Set<string>() };
      f.reasons.add(`${p.reason} (${s.metric})`);
      failed.set(p.uid, f);
    }
  }
  if (failed.size > 0) {
    out.push('', 'Failed pods:');
    out.push(table(['NAMESPACE', 'NAME', 'NODE', 'REASON'],
      [...failed.values()].map((f) => [f.ns, f.name, f.node || '-', [...f.reasons].join(', ')])));
    if (stats.some((s) => s.failedPodsTruncated)) out.push('(list truncated; totals are in the FAILED column)');
  }
  return out.join('\n') + '\n';
}

/** Pod health as `dpready stats` prints it: the existing system's counts, then the pods to look at. */
export function formatHealth(h: PodHealth): string {
  const out: string[] = ['', 'Pod health:'];
  out.push(table(
    ['DESIRED', 'RUNNING', 'PENDING', 'FAILED', 'SUCCEEDED', 'SUCCESS%', 'DATAPATH OK', 'DATAPATH FAILED', 'DATAPATH PENDING'],
    [[String(h.desiredReplicas), String(h.runningPods), String(h.pendingPods), String(h.failedPods), String(h.succeededPods),
      `${h.successPct}%`, `${h.succeeded} (${h.datapathSuccessPct}%)`, String(h.failed), String(h.pending)]],
  ));
  const lists: Array<[string, PodHealth['pendingPodList'], boolean]> = [
    ['Pending pods', h.pendingPodList, h.pendingPodsTruncated],
    ['Failed pods', h.failedPodList, h.failedPodsTruncated],
    ['Pods whose datapath failed', h.datapathFailedPodList, h.datapathFailedPodListTruncated],
  ];
  for (const [title, pods, truncated] of lists) {
    if (pods.length === 0) continue;
    out.push('', `${title}:`);
    out.push(table(['NAMESPACE', 'NAME', 'NODE', 'PHASE', 'REASON', 'MESSAGE'],
      pods.map((p) => [p.namespace, p.name, p.nodeName || '-', p.phase, p.reason || '-', p.message.length > 80 ? `${p.message.slice(0, 79)}…` : p.message])));
    if (truncated) out.push('(list truncated; --top raises it)');
  }
  return out.join('\n') + '\n';
}

/** Per-phase latencies as `dpready stats` prints them, with the clock each comes from. */
export function formatPhases(a: PhasesAnswer): string {
  const out: string[] = ['', 'Phases (ms resolution; "watch" = seen by the controller on its pod watch):'];
  out.push(table(['PHASE', 'COUNT', 'P50', 'P90', 'P95', 'P99', 'MIN', 'MAX', 'CLOCK'],
    a.phases.map((p) => [p.phase, String(p.count), ms(p.p50, p.count), ms(p.p90, p.count), ms(p.p95, p.count), ms(p.p99, p.count),
      ms(p.min, p.count), ms(p.max, p.count), p.clock])));
  return out.join('\n') + '\n';
}
