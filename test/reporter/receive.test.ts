// The receive check on the reporter's side: the listener records the first knock, and a run
// with it writes both instants in one patch, or the send side with a ReceiveDeadline failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_RECEIVE_TS, RECEIVE_PATH, ReporterFailure,
} from '../../src/contract.ts';
import type { AnnotationPatch } from '../../src/reporter/annotations.ts';
import { loadConfig } from '../../src/reporter/config.ts';
import { silentLogger } from '../../src/reporter/log.ts';
import type { PodApi } from '../../src/reporter/pod-writer.ts';
import type { ProbeFn } from '../../src/reporter/probes.ts';
import { listenForReceive } from '../../src/reporter/receive-listener.ts';
import { run } from '../../src/reporter/run.ts';
import { FakeClock, WALL0 } from './fake-clock.ts';

const iso = (mono: number) => new Date(WALL0 + mono).toISOString();

function fakePod(initial: Record<string, string> = {}) {
  const annotations: Record<string, string> = { ...initial };
  const patches: AnnotationPatch[] = [];
  const api: PodApi = {
    async getAnnotations() { return { ...annotations }; },
    async patch(body) {
      for (const [k, v] of Object.entries(body.metadata.annotations)) {
        if (v === null) delete annotations[k]; else annotations[k] = v;
      }
      patches.push(body);
    },
  };
  return { api, annotations, patches };
}

const worksAt = (clock: FakeClock, at: number): ProbeFn => async () => {
  const start = clock.now();
  if (start < at) throw new Error('connect ECONNREFUSED');
  return { sentAt: start, doneAt: start, rttMs: 0 };
};

function knockAt(clock: FakeClock, at: number): { firstKnock: Promise<number> } {
  return { firstKnock: clock.sleep(at).then(() => clock.now()) };
}

const config = (env: Record<string, string> = {}) =>
  loadConfig({ MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'n', PROBE_TARGET: '10.0.0.1:80', PROBE_RECEIVE_PORT: '9376', ...env });

test('PROBE_RECEIVE_PORT is validated and named in the error', () => {
  assert.equal(config().receivePort, 9376);
  assert.throws(() => config({ PROBE_RECEIVE_PORT: '70000' }), /PROBE_RECEIVE_PORT="70000": expected a port number from 1 to 65535/);
  assert.throws(() => config({ PROBE_RECEIVE_PORT: 'http' }), /PROBE_RECEIVE_PORT="http"/);
});

test('both sides within the grace: one patch carries start, ready and the receive instant', async () => {
  const clock = new FakeClock();
  const pod = fakePod();
  const running = run({ config: config(), clock, probe: worksAt(clock, 100), podApi: async () => pod.api, log: silentLogger, receive: knockAt(clock, 400) });
  await clock.advance(2_000);
  const r = await running;
  assert.equal(r.outcome, 'ready');
  assert.equal(pod.patches.length, 1);
  assert.ok(Date.parse(pod.annotations[ANNOTATION_DP_READY]!) - WALL0 <= 120);
  assert.equal(pod.annotations[ANNOTATION_RECEIVE_TS], iso(400));
});

test('the send side goes out when the grace ends, the receive side when the knock comes', async () => {
  const clock = new FakeClock();
  const pod = fakePod();
  const running = run({ config: config(), clock, probe: worksAt(clock, 100), podApi: async () => pod.api, log: silentLogger, receive: knockAt(clock, 5_000) });
  await clock.advance(2_000);
  assert.equal(pod.patches.length, 1, 'start and ready at the end of the grace, so the controller can say which side is missing');
  assert.ok(Date.parse(pod.annotations[ANNOTATION_DP_READY]!) - WALL0 < 200, 'the send instant is when it happened, not when written');
  assert.equal(ANNOTATION_RECEIVE_TS in pod.annotations, false);
  await clock.advance(4_000);
  const r = await running;
  assert.equal(r.outcome, 'ready');
  assert.equal(pod.patches.length, 2);
  assert.equal(pod.annotations[ANNOTATION_RECEIVE_TS], iso(5_000));
});

test('no knock by the deadline: the send side is written with a ReceiveDeadline failure, exit code 3', async () => {
  const clock = new FakeClock();
  const pod = fakePod();
  const running = run({ config: config({ PROBE_TIMEOUT: '5' }), clock, probe: worksAt(clock, 100), podApi: async () => pod.api, log: silentLogger, receive: { firstKnock: new Promise(() => {}) } });
  await clock.advance(6_000);
  const r = await running;
  assert.equal(r.exitCode, 3);
  assert.ok(pod.annotations[ANNOTATION_DP_READY]);
  assert.equal(ANNOTATION_RECEIVE_TS in pod.annotations, false);
  const failure = ReporterFailure.parse(JSON.parse(pod.annotations[ANNOTATION_FAILURE]!));
  assert.equal(failure.reason, 'ReceiveDeadline');
});

test('a restart with the send side recorded keeps it and records only the receive side', async () => {
  const clock = new FakeClock();
  const pod = fakePod({ [ANNOTATION_DP_READY]: '2026-01-01T00:00:00.123Z', 'perf.github.com/azure-start-ts': '2026-01-01T00:00:00.000Z' });
  let probes = 0;
  const probe: ProbeFn = async () => { probes++; return { sentAt: clock.now(), doneAt: clock.now(), rttMs: 0 }; };
  const running = run({ config: config(), clock, probe, podApi: async () => pod.api, log: silentLogger, receive: knockAt(clock, 300) });
  await clock.advance(2_000);
  await running;
  assert.equal(pod.annotations[ANNOTATION_DP_READY], '2026-01-01T00:00:00.123Z');
  assert.equal(pod.annotations[ANNOTATION_RECEIVE_TS], iso(300));
  assert.deepEqual(Object.keys(pod.patches.at(-1)!.metadata.annotations).sort(), [ANNOTATION_FAILURE, ANNOTATION_RECEIVE_TS].sort());
  assert.ok(probes <= 1, `${probes} probes`);
});

test('the listener records the first GET on the receive path, and only that', async () => {
  const clock = new FakeClock();
  const listener = await listenForReceive(0, clock, '127.0.0.1');
  try {
    const base = `http://127.0.0.1:${listener.port}`;
    assert.equal((await request(`${base}/`)).statusCode, 404);
    let settled = false;
    void listener.firstKnock.then(() => { settled = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'a stray request is not the prober');
    await clock.advance(250);
    const res = await request(`${base}${RECEIVE_PATH}`);
    assert.equal(res.statusCode, 200);
    await res.body.text();
    assert.equal(await listener.firstKnock, 250);
    assert.equal(listener.knocks(), 1);
  } finally {
    await listener.close();
  }
});
