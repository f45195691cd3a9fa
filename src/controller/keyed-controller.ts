// A work queue and the reconciler it runs, started and stopped with leadership. While stopped it
// takes no keys at all: a follower's queues stay empty however many events it sees, and a new
// term starts from a fresh look at every cached pod, not from work queued while following.
import type { Clock } from './clock.ts';
import { WorkQueue } from './work-queue.ts';

/** What a reconciler asks for after a pass. */
export interface Next {
  /** Look at the pod again after this many ms even if nothing about it changes. */
  requeueAfter?: number;
}

export interface KeyedControllerOptions {
  workers: number;
  clock: Clock;
  reconcile(uid: string): Promise<Next>;
  /** A pass threw; it is retried after delayMs. */
  onError(uid: string, err: unknown, attempt: number, delayMs: number): void;
  /** Queue wait and reconcile time, for the histograms (metrics.ts). */
  observe?: { wait(ms: number): void; reconcile(ms: number, ok: boolean): void };
}

export class KeyedController {
  private readonly queue: WorkQueue;
  private running = false;

  constructor(o: KeyedControllerOptions) {
    this.queue = new WorkQueue({
      concurrency: o.workers, clock: o.clock, onRetry: o.onError,
      ...(o.observe ? { onDequeue: (_k: string, ms: number) => o.observe!.wait(ms), onProcessed: (_k: string, ms: number, ok: boolean) => o.observe!.reconcile(ms, ok) } : {}),
      process: async (uid) => {
        const next = await o.reconcile(uid);
        if (next.requeueAfter !== undefined && this.running) this.queue.addAfter(uid, next.requeueAfter);
      },
    });
  }

  get depth(): number { return this.queue.depth; }
  get scheduled(): number { return this.queue.scheduled; }

  add(uid: string): void { if (this.running) this.queue.add(uid); }
  addAll(uids: Iterable<string>): void { for (const uid of uids) this.add(uid); }
  /** A pod that is gone: drop its rechecks and retries. */
  forget(uid: string): void { this.queue.forget(uid); }

  start(): void {
    this.running = true;
    this.queue.start();
  }

  /** Passes in flight finish; everything queued or scheduled is dropped. */
  stop(): void {
    this.running = false;
    this.queue.pause();
    this.queue.reset();
  }

  idle(): Promise<void> { return this.queue.idle(); }

  async shutdown(): Promise<void> {
    this.running = false;
    await this.queue.shutdown();
  }
}
