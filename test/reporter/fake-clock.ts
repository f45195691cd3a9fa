// Virtual time for unit tests: sleep() registers a timer, advance() fires timers in order
// and lets promise chains settle between them, so schedules and backoffs run without waiting.
import type { AttemptSignal } from '../../src/reporter/attempt-signal.ts';
import type { Clock } from '../../src/reporter/clock.ts';

export const WALL0 = Date.UTC(2025, 0, 1, 12, 0, 0);

// Two turns: the prober decides a success at the end of an event-loop turn (setImmediate), as
// answers read in the same turn may hold an earlier one; that decision comes before the next timer.
export const settle = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

export class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;

  now = (): number => this.t;
  wallAt = (mono: number): number => WALL0 + mono;
  /** A blocking wait takes no turn of the event loop: time just moves on. */
  waitUntil = (at: number): void => { if (at > this.t) this.t = at; };

  sleep = (ms: number, signal?: AttemptSignal): Promise<void> => {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fire: () => resolve() };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      }, { once: true });
    });
  };

  /** Moves time forward by `ms`, firing due timers one by one in time order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fire();
      await settle();
    }
    this.t = end;
    await settle();
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}
