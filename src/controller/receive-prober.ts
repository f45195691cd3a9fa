// The receive check's prober: while this replica leads, it knocks on the pod IP of every pod
// whose receive check is on (a container port named dpready-receive) until the reporter has
// recorded a knock. The reporter, not this prober, takes the instant (the moment traffic
// reached the pod) and writes it, so the condition stays a function of the pod's own fields
// and the prober writes nothing to the API server.
//
// Load is bounded three ways: a per-pod schedule like the reporter's (25 ms while knocks go
// unanswered, growing while they are refused), a cap on knocks in flight, and a token bucket
// on knocks per second across all pods. No pod is knocked once a knock got through; if its
// receive instant does not show up on the watch within a while (the reporter restarted before
// writing), knocking resumes.
import { nextInterval, type ScheduleOptions } from '../reporter/schedule.ts';
import type { Clock } from './clock.ts';
import type { PodSummary } from './pod-summary.ts';
import { ANNOTATION_RECEIVE_TS } from '../contract.ts';

/** One knock: 'ok' (the listener answered 200), 'answered' (refused, another status), 'silent' (no answer in time). */
export type KnockResult = 'ok' | 'answered' | 'silent';
export type Knock = (ip: string, port: number, timeoutMs: number) => Promise<KnockResult>;

export interface ReceiveProberOptions {
  clock: Clock;
  knock: Knock;
  schedule?: ScheduleOptions;
  /** Knocks waiting for an answer at once, across all pods. */
  maxInFlight?: number;
  /** Knocks started per second, across all pods. */
  ratePerSecond?: number;
  knockTimeoutMs?: number;
  /** After a knock got through, wait this long for the receive instant before knocking again. */
  confirmMs?: number;
  onKnock?: (result: KnockResult) => void;
}

export const RECEIVE_SCHEDULE: ScheduleOptions = { initialMs: 25, growth: 0.015, capMs: 2_000 };

interface Target {
  uid: string;
  ip: string;
  port: number;
  nextAt: number;
  answeredMs: number;
  lastAnswered: boolean;
  /** A knock got through at this instant: wait for the reporter's write. */
  gotThroughAt?: number;
}

/** Whether a pod needs knocking: the check is on, it has an IP, and no receive instant is recorded. */
export function needsKnock(pod: PodSummary): boolean {
  return pod.receivePort !== undefined && !!pod.podIP && !pod.deleting && pod.phase === 'Running'
    && pod.annotations[ANNOTATION_RECEIVE_TS] === undefined;
}

export class ReceiveProber {
  private readonly targets = new Map<string, Target>();
  /** Targets by due time, earliest first, so every pod gets its turn when knocks are scarce. */
  private readonly due = new DueHeap();
  private readonly schedule: ScheduleOptions;
  private readonly maxInFlight: number;
  private readonly rate: number;
  private readonly knockTimeoutMs: number;
  private readonly confirmMs: number;
  private inFlight = 0;
  private tokens: number;
  private lastRefill: number;
  private running = false;
  private timer: unknown;
  private knocks = 0;

  constructor(private readonly o: ReceiveProberOptions) {
    this.schedule = o.schedule ?? RECEIVE_SCHEDULE;
    this.maxInFlight = o.maxInFlight ?? 256;
    this.rate = o.ratePerSecond ?? 1_000;
    // A pod network answers in milliseconds: a knock unanswered after 250 ms is silence, and
    // its slot is better spent on the next knock.
    this.knockTimeoutMs = o.knockTimeoutMs ?? 250;
    this.confirmMs = o.confirmMs ?? 30_000;
    this.tokens = this.rate / 10;
    this.lastRefill = o.clock.monotonic();
  }

  /** Pods waiting for a knock to get through. */
  get pending(): number { return this.targets.size; }
  /** Entries in the due heap, stale ones included (memory). */
  get scheduled(): number { return this.due.size; }
  /** Knocks sent since start (for the load figure). */
  get sent(): number { return this.knocks; }

