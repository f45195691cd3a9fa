// Turns the suite's figures into the printed table and the marks list. Pure: figures in, text out.
import { GROUPS } from './sched-trace.ts';
import type { RealNodeFigures } from './real-node.ts';
import type { PolicyFigures } from './policy.ts';
import type { ReceiveLoadFigures } from './receive-load.ts';
import type { ApiBenchFigures } from './api.ts';
import type { BurstFigures } from './burst.ts';
import type { ShardsFigures } from './shards.ts';
import type { AccuracyFigures } from './accuracy.ts';
import type { CostFigures } from './api-cost.ts';
import type { GateLatencyFigures } from './gate-latency.ts';
import type { Summary } from './stats.ts';
import type { ScaleFigures } from './scale.ts';
import type { ReporterAccuracyFigures } from './reporter-accuracy.ts';

export interface Machine { cores: number; cpuModel: string; memGiB: number; node: string; kubernetes: string; os: string; date: string; git: string }
/**
 * PASS and MISS judge a figure against its mark. A mark whose figure is missing is never
 * silently dropped: "unmeasured" (the part was asked for and failed, crashed, or ran out of
 * time) and "skipped" (the machine cannot run it, e.g. not root) both count against the run;
 * "n/a" is a mark defined at full scale, shown but not judged in a quick run.
 */
export type MarkStatus = 'pass' | 'miss' | 'unmeasured' | 'skipped' | 'n/a';
export interface Mark { what: string; figure: string; mark: string; status: MarkStatus; why?: string }

export const PARTS = ['burst', 'cost', 'accuracy', 'gate', 'scale', 'api', 'reporter', 'receive', 'realnode', 'policy', 'shards'] as const;
export type Part = typeof PARTS[number];
/** What each part measures, to name the marks it would have printed when it produced no figure. */
const PART_MARKS: Record<Part, string> = {
  burst: 'latency, gate ratio to the floor, CPU, RSS and writes per pod marks',
  cost: 'controller writes per pod marks (both scenarios)',
  accuracy: 'time-to-start and time-to-datapath-ready error marks',
  gate: 'gate latency p99 vs floor marks',
  scale: 'stats API p99 and controller RSS marks',
  api: 'stats API in-process figures',
  reporter: 'reported ready − target open mark (the reporter alone)',
  receive: 'receive prober knocks/s mark',
  realnode: 'datapath-ready error and attempts/s marks (real node)',
  policy: 'policy-enforced error and deny-target attempts/s marks (real node, kube-router)',
  shards: 'every pod handled once (two shards)',
};
/** How a part that was asked for ended; parts not asked for are absent. */
export type PartOutcome = { status: 'done' } | { status: 'failed'; why: string } | { status: 'skipped'; why: string };

export interface BenchReport {
  mode: 'quick' | 'full';
  command: string;
  machine: Machine;
  durationSeconds: number;
  /** Every part asked for, and how it ended. */
  parts: Partial<Record<Part, PartOutcome>>;
  /** The benchmark process's own event-loop delay over the run, ms: a busy benchmark delays what it measures. */
  benchEventLoopDelayMs?: { p50: number; p99: number; max: number };
  burst?: BurstFigures;
  shards?: ShardsFigures;
  accuracy?: AccuracyFigures;
  gateLatency?: GateLatencyFigures;
  apiCost?: CostFigures[];
  scale?: ScaleFigures;
  statsApi?: ApiBenchFigures;
  reporterAccuracy?: ReporterAccuracyFigures;
  realNode?: RealNodeFigures;
  policy?: PolicyFigures;
  receiveLoad?: ReceiveLoadFigures;
  notes: string[];
  marks: Mark[];
  /** The table as printed at the end of the run, kept so docs can quote it exactly (docs/performance.md). */
  text?: string;
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);
const r2 = (x: number) => Math.round(x * 100) / 100;

/** A judged mark: a figure that is not a number (no reading) is unmeasured, never a PASS or a plain MISS. */
function judged(what: string, value: number, figure: string, mark: string, pass: boolean): Mark {
  if (!Number.isFinite(value)) return { what, figure: 'not measured', mark, status: 'unmeasured', why: 'no reading' };
  return { what, figure, mark, status: pass ? 'pass' : 'miss' };
}

/**
 * A figure judged `q ≤ mark`, as shown: to `decimals`, or with as many more as it takes for the
 * shown figure to read the verdict it got (1.5035× is over 1.5×, 20.04 ms over 20 ms).
 */
function shownFor(q: number, mark: number, decimals: number): number {
  for (let d = decimals; d <= 6; d++) {
    const shown = Math.round(q * 10 ** d) / 10 ** d;
    if ((shown <= mark) === (q <= mark)) return shown;
  }
  return q;
}

/** An error mark's p99 as judged: unrounded where the result kept it (results before 2026-12-07's session 21 did not). */
function errorP99(s: Summary, mark: number): { ok: boolean; shown: number } {
  const q = s.p99Unrounded ?? s.p99;
  return { ok: q <= mark, shown: shownFor(q, mark, 1) };
}

