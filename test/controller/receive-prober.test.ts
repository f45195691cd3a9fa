// The receive prober's schedule and bounds, with a fake clock and fake knocks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_RECEIVE_TS } from '../../src/contract.ts';
import type { PodSummary } from '../../src/controller/pod-summary.ts';
import { ReceiveProber, type KnockResult } from '../../src/controller/receive-prober.ts';
import { FakeClock } from '../support/fake-clock.ts';

function pod(uid: string, over: Partial<PodSummary> = {}): PodSummary {
  return {
    uid, namespace: 'ns', name: uid, labels: {}, annotations: {}, hasGate: true, creationTimestampMs: 0,
    phase: 'Running', deleting: false, receivePort: 9376, podIP: `10.244.0.${uid.length}`, ...over,
  };
}

/** Knocks on a path that is silent until `opensAt` (monotonic), then answered 200. */
function fakeNetwork(clock: FakeClock, opensAt: number) {
  const knocks: { ip: string; at: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const knock = async (ip: string, _port: number, timeoutMs: number): Promise<KnockResult> => {
    const at = clock.monotonic();
    knocks.push({ ip, at });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (at >= opensAt) { await new Promise<void>((r) => clock.setTimeout(r, 1)); return 'ok'; }
      await new Promise<void>((r) => clock.setTimeout(r, timeoutMs));
      return 'silent';
    } finally { inFlight--; }
  };
  return { knock, knocks, maxInFlight: () => maxInFlight };
}

test('a blocked path is knocked every 25 ms, and the first knock after it opens gets through', async () => {
  const clock = new FakeClock();
  const t0 = clock.monotonic();
  const net = fakeNetwork(clock, t0 + 10_010);
  const prober = new ReceiveProber({ clock, knock: net.knock });
  prober.start();
  prober.observe('a', pod('a'));
  await clock.advance(11_000);
  const after = net.knocks.find((k) => k.at >= t0 + 10_010)!;
  assert.ok(after.at - (t0 + 10_010) <= 25, `first knock ${after.at - (t0 + 10_010)} ms after the path opened`);
  // Nothing more once a knock got through (the reporter records it).
  assert.equal(net.knocks.filter((k) => k.at > after.at).length, 0);
  const perSecond = net.knocks.filter((k) => k.at >= t0 + 5_000 && k.at < t0 + 6_000).length;
  assert.ok(perSecond >= 38 && perSecond <= 41, `${perSecond} knocks in one second`);
  prober.stop();
});

test('bounded load: 1,000 pending pods get at most the global rate, and knocks in flight stay capped', async () => {
  const clock = new FakeClock();
  const t0 = clock.monotonic();
  const net = fakeNetwork(clock, Infinity);
  const prober = new ReceiveProber({ clock, knock: net.knock, ratePerSecond: 1_000, maxInFlight: 128 });
  prober.start();
  for (let i = 0; i < 1_000; i++) prober.observe(`p${i}`, pod(`p${i}`, { podIP: `10.244.${i >> 8}.${i & 255}` }));
  await clock.advance(10_000);
  const lastSeconds = net.knocks.filter((k) => k.at >= t0 + 5_000).length / 5;
  assert.ok(lastSeconds <= 1_000 && lastSeconds > 100, `${lastSeconds} knocks/s`);
  assert.ok(net.maxInFlight() <= 128, `${net.maxInFlight()} in flight`);
  // Every pod got knocked, not only the first ones.
  assert.equal(new Set(net.knocks.map((k) => k.ip)).size, 1_000);
  prober.stop();
});

test('pods without the check, without an IP, or with the instant recorded are not knocked', async () => {
  const clock = new FakeClock();
  const net = fakeNetwork(clock, 0);
  const prober = new ReceiveProber({ clock, knock: net.knock });
  prober.start();
  prober.observe('a', pod('a', { receivePort: undefined }));
  prober.observe('b', pod('bb', { podIP: undefined }));
  prober.observe('c', pod('ccc', { annotations: { [ANNOTATION_RECEIVE_TS]: '2026-01-01T00:00:00.000Z' } }));
  prober.observe('d', pod('dddd', { phase: 'Pending' }));
  await clock.advance(1_000);
  assert.equal(net.knocks.length, 0);
  assert.equal(prober.pending, 0);
});

test('a follower does not knock; the instant showing up stops the knocking', async () => {
  const clock = new FakeClock();
  const net = fakeNetwork(clock, Infinity);
  const prober = new ReceiveProber({ clock, knock: net.knock });
  prober.observe('a', pod('a'));
  await clock.advance(1_000);
  assert.equal(net.knocks.length, 0, 'not started: not leading');
  prober.start();
  await clock.advance(1_000);
  const sent = net.knocks.length;
  assert.ok(sent > 0);
  prober.observe('a', pod('a', { annotations: { [ANNOTATION_RECEIVE_TS]: '2026-01-01T00:00:00.000Z' } }));
  await clock.advance(5_000);
  assert.ok(net.knocks.length <= sent + 1);
  prober.stop();
});

test('a knock that got through but never shows up on the pod is repeated after the confirm period', async () => {
  const clock = new FakeClock();
  const net = fakeNetwork(clock, 0);
  const prober = new ReceiveProber({ clock, knock: net.knock, confirmMs: 10_000 });
  prober.start();
  prober.observe('a', pod('a'));
  await clock.advance(5_000);
  assert.equal(net.knocks.length, 1);
  await clock.advance(6_000);
  assert.equal(net.knocks.length, 2);
  prober.stop();
});
