// The split of the cores after the heal (bench/sched-trace.ts): on-CPU time per owner from a
// sched_switch trace, cut into windows counted from the heal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coresAfter, groupOf } from '../../bench/sched-trace.ts';

const known = { reporters: new Set([101, 102]), bench: new Set([7]) };
const group = (tid: number, comm: string) => groupOf(tid, comm, known);

// Seconds on the trace's clock; wallMs maps 100.000 s to wall-clock 1,000,000 ms, the heal.
const wallMs = (s: string) => 1_000_000 + (Number(s) - 100) * 1000;
const sw = (cpu: number, s: number, nextComm: string, nextPid: number) =>
  `          <idle>-0       [00${cpu}] d..2. ${s.toFixed(6)}: sched_switch: prev_comm=x prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=${nextComm} next_pid=${nextPid} next_prio=120`;

test('groupOf: known threads by id first, then the command name', () => {
  assert.equal(group(101, 'MainThread'), 'reporters');
  assert.equal(group(7, 'libuv-worker'), 'bench');
  assert.equal(group(5000, 'agnhost'), 'target');
  assert.equal(group(5001, 'kube-apiserver'), 'controlPlaneAndNode');
  assert.equal(group(5002, 'containerd-shim'), 'controlPlaneAndNode');
  assert.equal(group(5003, 'ksoftirqd/1'), 'kernel');
  assert.equal(group(5005, 'kdamond.0'), 'kernel');
  assert.equal(group(5004, 'MainThread'), 'other', 'a Node thread not seen before the heal is not taken for a reporter');
  assert.equal(group(0, 'swapper/0'), 'idle');
});

test('coresAfter: each CPU runs its last switched-in thread until its next switch, cut at the windows', () => {
  const trace = [
    '# tracer: nop',
    sw(0, 99.990, 'MainThread', 101), // reporter on CPU 0 from -10 ms
    sw(1, 99.995, 'swapper/1', 0), // CPU 1 idle from -5 ms
    sw(1, 100.004, 'agnhost', 300), // target on CPU 1 from 4 ms
    sw(0, 100.005, 'kube-apiserver', 400), // apiserver on CPU 0 from 5 ms
    sw(1, 100.012, 'MainThread', 7), // the benchmark on CPU 1 from 12 ms
    sw(0, 100.015, 'swapper/0', 0), // CPU 0 idle from 15 ms
    sw(1, 100.030, 'swapper/1', 0), // CPU 1 idle from 30 ms (the trace's last switch)
  ].join('\n');
  const [before, first, second] = coresAfter(trace, wallMs, 1_000_000, [[-10, 0], [0, 20], [20, 40]], group);
  assert.deepEqual(before!.ms, { reporters: 10, target: 0, bench: 0, controlPlaneAndNode: 0, kernel: 0, other: 0, idle: 5 });
  assert.equal(before!.busyPercent, 66.7, 'CPU 1 unknown before its first switch: 10 busy of 15 known');
  assert.equal(before!.tracedPercent, 75, 'and the window says so: 15 of its 20 CPU-ms traced');
  assert.equal(first!.tracedPercent, 100);
  assert.deepEqual(first!.ms, { reporters: 5, target: 8, bench: 8, controlPlaneAndNode: 10, kernel: 0, other: 0, idle: 9 });
  assert.equal(first!.busyPercent, 77.5);
  assert.deepEqual(first!.top, [{ comm: 'MainThread', ms: 13 }, { comm: 'kube-apiserver', ms: 10 }, { comm: 'agnhost', ms: 8 }],
    'by command name, most first, idle left out (the reporter and the benchmark are both MainThread)');
  // Up to the trace's last switch only (30 ms): 10 ms of the benchmark, then nothing known.
  assert.deepEqual(second!.ms, { reporters: 0, target: 0, bench: 10, controlPlaneAndNode: 0, kernel: 0, other: 0, idle: 10 });
  assert.equal(second!.busyPercent, 50);
  assert.equal(second!.tracedPercent, 50);
});

test('coresAfter: a trace with no switch gives empty windows, not a made-up share', () => {
  const [w] = coresAfter('# tracer: nop\n', wallMs, 1_000_000, [[0, 20]], group);
  assert.equal(w!.busyPercent, 0);
  assert.equal(w!.tracedPercent, 0, 'nothing traced, and it says so');
  assert.equal(Object.values(w!.ms).reduce((a, b) => a + b, 0), 0);
});