  /** Follows the pod store: called with every pod event (and undefined when a pod is gone). */
  observe(uid: string, pod: PodSummary | undefined): void {
    if (!pod || !needsKnock(pod)) {
      this.targets.delete(uid);
      return;
    }
    const known = this.targets.get(uid);
    if (known && known.ip === pod.podIP && known.port === pod.receivePort) return;
    const target: Target = { uid, ip: pod.podIP!, port: pod.receivePort!, nextAt: this.o.clock.monotonic(), answeredMs: 0, lastAnswered: false };
    this.targets.set(uid, target);
    // Stale entries leave the schedule only as it runs, so a follower schedules nothing: its
    // schedule would grow with every pod. start() schedules every target then.
    if (!this.running) return;
    this.due.push(target);
    this.arm(0);
  }

  /** A fresh list replaces everything known (the pod watch restarted). */
  reset(pods: PodSummary[]): void {
    this.targets.clear();
    for (const p of pods) this.observe(p.uid, p);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastRefill = this.o.clock.monotonic();
    this.due.clear();
    const now = this.o.clock.monotonic();
    for (const t of this.targets.values()) { t.nextAt = now; this.due.push(t); }
    this.arm(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.due.clear();
  }

  private arm(ms: number): void {
    if (!this.running || this.timer !== undefined || this.targets.size === 0) return;
    this.timer = this.o.clock.setTimeout(() => { this.timer = undefined; this.tick(); }, ms);
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.o.clock.monotonic();
    this.tokens = Math.min(this.rate / 10, this.tokens + (now - this.lastRefill) * this.rate / 1_000);
    this.lastRefill = now;
    for (;;) {
      const t = this.due.peek();
      if (!t) return;
      if (this.targets.get(t.uid) !== t) { this.due.pop(); continue; } // gone or replaced
      if (t.nextAt > now) { this.arm(t.nextAt - now); return; }
      // Out of tokens or knock slots: come back when one token has accrued (a finishing knock re-arms too).
      if (this.inFlight >= this.maxInFlight || this.tokens < 1) { this.arm(Math.max(1, 1_000 / this.rate)); return; }
      this.due.pop();
      if (t.gotThroughAt !== undefined && now - t.gotThroughAt < this.confirmMs) {
        t.nextAt = t.gotThroughAt + this.confirmMs;
        this.due.push(t);
        continue;
      }
      t.gotThroughAt = undefined; // not yet through, or the instant never showed up: knock (again)
      this.tokens--;
      this.launch(t, now);
      this.due.push(t);
    }
  }

  private launch(t: Target, now: number): void {
    this.inFlight++;
    this.knocks++;
    const gap = nextInterval(t.answeredMs, t.lastAnswered, this.schedule);
    if (t.lastAnswered) t.answeredMs += gap;
    t.nextAt = now + gap;
    void this.o.knock(t.ip, t.port, this.knockTimeoutMs).catch(() => 'silent' as const).then((result) => {
      this.inFlight--;
      this.o.onKnock?.(result);
      if (result === 'ok') {
        t.gotThroughAt = this.o.clock.monotonic();
        t.nextAt = t.gotThroughAt + this.confirmMs;
        if (this.targets.get(t.uid) === t) this.due.push(t);
      } else {
        t.lastAnswered = result === 'answered';
      }
      this.arm(0);
    });
  }
}

/** A binary min-heap of targets by nextAt; stale entries are skipped by the reader. */
class DueHeap {
  private readonly a: { at: number; t: Target }[] = [];

  get size(): number { return this.a.length; }
  clear(): void { this.a.length = 0; }

  push(t: Target): void {
    const a = this.a;
    a.push({ at: t.nextAt, t });
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  /** The earliest entry whose time is still its target's (others were superseded by a later push). */
  peek(): Target | undefined {
    while (this.a.length > 0 && this.a[0]!.at !== this.a[0]!.t.nextAt) this.pop();
    return this.a[0]?.t;
  }

  pop(): void {
    const a = this.a;
    const last = a.pop();
    if (!last || a.length === 0) return;
    a[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.at < a[m]!.at) m = l;
      if (r < a.length && a[r]!.at < a[m]!.at) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}
