// An in-memory Lease with the API server's compare-and-swap on resourceVersion. Each replica gets
// its own view, so a test can cut one replica off (fail) or hang its next call (hold*).
import type { LeaseRecord, LeaseStore } from '../../src/controller/lease-store.ts';

export class FakeLease {
  record?: LeaseRecord;
  private rv = 0;
  writes = 0;

  view(): FakeLeaseView { return new FakeLeaseView(this); }

  read(): LeaseRecord | undefined { return this.record && { ...this.record }; }

  cas(next: Omit<LeaseRecord, 'resourceVersion'>, expectRv: string | undefined): void {
    if ((this.record?.resourceVersion) !== expectRv) throw Object.assign(new Error('conflict'), { code: 409 });
    this.writes++;
    this.record = { ...next, resourceVersion: String(++this.rv) };
  }
}

type Held = { release: () => void };

export class FakeLeaseView implements LeaseStore {
  readonly description = 'test/lease';
  /** Every call rejects as if the API server were unreachable. */
  failing = false;
  /** Every call never settles, as on a hung connection. */
  hung = false;
  private holdGet?: (h: Held) => void;

  constructor(private readonly lease: FakeLease) {}

  /** The next get() waits until release() is called and then reads the lease as it is by then. */
  holdNextGet(): Promise<Held> {
    return new Promise((resolve) => { this.holdGet = resolve; });
  }

  private async call<T>(fn: () => T, holdable = false): Promise<T> {
    if (this.hung) return new Promise<T>(() => {});
    if (this.failing) throw new TypeError('fetch failed');
    if (holdable && this.holdGet) {
      const notify = this.holdGet;
      this.holdGet = undefined;
      await new Promise<void>((release) => notify({ release }));
    }
    return fn();
  }

  get(): Promise<LeaseRecord | undefined> { return this.call(() => this.lease.read(), true); }
  create(r: Omit<LeaseRecord, 'resourceVersion'>): Promise<void> { return this.call(() => this.lease.cas(r, undefined)); }
  update(r: LeaseRecord): Promise<void> {
    return this.call(() => { const { resourceVersion, ...rest } = r; this.lease.cas(rest, resourceVersion); });
  }
}
