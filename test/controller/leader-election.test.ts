import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeaderElector } from '../../src/controller/leader-election.ts';
import { FakeClock, flush } from '../support/fake-clock.ts';
import { FakeLease, type FakeLeaseView } from './fake-lease-store.ts';

const quiet = { info() {}, warn() {} };

function replica(identity: string, store: FakeLeaseView, clock: FakeClock) {
  const events: string[] = [];
  const elector = new LeaderElector({
    store, identity, clock, log: quiet,
    leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
  });
  return { elector, events };
}

/** Advances several clocks together in small steps, checking `each` after every step. */
async function advanceAll(clocks: FakeClock[], ms: number, each: () => void = () => {}): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    for (const c of clocks) await c.advance(100);
    each();
  }
}

test('one replica leads; another takes over only after the lease expires, measured on its own clock', async () => {
  const lease = new FakeLease();
  const [ca, cb] = [new FakeClock(), new FakeClock()];
  const a = replica('a', lease.view(), ca);
  a.elector.start();
  await flush();
  assert.ok(a.elector.isLeader());
  const bView = lease.view();
  const b = replica('b', bView, cb);
  b.elector.start();
  await advanceAll([ca, cb], 30_000, () => assert.ok(!b.elector.isLeader(), 'b must not lead while a renews'));
  assert.deepEqual(b.events, []);
  // a dies without releasing (SIGKILL): its clock stops, its lease stays.
  const killedAt = cb.monotonic();
  let tookOverAt: number | undefined;
  await advanceAll([cb], 30_000, () => { if (tookOverAt === undefined && b.elector.isLeader()) tookOverAt = cb.monotonic(); });
  assert.ok(tookOverAt !== undefined, 'b took over');
  const after = tookOverAt - killedAt;
  assert.ok(after >= 13_000 && after <= 15_000 + 2_000 + 100, `takeover ${after} ms after the last renewal: within lease duration + one retry`);
  assert.equal(lease.record?.holder, 'b');
});

// Issue 11, defect 4: lease expiry measured on the wall clock. A leader cut off from the API
// server whose wall clock steps back kept believing it led, while another replica took over.
test('a wall-clock step on a cut-off leader never makes two leaders', async () => {
  const lease = new FakeLease();
  const [ca, cb] = [new FakeClock(), new FakeClock()];
  const aView = lease.view();
  const a = replica('a', aView, ca);
  a.elector.start();
  await flush();
  const b = replica('b', lease.view(), cb);
  b.elector.start();
  await advanceAll([ca, cb], 5_000);
  assert.ok(a.elector.isLeader());
  aView.failing = true;
  ca.stepWall(-3_600_000);
  await advanceAll([ca, cb], 40_000, () => {
    assert.ok(!(a.elector.isLeader() && b.elector.isLeader()), `two leaders at ${cb.monotonic()}`);
  });
  assert.ok(b.elector.isLeader(), 'b took over');
  assert.deepEqual(a.events, ['started', 'stopped']);
});

// Issue 11, defect 4: the expiry check ran only after the API call of the current tick returned.
test('a leader whose API calls hang stops leading at the renew deadline', async () => {
  const lease = new FakeLease();
  const clock = new FakeClock();
  const view = lease.view();
  const a = replica('a', view, clock);
  a.elector.start();
  await flush();
  assert.deepEqual(a.events, ['started']);
  view.hung = true;
  await clock.advance(10_500);
  assert.equal(a.elector.isLeader(), false);
  assert.deepEqual(a.events, ['started', 'stopped'], 'onStoppedLeading ran although the renewal never returned');
});

// Issue 11, defect 4: stop() released the lease while a renewal was in flight; the renewal
// then read the released lease and took it again, so the next leader waited a full lease.
test('a renewal in flight during stop() does not retake the released lease', async () => {
  const lease = new FakeLease();
  const clock = new FakeClock();
  const view = lease.view();
  const a = replica('a', view, clock);
  a.elector.start();
  await flush();
  assert.equal(lease.record?.holder, 'a');
  const held = view.holdNextGet();
  await clock.advance(2_000); // the renewal's get() is now in flight
  const { release } = await held;
  const stopping = a.elector.stop();
  await flush();
  release();
  await stopping;
  await clock.advance(10_000);
  assert.equal(lease.record?.holder, '', 'the lease stays released');
  assert.deepEqual(a.events, ['started', 'stopped']);
});

test('a follower takes a released lease at its next retry', async () => {
  const lease = new FakeLease();
  const [ca, cb] = [new FakeClock(), new FakeClock()];
  const a = replica('a', lease.view(), ca);
  a.elector.start();
  await flush();
  const b = replica('b', lease.view(), cb);
  b.elector.start();
  await advanceAll([ca, cb], 3_000);
  await a.elector.stop();
  await advanceAll([cb], 2_100);
  assert.ok(b.elector.isLeader());
});
