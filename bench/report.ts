// Turns the suite's figures into the printed table and the marks list. Pure: figures in, text out.
import type { RealNodeResult } from './real-node.ts';
import type { ReceiveLoadFigures } from './receive-load.ts';
import type { ApiBenchFigures } from './api.ts';
import type { BurstFigures } from './burst.ts';
import type { ShardsFigures } from './shards.ts';
import type { AccuracyFigures } from './accuracy.ts';
import type { CostFigures } from './api-cost.ts';
import type { GateLatencyFigures } from './gate-latency.ts';
import type { ScaleFigures } from './scale.ts';
import type { ReporterAccuracyFigures } from './reporter-accuracy.ts';

export interface Machine { cores: number; cpuModel: string; memGiB: number; node: string; kubernetes: string; os: string; date: string; git: string }
export interface Mark { what: string; figure: string; mark: string; pass: boolean }
export interface BenchReport {
  mode: 'quick' | 'full';
  command: string;
  machine: Machine;
  durationSeconds: number;
  burst?: BurstFigures;
  shards?: ShardsFigures;
  accuracy?: AccuracyFigures;
  gateLatency?: GateLatencyFigures;
  apiCost?: CostFigures[];
  scale?: ScaleFigures;
  statsApi?: ApiBenchFigures;
  reporterAccuracy?: ReporterAccuracyFigures | { skipped: string };
  realNode?: RealNodeResult;
  receiveLoad?: ReceiveLoadFigures;
  notes: string[];
  marks: Mark[];
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

export function marksOf(r: BenchReport): Mark[] {
  const marks: Mark[] = [];
  if (r.burst) {
    const b = r.burst;
    const rss = b.controller.settled?.rssMiB ?? NaN;
    marks.push({ what: `burst: annotation → result p99 (${b.pods} pods)`, figure: `${b.annotationToResultMs.p99} ms`, mark: `≤ ${b.marks.latencyP99Ms} ms`, pass: b.annotationToResultMs.p99 <= b.marks.latencyP99Ms });
    marks.push({ what: `burst: annotation → condition True p99 (${b.pods} pods)`, figure: `${b.annotationToConditionMs.p99} ms`, mark: `≤ ${b.marks.latencyP99Ms} ms`, pass: b.annotationToConditionMs.p99 <= b.marks.latencyP99Ms });
    marks.push({ what: 'burst: controller CPU per pod, whole workload', figure: `${b.controllerCpuMsPerPod} ms (${b.controllerCpuSeconds} s)`, mark: `≤ ${b.marks.cpuMsPerPod} ms`, pass: b.controllerCpuMsPerPod <= b.marks.cpuMsPerPod });
    marks.push({ what: `burst: controller RSS settled at ${b.pods} pods (${b.heapCap.replace(/ \(.*\)$/, '')})`, figure: `${rss} MiB`, mark: `≤ ${b.marks.rssMiB} MiB`, pass: rss <= b.marks.rssMiB });
  }
  if (r.shards) {
    const s = r.shards;
    marks.push({ what: `two shards, ${s.pods} pods over ${s.namespaces} namespaces: every pod handled once`, figure: `${s.resultsSeen} results, creates ${s.shards.map((x) => `${x.resultCreates}/${x.expectedPods}`).join(' + ')}`, mark: 'each shard creates exactly its pods\' results', pass: s.everyPodOnce });
  }
  if (r.receiveLoad) {
    const l = r.receiveLoad;
    marks.push({ what: `receive prober: knocks/s at ${l.pods} pending pods (ingress blocked)`, figure: `${l.knocksPerSecond}/s`, mark: `≤ ${l.markKnocksPerSecond}/s (1,000/s + a 100-knock burst)`, pass: l.knocksPerSecond <= l.markKnocksPerSecond });
  }
  if (r.realNode && 'pods' in r.realNode) {
    const n = r.realNode;
    marks.push({ what: `real node: time-to-datapath-ready |error| p99 (${n.pods} pods)`, figure: `${n.dpReadyAbsError.p99} ms`, mark: `≤ ${n.markErrorMs} ms`, pass: n.dpReadyAbsError.p99 <= n.markErrorMs });
    marks.push({ what: 'real node: attempts/s per pod while the path drops packets (max)', figure: `${n.attemptsPerSecond.max}/s`, mark: `≤ ${n.markAttemptsPerSecond}/s`, pass: n.attemptsPerSecond.max <= n.markAttemptsPerSecond });
  }
  if (r.accuracy) {
    const ours = r.accuracy.methods[0]!;
    marks.push({ what: 'accuracy: time-to-start error p99', figure: `${ours.startError.p99} ms`, mark: `≤ ${r.accuracy.markMs} ms`, pass: ours.startError.p99 <= r.accuracy.markMs });
    marks.push({ what: 'accuracy: time-to-datapath-ready error p99', figure: `${ours.dpReadyError.p99} ms`, mark: `≤ ${r.accuracy.markMs} ms`, pass: ours.dpReadyError.p99 <= r.accuracy.markMs });
  }
  for (const p of r.gateLatency?.phases ?? []) {
    marks.push({ what: `gate latency p99 vs floor (${p.phase})`, figure: `${p.dpready.p99} / ${p.floor.p99} ms = ${p.ratioP99}×`, mark: `≤ ${r.gateLatency!.markRatio}×`, pass: p.pass });
  }
  for (const c of r.apiCost ?? []) {
    marks.push({ what: `controller writes per pod (${c.scenario})`, figure: String(c.controllerWritesPerPod), mark: `≤ ${c.markWritesPerPod}`, pass: c.pass });
  }
  if (r.scale) {
    const u = r.scale.controller;
    const rss = (u.afterQueries ?? u.withResults ?? u.afterPods)?.peakRssMiB ?? NaN;
    const health = r.scale.statsApi['/api/v1/pod-health'];
    if (health) marks.push({ what: `stats API pod-health p99, 20 clients (${r.scale.results} results)`, figure: `${health.p99} ms`, mark: `≤ 25 ms${r.scale.results < 100_000 ? ' (mark is for 100,000 results; --full)' : ''}`, pass: health.p99 <= 25 && health.errors === 0 });
    marks.push({ what: `controller peak RSS (${r.scale.pods} pods, ${r.scale.results} results)`, figure: `${rss} MiB`, mark: `≤ ${r.scale.markRssMiB} MiB${r.scale.pods < 5000 ? ' (mark is for 5,000 pods + 100,000 results; --full)' : ''}`, pass: rss <= r.scale.markRssMiB });
  }
  return marks;
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
    if (b.floor) out.push(`   floor, the same workload on fresh pods with a bare watch-and-patch loop instead of dpready: annotation → condition True p50 ${b.floor.annotationToConditionMs.p50}  p99 ${b.floor.annotationToConditionMs.p99} ms (dpready/floor p99 ${Math.round((b.annotationToConditionMs.p99 / Math.max(1, b.floor.annotationToConditionMs.p99)) * 100) / 100}×); last ${b.floor.annotatingToLastConditionMs} ms`);
    out.push(`   controller: CPU ${b.controllerCpuSeconds} s for the whole workload (${b.controllerCpuMsPerPod} ms/pod); RSS settled ${s?.rssMiB} MiB, peak ${s?.peakRssMiB} MiB; V8 heap in use ${b.controller.heapUsedMiB} MiB`);
    out.push(`   controller writes per pod: ${b.controllerWritesPerPod} ${JSON.stringify(b.writesPerPod)}`);
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
    out.push(`   controller writes per pod: ${c.controllerWritesPerPod} (mark ≤ ${c.markWritesPerPod}); with the reporter's: ${c.dpreadyWritesPerPod}`);
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
  if (r.reporterAccuracy && 'tcp' in r.reporterAccuracy) {
    const ra = r.reporterAccuracy;
    out.push('', '6. Reporter alone (bench/reporter-accuracy.ts): reported ready − target open, ms');
    out.push(`   in-process tcp: median ${ra.tcp.medianMs}, max ${ra.tcp.maxMs} (${ra.tcp.runs} runs); http: median ${ra.http.medianMs}, max ${ra.http.maxMs}`);
    for (const [name, p] of Object.entries(ra.process)) out.push(`   ${name}: first attempt ${p.firstAttemptMs.medianMs} ms after start (median); ready − T median ${p.readyMinusTMs.medianMs}, max ${p.readyMinusTMs.maxMs}`);
  } else if (r.reporterAccuracy) out.push('', `6. Reporter alone: skipped (${r.reporterAccuracy.skipped})`);
  if (r.receiveLoad) {
    const l = r.receiveLoad;
    out.push('', `8. Receive prober (bench/receive-load.ts, in-process): ${l.pods} pending pods whose ingress never answers, ${l.seconds} s`);
    out.push(`   ${l.knocksPerSecond} knocks/s in all; each pod every ${l.perPodIntervalS} s (median); at most ${l.maxInFlight} knocks in flight`);
  }
  if (r.realNode && 'pods' in r.realNode) {
    const n = r.realNode;
    out.push('', `7. Real node (bench/real-node.ts): ${n.pods} reporters in real containers, path dropped by iptables then healed`);
    out.push(`   time-to-start error (reported − CRI container start), ms: p50 ${n.startError.p50}, p99 ${n.startError.p99}, min ${n.startError.min}, max ${n.startError.max}; |error| p99 ${n.startAbsError.p99}`);
    out.push(`   time-to-datapath-ready error (reported − rule removed), ms: p50 ${n.dpReadyError.p50}, p99 ${n.dpReadyError.p99}, min ${n.dpReadyError.min}, max ${n.dpReadyError.max}; |error| p99 ${n.dpReadyAbsError.p99} (truth: ${n.truth === 'nft monitor' ? 'the kernel\'s commit as nft monitor reported it' : 'the instant the commit was sent'}; iptables-restore exited ${n.ruleRemovalMs} ms after the commit was sent)`);
    out.push(`   attempts/s per pod while broken: p50 ${n.attemptsPerSecond.p50}, max ${n.attemptsPerSecond.max}`);
    out.push(`   ${n.versions.kubernetes}; ${n.versions.containerd}; runc ${n.versions.runc}; CNI plugins ${n.versions.cni}; node set-up, s: ${JSON.stringify(n.setupSeconds)}`);
  } else if (r.realNode) out.push('', `7. Real node: skipped (${r.realNode.skipped})`);
  out.push('', 'Marks');
  for (const k of r.marks) out.push(`   ${k.pass ? 'PASS' : 'MISS'}  ${pad(k.what, 64)} ${pad(k.figure, 28)} ${k.mark}`);
  const missed = r.marks.filter((k) => !k.pass);
  out.push(missed.length ? `   missed: ${missed.map((k) => k.what).join('; ')}` : '   every mark met');
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
