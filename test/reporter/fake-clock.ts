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
  private timers: { at: number; seq: number; fire: () => void; thread?: boolean }[] = [];
  private seq = 0;

  now = (): number => this.t;
  wallAt = (mono: number): number => WALL0 + mono;
  /** A blocking wait takes no turn of the event loop: time just moves on. */
  waitUntil = (at: number): void => { if (at > this.t) this.t = at; };
  /**
   * A sleep on the thread: a timer for `until`, but every timer that falls due before it waits
   * for it (the event loop does not run meanwhile), then fires at `until`, just before it.
   */
  sleepOnThread = (until: number): Promise<void> => new Promise<void>((resolve) => {
    const at = Math.max(this.t, until);
    this.threadUntil = at;
    this.timers.push({ at, seq: this.seq++, fire: () => { this.threadUntil = undefined; resolve(); }, thread: true });
  });
  private threadUntil: number | undefined;

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
  /** When a timer fires: no earlier than a pending sleep on the thread ends (those first, then it). */
  private due = (x: { at: number; thread?: boolean }) => (x.thread || this.threadUntil === undefined ? x.at : Math.max(x.at, this.threadUntil));

  /** Moves time forward by `ms`, firing due timers one by one in time order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      this.timers.sort((a, b) => this.due(a) - this.due(b) || Number(a.thread ?? false) - Number(b.thread ?? false) || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || this.due(next) > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, this.due(next));
      next.fire();
      await settle();
    }
    // A blocking wait (waitUntil) may have carried time past the end already.
    this.t = Math.max(this.t, end);
    await settle();
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}
