// A keyed work queue in the style of client-go's: a key is queued at most once, never
// processed by two workers at once, retried with capped per-key backoff when processing
// fails, and can be scheduled for later (timeouts). Work only runs while the queue is
// running, which is how a replica that loses leadership stops writing at once.
import { backoffDelay } from '../backoff.ts';
import type { Clock } from './clock.ts';

export interface WorkQueueOptions {
  concurrency: number;
  process: (key: string) => Promise<void>;
  clock: Clock;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called when processing a key failed; it will be retried after delayMs. */
  onRetry?: (key: string, err: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
  /** Metrics hooks: time a key waited in the queue, and how long one processing took. */
  onDequeue?: (key: string, waitedMs: number) => void;
  onProcessed?: (key: string, tookMs: number, ok: boolean) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  /** Keys re-added while being processed: run again once the current run ends. */
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private readonly failures = new Map<string, number>();
  /** Monotonic instant each queued key was queued. */
  private readonly queuedAt = new Map<string, number>();
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: WorkQueueOptions) {}

  get depth(): number { return this.queue.length + this.active.size; }
  get scheduled(): number { return this.timers.size; }

  add(key: string): void {
    if (this.closed) return;
    if (this.active.has(key)) { this.dirty.add(key); return; }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queuedAt.set(key, this.opts.clock.monotonic());
    this.queue.push(key);
    this.pump();
  }

  /** Processes the key after delayMs; an earlier schedule for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (delayMs <= 0) { this.add(key); return; }
    const at = this.opts.clock.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.opts.clock.clearTimeout(existing.handle);
    const handle = this.opts.clock.setTimeout(() => { this.timers.delete(key); this.add(key); }, delayMs);
    this.timers.set(key, { at, handle });
  }

  /** Drops any schedule and retry state for a key that no longer exists. */
  forget(key: string): void {
    const t = this.timers.get(key);
    if (t) this.opts.clock.clearTimeout(t.handle);
    this.timers.delete(key);
    this.failures.delete(key);
  }

  start(): void { this.running = true; this.pump(); }

  /** Stops dispatching; keys already being processed finish. */
  pause(): void { this.running = false; }

  /** Forgets every queued key, schedule and retry count; keys being processed finish. */
  reset(): void {
    for (const t of this.timers.values()) this.opts.clock.clearTimeout(t.handle);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.queuedAt.clear();
    this.dirty.clear();
    this.failures.clear();
    this.pump();
  }

  /** Resolves when nothing is queued or being processed. */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops dispatching, drops schedules and queued keys, and resolves once in-flight work ends. */
  async shutdown(): Promise<void> {
    this.running = false;
    this.closed = true;
    for (const t of this.timers.values()) this.opts.clock.clearTimeout(t.handle);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.queuedAt.clear();
    this.dirty.clear();
    await this.idle();
  }

  private pump(): void {
    while (this.running && this.active.size < this.opts.concurrency && this.queue.length) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      const at = this.queuedAt.get(key);
      this.queuedAt.delete(key);
      if (at !== undefined) this.opts.onDequeue?.(key, this.opts.clock.monotonic() - at);
      this.active.add(key);
      void this.runOne(key);
    }
    if (this.depth === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async runOne(key: string): Promise<void> {
    const started = this.opts.clock.monotonic();
    try {
      await this.opts.process(key);
      this.failures.delete(key);
      this.opts.onProcessed?.(key, this.opts.clock.monotonic() - started, true);
    } catch (err) {
      this.opts.onProcessed?.(key, this.opts.clock.monotonic() - started, false);
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const delay = backoffDelay(failures, { baseMs: this.opts.baseBackoffMs ?? 200, capMs: this.opts.maxBackoffMs ?? 30_000, random: this.opts.random });
      this.opts.onRetry?.(key, err, failures, delay);
      this.addAfter(key, delay);
    } finally {
      this.active.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