/** The reporter's own cost on the real node (issue 18): from its container's cgroup and log. */
function reporterCostMarks(n: RealNodeFigures): Mark[] {
  if (!n.cost) return [];
  const m = n.marks;
  const out: Mark[] = [];
  // Against the kernel's exec of the container's command where the run traced it (dpready-start
  // since the image's entrypoint stamps the start, node before): containerd's StartedAt record lies
  // −50 to +908 ms from that exec on this node (2026-12-05-e68b6fe.json), so it is shown, not judged.
  const x = n.startVsExec && !('unavailable' in n.startVsExec) ? n.startVsExec : undefined;
  if (x) {
    const e = errorP99(x.reportedMinusExecAbs, m.errorMs);
    out.push(judged(`real node: time-to-start |error| p99 vs the kernel's exec of the container's command (${n.pods} pods${n.createIntervalMs ? `, one created every ${n.createIntervalMs} ms` : ''})`, e.shown,
      `${e.shown} ms (vs CRI's StartedAt: ${n.startAbsError.p99} ms)`, `≤ ${m.errorMs} ms`, e.ok));
  } else {
    const e = errorP99(n.startAbsError, m.errorMs);
    out.push(judged(`real node: time-to-start |error| p99 (${n.pods} pods${n.createIntervalMs ? `, one created every ${n.createIntervalMs} ms` : ''})`, e.shown, `${e.shown} ms`, `≤ ${m.errorMs} ms`, e.ok));
  }
  for (const mode of ['report', 'classic', 'init'] as const) {
    const c = n.cost[mode];
    const b = n.baseline?.[mode];
    if (!b || m.firstAttemptRatio === undefined) {
      // Results from before the baseline: judged against the absolute mark alone.
      out.push(judged(`real node: first probe attempt − CRI start, ${mode} mode p50 (${c.firstAttemptMs.n} pods)`, c.firstAttemptMs.n ? c.firstAttemptMs.p50 : NaN, `${c.firstAttemptMs.p50} ms (max ${c.firstAttemptMs.max})`, `≤ ${m.firstAttemptMs} ms`, c.firstAttemptMs.p50 <= m.firstAttemptMs));
      continue;
    }
    // The issue's alternative to the absolute 50 ms: a ratio to a bare `node -e` started in the
    // same run under the same load (docs/performance.md says why the absolute figure is not judged).
    // Judged unrounded: 170.2 / 113.2 ms is 1.5035×, over a 1.5× mark, though it prints as 1.5×
    // (2026-12-07-e1d74dc.json was judged PASS on the rounded figure). Printed with a third
    // decimal when the second would show the other verdict.
    const mark = m.firstAttemptRatio;
    const shown = (q: number) => shownFor(q, mark, 2);
    const ratioQ = c.firstAttemptMs.n && b.printMs.n ? c.firstAttemptMs.p50 / Math.max(1, b.printMs.p50) : NaN;
    const ratio = shown(ratioQ);
    const fromExec = c.firstAttemptSinceExecMs;
    const baseExec = b.printSinceExecMs;
    if (fromExec?.n && baseExec?.n) {
      // From the kernel's exec: CRI's StartedAt put a bare node -e's line 6 ms after the start and
      // a reporter's first attempt 72 ms before it (2026-12-05-5a9c43f.json), a ratio of nonsense.
      const q = fromExec.p50 / Math.max(1, baseExec.p50);
      const r = shown(q);
      out.push(judged(`real node: first probe attempt − the kernel's exec of the container's command ÷ bare node -e, ${mode} mode p50 (${fromExec.n} / ${baseExec.n} pods)`, r,
        `${fromExec.p50} / ${baseExec.p50} ms = ${r}× (from CRI's StartedAt: ${ratio}×)`, `≤ ${m.firstAttemptRatio}× (absolute ${m.firstAttemptMs} ms not judged)`, q <= m.firstAttemptRatio));
      continue;
    }
    out.push(judged(`real node: first probe attempt − CRI start ÷ bare node -e, ${mode} mode p50 (${c.firstAttemptMs.n} / ${b.printMs.n} pods)`, ratio,
      `${c.firstAttemptMs.p50} / ${b.printMs.p50} ms = ${ratio}×`, `≤ ${m.firstAttemptRatio}× (absolute ${m.firstAttemptMs} ms not judged)`, ratioQ <= m.firstAttemptRatio));
  }
  for (const mode of ['report', 'classic'] as const) {
    const c = n.cost[mode];
    out.push(judged(`real node: reporter container peak memory, ${mode} mode, max (${c.peakMiB.n} pods)`, c.peakMiB.n ? c.peakMiB.max : NaN, `${c.peakMiB.max} MiB (p50 ${c.peakMiB.p50})`, `≤ ${m.peakMiB[mode]} MiB`, c.peakMiB.max <= m.peakMiB[mode]));
  }
  const h = n.afterHandover;
  out.push(judged(`real node: sidecar after reporting, RSS max (${h.pods} pods; ${h.programs.join('+')})`, h.rssMiB.n ? h.rssMiB.max : NaN, `${h.rssMiB.max} MiB`, `≤ ${m.afterRssMiB} MiB`, h.rssMiB.max <= m.afterRssMiB));
  out.push(judged(`real node: sidecar after reporting, CPU over ${h.overSeconds} s, max`, h.cpuMs.n ? h.cpuMs.max : NaN, `${h.cpuMs.max} ms`, `${m.afterCpuMs} ms`, h.cpuMs.max <= m.afterCpuMs));
  out.push(judged(`real node: sidecar restarts over ${h.restartWindowSeconds} s after the handover, max`, h.pods ? h.maxRestarts : NaN, String(h.maxRestarts), '0 over ≥ 60 s', h.maxRestarts === 0 && h.restartWindowSeconds >= 60));
  return out;
}

