// Leader election on a coordination.k8s.io Lease, the way client-go does it: every write is
// a compare-and-swap on the Lease's resourceVersion, a lease is taken over only after its
// holder has not renewed it for leaseDuration (as observed on our own monotonic clock, so
// clocks need not agree and a wall-clock step changes nothing), and a leader that cannot renew
// within renewDeadline stops acting as leader at once, before anyone else can take over: a
// timer of its own checks that, so a hung API call cannot delay it. client-node has no leader
// election of its own.
import { describeKubeError } from '../kube/request-options.ts';
import type { Clock } from './clock.ts';
import { isConflict, type LeaseStore } from './lease-store.ts';

export interface LeaderElectionOptions {
  store: LeaseStore;
  identity: string;
  clock: Clock;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export class LeaderElector {
  private lastRenewMs = -Infinity;
  private leading = false;
  private stopped = false;
  private timer: unknown;
  private expiryTimer: unknown;
  /** The tick in progress, so stop() can let it finish before giving the lease up. */
  private inFlight?: Promise<void>;
  /** The other holder's record as last seen, and when we saw it change. */
  private observed?: { holder: string; renewTime: string; at: number };
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(private readonly o: LeaderElectionOptions) {
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
  }

  /** True only while the lease was renewed within renewDeadline: checked before every write. */
  isLeader(): boolean {
    return this.leading && this.o.clock.monotonic() - this.lastRenewMs < this.renewDeadlineMs;
  }

  start(): void { this.inFlight = this.tick(); }

  /** Stops campaigning and, if leading, gives the lease up so another replica takes over now. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    this.o.clock.clearTimeout(this.expiryTimer);
    this.setLeading(false);
    // A renewal in flight could otherwise land after the release below and take the lease
    // back. Every lease call has its own deadline, so this wait is bounded.
    await this.inFlight;
    try {
      const lease = await this.o.store.get();
      if (lease?.holder === this.o.identity) {
        await this.o.store.update({ ...lease, holder: '', leaseDurationSeconds: 1 });
      }
    } catch (err) {
      this.o.log.warn({ err: describeKubeError(err) }, 'could not release the leader lease; the next leader waits for it to expire');
    }
  }

  private schedule(ms: number): void {
    this.timer = this.o.clock.setTimeout(() => { this.inFlight = this.tick(); }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const state = await this.tryAcquireOrRenew();
      if (this.stopped) return;
      if (state === 'held') this.renewed();
      // Another holder: stop at once. A lost race on our own renewal: keep going until the deadline.
      this.setLeading(state === 'held' || (state === 'conflict' && this.isLeader()));
    } catch (err) {
      if (this.stopped) return;
      this.o.log.warn({ err: describeKubeError(err), lease: this.o.store.description }, 'leader lease update failed');
      this.setLeading(this.isLeader());
    }
    if (!this.stopped) this.schedule(this.retryMs);
  }

  /** The lease is ours for another renewDeadline; the expiry timer says when that runs out. */
  private renewed(): void {
    this.lastRenewMs = this.o.clock.monotonic();
    this.o.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = this.o.clock.setTimeout(() => {
      if (!this.isLeader()) this.setLeading(false);
    }, this.renewDeadlineMs);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    if (!leading) this.o.clock.clearTimeout(this.expiryTimer);
    this.leading = leading;
    this.o.log.info({ identity: this.o.identity, lease: this.o.store.description }, leading ? 'became leader' : 'stopped leading');
    if (leading) this.o.onStartedLeading(); else this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<'held' | 'other' | 'conflict' | 'stopped'> {
    // Wall time only for what other replicas read; every decision here uses monotonic time.
    const nowTime = new Date(this.o.clock.now()).toISOString();
    const lease = await this.o.store.get();
    if (this.stopped) return 'stopped';
    const now = this.o.clock.monotonic();
    if (!lease) {
      try {
        await this.o.store.create({ holder: this.o.identity, leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
          acquireTime: nowTime, renewTime: nowTime, leaseTransitions: 0 });
        return 'held';
      } catch (err) {
        if (isConflict(err)) return 'conflict';
        throw err;
      }
    }
    const holder = lease.holder;
    const renewTime = lease.renewTime ?? '';
    if (holder !== this.o.identity) {
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
        this.observed = { holder, renewTime, at: now };
      }
      const durationMs = (lease.leaseDurationSeconds || Math.ceil(this.leaseMs / 1000)) * 1000;
      if (holder !== '' && now < this.observed.at + durationMs) return 'other';
    }
    const taking = holder !== this.o.identity;
    try {
      await this.o.store.update({
        ...lease,
        holder: this.o.identity,
        leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
        renewTime: nowTime,
        ...(taking ? { acquireTime: nowTime, leaseTransitions: lease.leaseTransitions + 1 } : {}),
      });
      return 'held';
    } catch (err) {
      if (isConflict(err)) return 'conflict';
      throw err;
    }
  }
}
