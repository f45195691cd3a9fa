// A clock tests advance by hand: timers fire in order, no real time passes. stepWall() moves
// only the wall clock, as NTP or a resumed VM would; monotonic time and timers do not notice.
import type { Clock } from '../../src/controller/clock.ts';

export class FakeClock implements Clock {
  private t = 1_000_000;
  private wallOffset = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  now(): number { return this.t + this.wallOffset; }
  monotonic(): number { return this.t; }
  stepWall(ms: number): void { this.wallOffset += ms; }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void { this.timers = this.timers.filter((x) => x.id !== handle); }
  get pending(): number { return this.timers.length; }

  /** Moves time forward, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
