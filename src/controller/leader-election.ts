// Leader election on a coordination.k8s.io Lease, the way client-go does it: every write is
// a compare-and-swap on the Lease's resourceVersion, a lease is taken over only after its
// holder has not renewed it for leaseDuration (as observed on our own clock, so clocks need
// not agree), and a leader that cannot renew within renewDeadline stops acting as leader at
// once, before anyone else can take over. client-node has no leader election of its own.
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { callOptions, describeKubeError, httpStatus } from '../kube/request-options.ts';
import type { Clock } from './clock.ts';

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  clock: Clock;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/**
 * metav1.MicroTime wants exactly six fractional digits; client-node serialises Date with
 * three, which the API server rejects. Strings pass through its serializer untouched.
 */
function microTime(d: Date | string | undefined): Date | undefined {
  if (d === undefined) return undefined;
  const iso = new Date(d).toISOString();
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export class LeaderElector {
  private lastRenewMs = -Infinity;
  private leading = false;
  private stopped = false;
  private timer: unknown;
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
    return this.leading && this.o.clock.now() - this.lastRenewMs < this.renewDeadlineMs;
  }

  start(): void { void this.tick(); }

  /** Stops campaigning and, if leading, gives the lease up so another replica takes over now. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    const wasLeading = this.leading;
    this.setLeading(false);
    if (!wasLeading) return;
    try {
      const lease = await this.get();
      if (lease?.spec?.holderIdentity === this.o.identity) {
        lease.spec.holderIdentity = '';
        lease.spec.leaseDurationSeconds = 1;
        lease.spec.acquireTime = microTime(lease.spec.acquireTime);
        lease.spec.renewTime = microTime(lease.spec.renewTime);
        await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease }, callOptions({ timeoutMs: 2_000 }));
      }
    } catch (err) {
      this.o.log.warn({ err: describeKubeError(err) }, 'could not release the leader lease; the next leader waits for it to expire');
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const state = await this.tryAcquireOrRenew();
      if (state === 'held') this.lastRenewMs = this.o.clock.now();
      // Another holder: stop at once. A lost race on our own renewal: keep going until the deadline.
      this.setLeading(state === 'held' || (state === 'conflict' && this.leading && this.isLeader()));
    } catch (err) {
      this.o.log.warn({ err: describeKubeError(err), lease: `${this.o.namespace}/${this.o.name}` }, 'leader lease update failed');
      this.setLeading(this.leading && this.isLeader());
    }
    // While leading, an expiry check must run even if the API call above hangs; the
    // next tick also re-evaluates isLeader() against the renew deadline.
    if (!this.stopped) this.timer = this.o.clock.setTimeout(() => void this.tick(), this.retryMs);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.o.log.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}` }, leading ? 'became leader' : 'stopped leading');
    if (leading) this.o.onStartedLeading(); else this.o.onStoppedLeading();
  }

  private async get(): Promise<V1Lease | undefined> {
    try {
      return await this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace }, callOptions({ timeoutMs: this.retryMs }));
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  private async tryAcquireOrRenew(): Promise<'held' | 'other' | 'conflict'> {
    const now = this.o.clock.now();
    const nowTime = microTime(new Date(now))!;
    const opts = callOptions({ timeoutMs: Math.min(this.retryMs, this.renewDeadlineMs) });
    const lease = await this.get();
    if (!lease) {
      try {
        await this.o.api.createNamespacedLease({ namespace: this.o.namespace, body: {
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: { holderIdentity: this.o.identity, leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
            acquireTime: nowTime, renewTime: nowTime, leaseTransitions: 0 },
        } }, opts);
        return 'held';
      } catch (err) {
        if (httpStatus(err) === 409) return 'conflict';
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
    if (holder !== this.o.identity) {
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
        this.observed = { holder, renewTime, at: now };
      }
      const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseMs / 1000)) * 1000;
      if (holder !== '' && now < this.observed.at + durationMs) return 'other';
    }
    const taking = holder !== this.o.identity;
    lease.spec = {
      ...spec,
      acquireTime: microTime(spec.acquireTime),
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      renewTime: nowTime,
      ...(taking ? { acquireTime: nowTime, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      // resourceVersion in the body makes this a compare-and-swap: two replicas cannot both win.
      await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease }, opts);
      return 'held';
    } catch (err) {
      if (httpStatus(err) === 409) return 'conflict';
      throw err;
    }
  }
}