export function marksOf(r: BenchReport): Mark[] {
  const marks: Mark[] = [];
  if (r.burst) {
    const b = r.burst;
    // With several dpready runs (--burst-runs) these marks judge each figure's median over them;
    // the ratio to the floor compares the floor with the run next to it (the first).
    const m = b.median && b.median.runs > 1 ? b.median : undefined;
    const of = m ? `, median of ${m.runs} runs` : '';
    const resultP99 = m?.resultP99Ms ?? b.annotationToResultMs.p99;
    const conditionP99 = m?.conditionP99Ms ?? b.annotationToConditionMs.p99;
    const cpu = m?.cpuMsPerPod ?? b.controllerCpuMsPerPod;
    const rss = m?.rssSettledMiB ?? b.controller.settled?.rssMiB ?? NaN;
    const idle = m?.rssIdleMiB ?? b.controller.idle?.rssMiB ?? NaN;
    marks.push(judged(`burst: annotation → result p99 (${b.pods} pods${of})`, resultP99, `${resultP99} ms`, `≤ ${b.marks.latencyP99Ms} ms`, resultP99 <= b.marks.latencyP99Ms));
    marks.push(judged(`burst: annotation → condition True p99 (${b.pods} pods${of})`, conditionP99, `${conditionP99} ms`, `≤ ${b.marks.latencyP99Ms} ms`, conditionP99 <= b.marks.latencyP99Ms));
    const ratioWhat = `burst: condition True p99 vs floor (${b.pods} pods)`;
    const ratioMark = `≤ ${b.marks.floorRatio}×`;
    if (b.floor) {
      const ratio = r2(b.annotationToConditionMs.p99 / Math.max(1, b.floor.annotationToConditionMs.p99));
      marks.push(judged(ratioWhat, ratio, `${b.annotationToConditionMs.p99} / ${b.floor.annotationToConditionMs.p99} ms = ${ratio}×`, ratioMark, ratio <= b.marks.floorRatio));
    } else {
      marks.push({ what: ratioWhat, figure: 'not measured', mark: ratioMark, status: 'unmeasured', why: b.floorError ?? 'the floor run did not finish' });
    }
    marks.push(judged(`burst: controller CPU per pod, whole workload${of}`, cpu, m ? `${cpu} ms (runs ${b.runs!.map((x) => x.cpuMsPerPod).join(', ')})` : `${cpu} ms (${b.controllerCpuSeconds} s)`, `≤ ${b.marks.cpuMsPerPod} ms`, cpu <= b.marks.cpuMsPerPod));
    marks.push(judged(`burst: controller RSS settled at ${b.pods} pods (${b.heapCap.replace(/ \(.*\)$/, '')}${of})`, rss, `${rss} MiB`, `≤ ${b.marks.rssMiB} MiB`, rss <= b.marks.rssMiB));
    if (b.marks.idleRssMiB !== undefined) {
      marks.push(judged(`burst: controller RSS idle, synced, before the first pod${of}`, idle, `${idle} MiB`, `≤ ${b.marks.idleRssMiB} MiB`, idle <= b.marks.idleRssMiB));
    }
    marks.push(judged(`burst: controller writes per pod (its own counter, ${b.pods} pods)`, b.controllerWritesPerPod, String(b.controllerWritesPerPod), `≤ ${b.marks.controllerWritesPerPod}`, b.controllerWritesPerPod <= b.marks.controllerWritesPerPod));
    const withReporter = r2(b.controllerWritesPerPod + b.reporterWritesPerPod);
    marks.push(judged(`burst: reporter + controller writes per pod (${b.pods} pods)`, withReporter, `${withReporter} (reporter ${b.reporterWritesPerPod})`, `≤ ${b.marks.controllerWritesPerPod + b.reporterWritesPerPod}`, withReporter <= b.marks.controllerWritesPerPod + b.reporterWritesPerPod));
  }
  if (r.shards) {
    const s = r.shards;
    marks.push({ what: `two shards, ${s.pods} pods over ${s.namespaces} namespaces: every pod handled once`, figure: `${s.resultsSeen} results, creates ${s.shards.map((x) => `${x.resultCreates}/${x.expectedPods}`).join(' + ')}`, mark: 'each shard creates exactly its pods\' results', status: s.everyPodOnce ? 'pass' : 'miss' });
  }
  if (r.receiveLoad) {
    const l = r.receiveLoad;
    marks.push(judged(`receive prober: knocks/s at ${l.pods} pending pods (ingress blocked)`, l.knocksPerSecond, `${l.knocksPerSecond}/s`,
      `${l.markMinKnocksPerSecond}/s ≤ x ≤ ${l.markKnocksPerSecond}/s (1,000/s + a 100-knock burst; ≥ 90% of it, or the prober idles)`,
      l.knocksPerSecond <= l.markKnocksPerSecond && l.knocksPerSecond >= l.markMinKnocksPerSecond));
  }
  if (r.realNode) {
    const n = r.realNode;
    const what = `real node: time-to-datapath-ready |error| p99 (${n.pods} pods)`;
    if (n.truth === 'commit sent') marks.push({ what, figure: 'not measured', mark: `≤ ${n.markErrorMs} ms`, status: 'unmeasured', why: `no truth: ${n.truthProblem ?? 'nft monitor saw no delete of the rule\'s handle'}` });
    else {
      const e = errorP99(n.dpReadyAbsError, n.markErrorMs);
      marks.push(judged(what, e.shown, `${e.shown} ms`, `≤ ${n.markErrorMs} ms`, e.ok));
    }
    // Results from before the reporter gave its bracket (2026-12-07) have no such figure, and no such mark.
    const b = n.dpReadyBracket;
    if (b) {
      const bracketWhat = 'real node: the heal inside each pod\'s own bracket (its latest failed attempt, its reported ready]';
      if (n.truth === 'commit sent') marks.push({ what: bracketWhat, figure: 'not measured', mark: `all ${n.pods} pods`, status: 'unmeasured', why: 'no truth (above)' });
      else if (b.withBracket < n.pods) marks.push({ what: bracketWhat, figure: 'not measured', mark: `all ${n.pods} pods`, status: 'unmeasured', why: `${b.withBracket} of ${n.pods} pods' probe details gave failedAfterMs` });
      else marks.push(judged(bracketWhat, b.truthInside, `${b.truthInside} of ${b.pods} (width p50 ${b.widthMs.p50}, max ${b.widthMs.max} ms)`, `all ${n.pods} pods`, b.truthInside === n.pods));
    }
    marks.push(judged('real node: attempts/s per pod while the path drops packets (max)', n.attemptsPerSecond.max, `${n.attemptsPerSecond.max}/s`, `≤ ${n.markAttemptsPerSecond}/s`, n.attemptsPerSecond.max <= n.markAttemptsPerSecond));
    marks.push(...reporterCostMarks(n));
  }
  if (r.policy) {
    const n = r.policy;
    const what = `real node: policy-enforced |error| p99 vs the engine's commit (${n.pods} pods)`;
    if (n.truthProblem || n.enforcedAbsError.n === 0) marks.push({ what, figure: 'not measured', mark: `≤ ${n.markErrorMs} ms`, status: 'unmeasured', why: `no truth: ${n.truthProblem ?? 'no pod measured'}` });
    else marks.push(judged(what, n.enforcedAbsError.p99, `${n.enforcedAbsError.p99} ms`, `≤ ${n.markErrorMs} ms`, n.enforcedAbsError.p99 <= n.markErrorMs));
    marks.push(judged('real node: attempts/s per pod against the deny target while it answered (max)', n.denyAttemptsPerSecond.max, `${n.denyAttemptsPerSecond.max}/s`, `≤ ${n.markAttemptsPerSecond}/s`, n.denyAttemptsPerSecond.max <= n.markAttemptsPerSecond));
  }
  if (r.accuracy) {
    const ours = r.accuracy.methods[0]!;
    marks.push(judged('accuracy: time-to-start error p99', ours.startError.p99, `${ours.startError.p99} ms`, `≤ ${r.accuracy.markMs} ms`, ours.startError.p99 <= r.accuracy.markMs));
    marks.push(judged('accuracy: time-to-datapath-ready error p99', ours.dpReadyError.p99, `${ours.dpReadyError.p99} ms`, `≤ ${r.accuracy.markMs} ms`, ours.dpReadyError.p99 <= r.accuracy.markMs));
  }
  for (const p of r.gateLatency?.phases ?? []) {
    marks.push(judged(`gate latency p99 vs floor (${p.phase})`, p.ratioP99, `${p.dpready.p99} / ${p.floor.p99} ms = ${p.ratioP99}×`, `≤ ${r.gateLatency!.markRatio}×`, p.pass));
  }
  for (const c of r.apiCost ?? []) {
    marks.push(judged(`controller writes per pod (${c.scenario})`, c.controllerWritesPerPod, String(c.controllerWritesPerPod), `≤ ${c.markWritesPerPod}`, c.pass));
    marks.push(judged(`reporter + controller writes per pod (${c.scenario})`, c.dpreadyWritesPerPod, String(c.dpreadyWritesPerPod), `≤ ${c.markDpreadyWritesPerPod}`, c.dpreadyWritesPerPod <= c.markDpreadyWritesPerPod));
  }
  if (r.scale) {
    const u = r.scale.controller;
    const rss = (u.afterQueries ?? u.withResults ?? u.afterPods)?.peakRssMiB ?? NaN;
    const health = r.scale.statsApi['/api/v1/pod-health'];
    // The scale marks are defined at 5,000 pods + 100,000 results: smaller runs show the figure, unjudged.
    const fullScale = r.scale.pods >= 5000 && r.scale.results >= 100_000;
    const atScale = (m: Mark): Mark => (fullScale || m.status === 'unmeasured' ? m : { ...m, status: 'n/a', why: 'the mark is for 5,000 pods + 100,000 results (--full)' });
    const healthWhat = `stats API pod-health p99, 20 clients (${r.scale.results} results)`;
    marks.push(atScale(health
      ? judged(healthWhat, health.p99, `${health.p99} ms${health.errors ? `, ${health.errors} errors` : ''}`, '≤ 25 ms, no errors', health.p99 <= 25 && health.errors === 0)
      : { what: healthWhat, figure: 'not measured', mark: '≤ 25 ms', status: 'unmeasured', why: 'no pod-health figures' }));
    marks.push(atScale(judged(`controller peak RSS (${r.scale.pods} pods, ${r.scale.results} results)`, rss, `${rss} MiB`, `≤ ${r.scale.markRssMiB} MiB`, rss <= r.scale.markRssMiB)));
  }
  if (r.reporterAccuracy) {
    const a = r.reporterAccuracy;
    const worst = Math.max(a.tcp.maxMs, a.http.maxMs);
    marks.push(judged('reporter alone: reported ready − target open (tcp, http)', worst, `median ${a.tcp.medianMs} / ${a.http.medianMs}, max ${a.tcp.maxMs} / ${a.http.maxMs} ms`,
      `median ≤ ${a.targets.medianMs} ms, max ≤ ${a.targets.maxMs} ms`, a.pass));
  }
  // A part asked for that produced no figure still prints: its marks were not measured.
  for (const part of PARTS) {
    const o = r.parts[part];
    if (!o || o.status === 'done') continue;
    marks.push({ what: `${part}: ${PART_MARKS[part]}`, figure: 'not measured', mark: '', status: o.status === 'skipped' ? 'skipped' : 'unmeasured', why: o.why });
  }
  return marks;
}

