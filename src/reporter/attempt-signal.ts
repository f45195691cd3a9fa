// How a probe attempt is told to stop. A reporter on a dropped path starts and abandons up to
// 50 attempts a second, each with its own stop. An AbortController per attempt made every
// abandonment an EventTarget dispatch with an Event object, which a CPU profile of the prober
// on a dropped path, taken by hand, put at about a seventh of the main thread's busy time
// (node's abort_controller and event_target modules); bench/attempt-cost.ts measures the cut.
// AttemptStop does the same job with a plain array of listeners. Probes accept either: they need only the AttemptSignal shape, which an
// AbortSignal has too (tests and other callers pass AbortSignal.timeout()).

/** What a probe reads of its stop: AbortSignal's shape, reduced to what probes use. */
export interface AttemptSignal {
  readonly aborted: boolean;
  /** Why it stopped (an Error), once aborted. */
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** One attempt's stop: abort() once, listeners called in the order added, each at most once. */
export class AttemptStop implements AttemptSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> = [];

  /** Listeners are one-shot whatever the options say (an attempt stops once); one added twice is kept once, as EventTarget keeps it. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted && !this.listeners.includes(listener)) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** Stops the attempt with `reason`; a second call does nothing, as AbortController's. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    // As EventTarget's dispatch: the listeners are those registered when the abort began,
    // less any that one of them removes before its turn.
    for (const listener of [...this.listeners]) if (this.listeners.includes(listener)) listener();
    this.listeners = [];
  }
}