/** Marks that make `npm run bench` exit non-zero: missed, not measured, or skipped. */
export function failingMarks(marks: Mark[]): Mark[] {
  return marks.filter((k) => k.status === 'miss' || k.status === 'unmeasured' || k.status === 'skipped');
}

const STATUS_WORD: Record<MarkStatus, string> = { pass: 'PASS', miss: 'MISS', unmeasured: 'MISS', skipped: 'SKIP', 'n/a': 'n/a ' };

function markLine(k: Mark): string {
  const because = k.status === 'unmeasured' ? ` (not measured: ${k.why})`
    : k.status === 'skipped' ? ` (skipped: ${k.why})`
      : k.status === 'n/a' ? ` (not judged: ${k.why})` : '';
  return `   ${STATUS_WORD[k.status]}  ${pad(k.what, 64)} ${pad(k.figure, 28)} ${k.mark}${because}`;
}

/** The closing line: "every mark met" only when every mark was measured and met. */
export function verdict(marks: Mark[]): string {
  const by = (s: MarkStatus) => marks.filter((k) => k.status === s).map((k) => k.what);
  const parts: string[] = [];
  if (by('miss').length) parts.push(`missed: ${by('miss').join('; ')}`);
  if (by('unmeasured').length) parts.push(`not measured: ${by('unmeasured').join('; ')}`);
  if (by('skipped').length) parts.push(`skipped: ${by('skipped').join('; ')}`);
  if (by('n/a').length) parts.push(`not judged at this scale: ${by('n/a').join('; ')}`);
  if (!marks.length) return '   no mark measured';
  const failing = failingMarks(marks).length;
  return failing ? `   ${parts.join('\n   ')}` : `   every mark measured and met${parts.length ? `\n   ${parts.join('\n   ')}` : ''}`;
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`dpready benchmark (${r.mode}) — ${m.date}`);
  out.push(`machine: ${m.cores} cores (${m.cpuModel}), ${m.memGiB} GiB, ${m.os}; Node ${m.node}; ${m.kubernetes}; dpready ${m.git}; took ${r.durationSeconds} s`);
  out.push(`command: ${r.command}`);
  if (r.burst) {
    const b = r.burst;
    const s = b.controller.settled;
    out.push('', `0. Burst: ${b.workload} (controller heap cap ${b.heapCap})`);
    out.push(`   pods created in ${b.createSeconds} s, all Running ${b.allRunningSeconds} s after the first create`);
    out.push(`   annotation → DatapathResult, ms:   p50 ${b.annotationToResultMs.p50}  p99 ${b.annotationToResultMs.p99}  max ${b.annotationToResultMs.max}`);
    out.push(`   annotation → condition True, ms:   p50 ${b.annotationToConditionMs.p50}  p99 ${b.annotationToConditionMs.p99}  max ${b.annotationToConditionMs.max}`);
    out.push(`   annotating started → last result: ${b.annotatingToLastResultMs} ms`);
    if (b.floor) out.push(`   floor, the same workload on fresh pods with a bare watch-and-patch loop (its own process) instead of dpready: annotation → condition True p50 ${b.floor.annotationToConditionMs.p50}  p99 ${b.floor.annotationToConditionMs.p99} ms (dpready/floor p99 ${Math.round((b.annotationToConditionMs.p99 / Math.max(1, b.floor.annotationToConditionMs.p99)) * 100) / 100}×); last ${b.floor.annotatingToLastConditionMs} ms`);
    else out.push(`   floor: not measured (${b.floorError ?? 'not run'})`);
    const eld = (d?: { p50: number; p99: number; max: number }) => (d ? `p50 ${d.p50} / p99 ${d.p99} / max ${d.max} ms` : 'n/a');
    out.push(`   ran ${b.order === 'floor-first' ? 'the floor first' : 'dpready first'}; the benchmark's event-loop delay while annotating and watching: dpready's run ${eld(b.benchEventLoopDelayMs)}, the floor's ${eld(b.floor?.benchEventLoopDelayMs)}`);
    out.push(`   controller: CPU ${b.controllerCpuSeconds} s for the whole workload (${b.controllerCpuMsPerPod} ms/pod); RSS idle ${b.controller.idle?.rssMiB} MiB (synced, before the first pod), settled ${s?.rssMiB} MiB, peak ${s?.peakRssMiB} MiB; V8 heap in use ${b.controller.heapUsedMiB} MiB`);
    if ((b.runs?.length ?? 0) > 1) {
      for (const [i, x] of b.runs!.entries()) out.push(`   dpready run ${i + 1}${i === 0 ? ' (above)' : ''}: result p99 ${x.resultP99Ms} ms, condition True p99 ${x.conditionP99Ms} ms, CPU ${x.cpuMsPerPod} ms/pod, RSS settled ${x.rssSettledMiB} MiB, idle ${x.rssIdleMiB} MiB, writes/pod ${x.writesPerPod}`);
    }
    out.push(`   writes per pod: controller only ${b.controllerWritesPerPod} ${JSON.stringify(b.writesPerPod)} (mark ≤ ${b.marks.controllerWritesPerPod}); reporter + controller ${Math.round((b.controllerWritesPerPod + b.reporterWritesPerPod) * 100) / 100} (the benchmark's one annotation patch per pod)`);
  }
  if (r.shards) {
    const s = r.shards;
    out.push('', `0b. Two shards (--shards=2, a Lease each): ${s.pods} gated pods over ${s.namespaces} namespaces; every pod True ${s.allTrueSeconds} s after the first create`);
    for (const x of s.shards) out.push(`   shard ${x.index}: ${x.namespaces} namespaces, ${x.expectedPods} pods by the hash; result creates ${x.resultCreates}, updates ${x.resultUpdates}; condition patches ${x.conditionPatches}; CPU ${x.usage?.cpuSeconds} s, RSS ${x.usage?.rssMiB} MiB`);
    out.push(`   results seen ${s.resultsSeen}, created twice ${s.duplicateResults}: every pod handled once: ${s.everyPodOnce ? 'yes' : 'NO'}`);
  }
  if (r.accuracy) {
    const a = r.accuracy;
    out.push('', `1. Accuracy: |measured − true| ms (truth: create call, reporter spawn, target open); pods per method`);
    out.push(`   ${pad('method', 58)} ${lpad('pods', 4)} │ ${lpad('start med', 9)} ${lpad('p99', 7)} ${lpad('max', 7)} │ ${lpad('dp-ready med', 12)} ${lpad('p99', 7)} ${lpad('max', 7)}`);
    for (const x of a.methods) {
      out.push(`   ${pad(x.method, 58)} ${lpad(x.pods, 4)} │ ${lpad(x.startError.median, 9)} ${lpad(x.startError.p99, 7)} ${lpad(x.startError.max, 7)} │ ${lpad(x.dpReadyError.median, 12)} ${lpad(x.dpReadyError.p99, 7)} ${lpad(x.dpReadyError.max, 7)}`);
    }
    const c = a.components;
    out.push(`   where dpready's error comes from (signed ms, median / p99 of |x|): createdAt − create call ${c.createdAt.median} / ${c.createdAt.p99}; reporter start − spawn ${c.start.median} / ${c.start.p99}; reported ready − target open ${c.ready.median} / ${c.ready.p99}`);
    out.push(`   createdAt source of dpready results: ${JSON.stringify(a.createdAtSources)}; create call round trip median ${a.createCallMs.median} ms, max ${a.createCallMs.max} ms`);
  }
  if (r.gateLatency) {
    out.push('', '2. Gate latency: annotation seen on a watch → our condition True seen on the same watch, ms');
    out.push(`   ${pad('phase', 30)} │ ${lpad('dpready p50', 11)} ${lpad('p99', 7)} ${lpad('max', 7)} │ ${lpad('floor p50', 9)} ${lpad('p99', 7)} ${lpad('max', 7)} │ ${lpad('ratio p50', 9)} ${lpad('p99', 6)} │ from send: dpready p99 / floor p99`);
    for (const p of r.gateLatency.phases) {
      out.push(`   ${pad(p.phase, 30)} │ ${lpad(p.dpready.p50, 11)} ${lpad(p.dpready.p99, 7)} ${lpad(p.dpready.max, 7)} │ ${lpad(p.floor.p50, 9)} ${lpad(p.floor.p99, 7)} ${lpad(p.floor.max, 7)} │ ${lpad(p.ratioP50, 9)} ${lpad(p.ratioP99, 6)} │ ${p.fromSend.dpready.p99} / ${p.fromSend.floor.p99}`);
    }
  }
  if (r.gateLatency?.controllerSelf) {
    out.push(`   controller's own histogram (annotation seen on its watch → condition written): mean ${r.gateLatency.controllerSelf.meanMs} ms over ${r.gateLatency.controllerSelf.count} pods`);
  }
  for (const c of r.apiCost ?? []) {
    out.push('', `3. API cost (${c.scenario}; ${c.pods} pods, full lifecycle; kube-apiserver apiserver_request_total)`);
    out.push(`   writes per pod: controller only ${c.controllerWritesPerPod} (mark ≤ ${c.markWritesPerPod}); reporter + controller ${c.dpreadyWritesPerPod} (mark ≤ ${c.markDpreadyWritesPerPod})`);
    const ra = c.reporterAfterCreateMs;
    if (ra) out.push(`   after the create call: reporter spawned p50 ${ra.spawn.p50} / max ${ra.spawn.max} ms; reporter's ready instant p50 ${ra.ready.p50} / max ${ra.ready.max} ms (past --pending-grace, 10 s, a pod gets AwaitingReporter first and an Event when its gate opens)`);
    out.push(`   ${pad('writes: verb resource', 44)} ${lpad('total', 6)} ${lpad('/pod', 6)}  by`);
    for (const w of c.writes) out.push(`   ${pad(w.request, 44)} ${lpad(w.total, 6)} ${lpad(w.perPod, 6)}  ${w.by}`);
    out.push(`   ${pad('reads: verb resource (all clients)', 44)} ${lpad('total', 6)} ${lpad('/pod', 6)}`);
    for (const w of c.reads) out.push(`   ${pad(w.request, 44)} ${lpad(w.total, 6)} ${lpad(w.perPod, 6)}`);
    out.push(`   watch attribution: ${JSON.stringify(c.watch)}; controller self-count: ${JSON.stringify(c.controllerSelfCount)}`);
  }
  if (r.scale) {
    const s = r.scale;
    const u = s.controller;
    out.push('', `4. Scale: ${s.pods} pods on ${s.nodes} KWOK nodes, then ${s.results} DatapathResults indexed`);
    out.push(`   pods created in ${s.createSeconds} s; last pod created → last condition True: ${s.lastCreatedToLastConditionMs} ms (last pod Running → last condition True: ${s.lastRunningToLastConditionMs} ms); results topped up in ${s.resultsLoadSeconds} s`);
    const us = (x?: { peakRssMiB: number; rssMiB: number; cpuSeconds: number }) => (x ? `peak RSS ${x.peakRssMiB} MiB, RSS ${x.rssMiB} MiB, CPU ${x.cpuSeconds} s` : 'n/a');
    out.push(`   controller after pods: ${us(u.afterPods)}`);
    out.push(`   controller with results: ${us(u.withResults)}`);
    out.push(`   controller after queries: ${us(u.afterQueries)}`);
    if (s.controllerHeapUsedMiB) out.push(`   controller V8 heap in use, MiB: ${JSON.stringify(s.controllerHeapUsedMiB)}`);
    out.push(`   ${pad('stats API of the controller process (20 clients)', 84)} ${lpad('p50', 7)} ${lpad('p99', 7)} ${lpad('req/s', 6)} err`);
    for (const [path, f] of Object.entries(s.statsApi)) out.push(`   ${pad(path, 84)} ${lpad(f.p50, 7)} ${lpad(f.p99, 7)} ${lpad(f.reqPerSec, 6)} ${f.errors}`);
  }
  if (r.statsApi) {
    const a = r.statsApi;
    out.push('', `5. Stats API in-process (bench/api.ts): ${a.results} results, ${a.trackedPods} pods, ${a.concurrency} clients; RSS MiB ${JSON.stringify(a.rssMiB)}`);
    out.push(`   ${pad('route (static)', 84)} ${lpad('median', 7)} ${lpad('p99', 7)} ${lpad('req/s', 6)}`);
    for (const [path, f] of Object.entries(a.routes)) out.push(`   ${pad(path, 84)} ${lpad(f.medianMs, 7)} ${lpad(f.p99Ms, 7)} ${lpad(f.reqPerSec, 6)}`);
    for (const [path, f] of Object.entries(a.routesUnderChurn)) out.push(`   ${pad(`${path} (churn)`, 84)} ${lpad(f.medianMs, 7)} ${lpad(f.p99Ms, 7)} ${lpad(f.reqPerSec, 6)}`);
  }
  if (r.reporterAccuracy) {
    const ra = r.reporterAccuracy;
    out.push('', '6. Reporter alone (bench/reporter-accuracy.ts): reported ready − target open, ms');
    out.push(`   in-process tcp: median ${ra.tcp.medianMs}, max ${ra.tcp.maxMs} (${ra.tcp.runs} runs); http: median ${ra.http.medianMs}, max ${ra.http.maxMs}`);
    for (const [name, p] of Object.entries(ra.process)) out.push(`   ${name}: first attempt ${p.firstAttemptMs.medianMs} ms after start (median); ready − T median ${p.readyMinusTMs.medianMs}, max ${p.readyMinusTMs.maxMs}`);
  }
  if (r.receiveLoad) {
    const l = r.receiveLoad;
    out.push('', `8. Receive prober (bench/receive-load.ts, in-process): ${l.pods} pending pods whose ingress never answers, ${l.seconds} s`);
    out.push(`   ${l.knocksPerSecond} knocks/s in all; each pod every ${l.perPodIntervalS} s (median); at most ${l.maxInFlight} knocks in flight`);
  }
  if (r.realNode) {
    const n = r.realNode;
    out.push('', `7. Real node (bench/real-node.ts): ${n.pods} reporters in real containers, path dropped by iptables then healed${n.reporterCpuRequest ? `; the measured reporters request ${n.reporterCpuRequest} CPU, not the default (--realnode-reporter-cpu)` : ''}`);
    out.push(`   time-to-start error (reported − CRI container start), ms: p50 ${n.startError.p50}, p99 ${n.startError.p99}, min ${n.startError.min}, max ${n.startError.max}; |error| p99 ${n.startAbsError.p99}`);
    out.push(`   time-to-datapath-ready error (reported − rule removed), ms: p50 ${n.dpReadyError.p50}, p99 ${n.dpReadyError.p99}, min ${n.dpReadyError.min}, max ${n.dpReadyError.max}; |error| p99 ${n.dpReadyAbsError.p99} (truth: ${n.truth === 'kernel commit' ? `the kernel's commit, the exit of the sendmsg that carried it (it took ${n.commitSyscallMs} ms)${n.nftMonitorLateMs !== undefined ? `; nft monitor's report of it was read ${n.nftMonitorLateMs} ms later` : ''}` : n.truth === 'nft monitor' ? 'the kernel\'s commit as nft monitor reported it' : 'the instant the commit was sent'}; iptables-restore exited ${n.ruleRemovalMs} ms after the commit was sent)`);
    if (n.startVsExec) {
      const x = n.startVsExec;
      out.push('unavailable' in x
        ? `     against the kernel's exec of the container's command: not measured (${x.unavailable})`
        : `     against the kernel's exec of the container's command (tracefs): reported − exec p50 ${x.reportedMinusExec.p50}, p99 ${x.reportedMinusExec.p99}, min ${x.reportedMinusExec.min}, max ${x.reportedMinusExec.max}; |error| p99 ${x.reportedMinusExecAbs.p99}. containerd's StartedAt − exec: p50 ${x.criMinusExec.p50}, min ${x.criMinusExec.min}, max ${x.criMinusExec.max}`);
    }
    if (n.dpReadySplit) {
      const { attemptStartMs: a, roundTripMs: t } = n.dpReadySplit;
      const as = n.dpReadySplit.recordedAs;
      out.push(`     of which the successful attempt's start − truth: p50 ${a.p50}, p99 ${a.p99}, min ${a.min}, max ${a.max}; its round trip: p50 ${t.p50}, p99 ${t.p99}, max ${t.max}${as ? `; recorded at the attempt's packet in ${as.sent} pods, at its answer in ${as.done}` : ''}${n.dpReadySplit.lateMs ? `; that attempt's tick fired late against the schedule by p50 ${n.dpReadySplit.lateMs.p50}, p99 ${n.dpReadySplit.lateMs.p99} ms` : ''}`);
      const pa = n.dpReadySplit.plannedAfterTruthMs;
      const sd = n.dpReadySplit.sendDelayMs;
      if (sd) out.push(`     from that attempt's start to its SYN, the instant recorded (a wait for a core before its connect(2)): p50 ${sd.p50}, p99 ${sd.p99}, max ${sd.max}`);
      if (pa) out.push(`     its planned tick − truth (start − truth − lateness; ≤ one interval when the first tick after the heal won): p50 ${pa.p50}, min ${pa.min}, max ${pa.max}`);
    }
    if (n.dpReadyFloor) {
      const f = n.dpReadyFloor;
      out.push(`     the interval's share (bench/grid-floor.ts): at ${f.intervalMs} ms, each pod's first tick after the heal falls uniformly within one interval of it; the p99 of ${n.pods} pods is their max, ${f.expectedGridMaxMs} ms on average from the interval alone, leaving ${r2(n.markErrorMs - f.expectedGridMaxMs)} ms of the ${n.markErrorMs} ms mark for lateness and send delay. With this run's delays per pod, a run passes at random phases with probability ${f.passChanceWithTheseDelays}`);
    }
    if (n.dpReadyBracket) {
      const b = n.dpReadyBracket;
      out.push(`     each pod's own bracket, from its latest failed attempt to its reported ready (probe details' failedAfterMs): ${b.withBracket} of ${b.pods} pods gave one; the truth inside ${b.truthInside}; width p50 ${b.widthMs.p50}, max ${b.widthMs.max} ms${b.outside.length ? `; outside: ${b.outside.map((x) => `${x.pod} (${x.lowerMs}, ${x.upperMs}]`).join(', ')}` : ''}`);
    }
    if (n.createIntervalMs) out.push(`   pods created one every ${n.createIntervalMs} ms, reporters and bare node -e baselines interleaved`);
    if (n.coresAfterHeal && 'unavailable' in n.coresAfterHeal) out.push(`   the cores around the heal: not traced (${n.coresAfterHeal.unavailable})`);
    else if (n.coresAfterHeal) {
      out.push('   the cores around the heal, ms of CPU by owner (tracefs sched_switch; "reporters" are the classic reporters\' threads seen before the heal):');
      for (const w of n.coresAfterHeal) {
        const owners = GROUPS.filter((g) => g !== 'idle' && w.ms[g] > 0).map((g) => `${g} ${w.ms[g]}`).join(', ');
        out.push(`     ${w.fromMs} to ${w.toMs} ms: ${w.busyPercent} % busy${traced(w)}; ${owners}${w.top?.length ? `; by command: ${w.top.map((t) => `${t.comm} ${t.ms}`).join(', ')}` : ''}`);
      }
    }
    if (n.startWaits && 'unavailable' in n.startWaits) out.push(`   reporter starts that waited after their exec: not traced (${n.startWaits.unavailable})`);
    else if (n.startWaits) {
      out.push(`   reporter starts stamped more than 5 ms after their exec (${n.startWaits.length}), and who had the cores meanwhile, ms of CPU:`);
      for (const w of n.startWaits) {
        const owners = GROUPS.filter((g) => g !== 'idle' && w.ms[g] > 0).map((g) => `${g} ${w.ms[g]}`).join(', ');
        out.push(`     ${w.pod}: ${w.waitMs} ms; ${w.busyPercent} % busy${traced(w)}; ${owners}${w.top?.length ? `; by command: ${w.top.map((t) => `${t.comm} ${t.ms}`).join(', ')}` : ''}`);
      }
    }
    if (n.nodeBusyPercent) out.push(`   node CPU busy (all cores): ${n.nodeBusyPercent.brokenWindow} % while the path dropped, ${n.nodeBusyPercent.secondAfterHeal} % over the second after the heal (from just before the rule's removal to 1 s after it)${n.reportersCpuMsSecondAfterHeal !== undefined ? `, of which the ${n.pods} classic reporters ${n.reportersCpuMsSecondAfterHeal} ms of CPU` : ''}`);
    if (n.stealPercent) out.push(`   of that, taken by the hypervisor (steal): ${n.stealPercent.brokenWindow} % and ${n.stealPercent.secondAfterHeal} %`);
    out.push(`   attempts/s per pod while broken: p50 ${n.attemptsPerSecond.p50}, max ${n.attemptsPerSecond.max}`);
    if (n.warmUp) out.push(`   warm-up before the heal: ${n.warmUp.warmed} of ${n.warmUp.pods} pods, CPU p50 ${n.warmUp.cpuMs.p50} ms, max ${n.warmUp.cpuMs.max} ms`);
    for (const [mode, c] of Object.entries(n.cost ?? {})) {
      out.push(`   ${mode} mode (${c.pods} pods), p50/max: peak ${c.peakMiB.p50}/${c.peakMiB.max} MiB, RSS probing ${c.probingRssMiB.p50}/${c.probingRssMiB.max} MiB, first attempt ${c.firstAttemptMs.p50}/${c.firstAttemptMs.max} ms after CRI start, CPU ${c.cpuPerAttemptMs.p50}/${c.cpuPerAttemptMs.max} ms per attempt, ${c.cpuStartMs.p50}/${c.cpuStartMs.max} ms to start`);
      if (c.processStartMs) out.push(`     first attempt split, p50/max: Node's process start − CRI start ${c.processStartMs.p50}/${c.processStartMs.max} ms; first attempt − process start ${c.sinceProcessStartMs.p50}/${c.sinceProcessStartMs.max} ms${c.cpuToFirstAttemptMs ? `; CPU used by then ${c.cpuToFirstAttemptMs.p50}/${c.cpuToFirstAttemptMs.max} ms` : ''}`);
    }
    for (const [mode, b] of Object.entries(n.baseline ?? {})) {
      const c = n.cost?.[mode as keyof typeof n.cost];
      // CPU to the first line moves far less with the node's load than wall time does.
      const cpuRatio = c?.cpuToFirstAttemptMs?.n && b.cpuMs?.n ? ` (the reporter's CPU to its first attempt ÷ this: ${r2(c.cpuToFirstAttemptMs.p50 / Math.max(1, b.cpuMs.p50))}×)` : '';
      out.push(`   bare node -e beside the ${mode} reporters (${b.pods} pods), p50/max: its line ${b.printMs.p50}/${b.printMs.max} ms after CRI start, of which Node's process start ${b.processStartMs.p50}/${b.processStartMs.max} ms${b.cpuMs ? `; CPU used by then ${b.cpuMs.p50}/${b.cpuMs.max} ms${cpuRatio}` : ''}`);
      // From the kernel's exec instead of containerd's StartedAt record (shown, not judged).
      const x = c?.firstAttemptSinceExecMs;
      const y = b.printSinceExecMs;
      if (x && y) out.push(`     from the kernel's exec of the container's command instead (tracefs), p50/max: the ${mode} reporter's first attempt ${x.p50}/${x.max} ms (${x.n} pods), this line ${y.p50}/${y.max} ms (${y.n} pods): ${r2(x.p50 / Math.max(1, y.p50))}×`);
    }
    if (n.imageSize) out.push(`   image ${n.imageSize} (ctr images ls)`);
    if (n.afterHandover) {
      const h = n.afterHandover;
      out.push(`   sidecars after reporting (${h.programs.join('+')}), p50/max: RSS ${h.rssMiB.p50}/${h.rssMiB.max} MiB, charged ${h.usageMiB.p50}/${h.usageMiB.max} MiB, CPU ${h.cpuMs.p50}/${h.cpuMs.max} ms over ${h.overSeconds} s; restarts ≤ ${h.maxRestarts} over ${h.restartWindowSeconds} s`);
    }
    out.push(`   ${n.versions.kubernetes}; ${n.versions.containerd}; runc ${n.versions.runc}; CNI plugins ${n.versions.cni}; node set-up, s: ${JSON.stringify(n.setupSeconds)}`);
  }
  if (r.policy) {
    const n = r.policy;
    out.push('', `9. Policy in force (bench/policy.ts): ${n.pods} gated reporters on the real node, a deny target answering until an egress policy; engine ${n.engine}`);
    out.push(`   policy-enforced error (reported − the kernel's commit of the policy's rule for the pod: nft monitor's transaction, its sendmsg traced), ms: p50 ${n.enforcedError.p50}, p99 ${n.enforcedError.p99}, min ${n.enforcedError.min}, max ${n.enforcedError.max}; |error| p99 ${n.enforcedAbsError.p99}`);
    out.push(`   policy created → the engine's commit, ms: p50 ${n.policyToCommitMs.p50}, max ${n.policyToCommitMs.max} (${n.commits} commits)`);
    out.push(`   reported − the last answered attempt's start (the schedule's gap around the commit), ms: ${n.lastAnswerGapMs.n
      ? `p50 ${n.lastAnswerGapMs.p50}, max ${n.lastAnswerGapMs.max} (${n.lastAnswerGapMs.n} pods)`
      : 'not measured (no pod reported its last answer)'}`);
    out.push(`   attempts/s per pod against the deny target while it answered: p50 ${n.denyAttemptsPerSecond.p50}, max ${n.denyAttemptsPerSecond.max} (${n.denyAttemptsPerSecond.n} pods)`);
  }
  if (r.benchEventLoopDelayMs) out.push('', `benchmark process event-loop delay, ms: p50 ${r.benchEventLoopDelayMs.p50}, p99 ${r.benchEventLoopDelayMs.p99}, max ${r.benchEventLoopDelayMs.max}`);
  out.push('', 'Marks');
  for (const k of r.marks) out.push(markLine(k));
  out.push(verdict(r.marks));
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

/**
 * The marks of a committed result as a Markdown table, for docs/performance.md: the docs paste
 * this output between `<!-- marks: FILE -->` and `<!-- /marks -->`, and a test checks that the
 * table still matches the file, so no figure in it comes from anywhere else.
 */
export function marksMarkdown(r: BenchReport): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const word: Record<MarkStatus, string> = { pass: 'PASS', miss: '**MISS**', unmeasured: '**MISS**', skipped: '**SKIP**', 'n/a': 'n/a' };
  const rows = r.marks.map((k) => {
    const because = k.status === 'unmeasured' ? ` (not measured: ${k.why})` : k.status === 'skipped' ? ` (skipped: ${k.why})` : k.status === 'n/a' ? ` (${k.why})` : '';
    return `| ${cell(k.what)} | ${cell(k.figure)} | ${cell(k.mark)} | ${word[k.status]}${cell(because)} |`;
  });
  return ['| mark | figure | target | |', '|---|---|---|---|', ...rows].join('\n');
}

/** The run's printed report, as kept in its result file, in a Markdown text block. */
export function reportBlock(r: BenchReport): string {
  return ['```text', r.text ?? formatReport(r), '```'].join('\n');
}

/** A window the trace covers only in part says how much (older results have no figure). */
function traced(w: { tracedPercent?: number }): string {
  return w.tracedPercent !== undefined && w.tracedPercent < 95 ? ` (of the ${w.tracedPercent} % of the window traced)` : '';
}
