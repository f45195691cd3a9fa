// When is the policy in force? Pure bookkeeping over rounds of attempts against the deny targets
// (one attempt per target per round), no timers and no sockets: deny-prober.ts feeds it.
//
// The rule: rounds are judged in the order they started. A round is denied when every attempt
// in it went unanswered (refused, unreachable, or silent until its timeout), answered when any
// deny target answered, inconclusive otherwise (a name that did not resolve, an attempt replaced
// before its timeout). The policy is in force at the start of the first run of `window`
// consecutive denied rounds; an answered or inconclusive round breaks a run. Only rounds that
// started at or after the first datapath success count: before it, nothing answers anyway, and
// silence then says nothing about a policy. So the enforced instant is never before the
// datapath-ready instant; it is the first round of the confirmed run, not its last, dated when
// that round's SYNs had all been sent (a denial proves the rule was there by then; the round's
// start may be long before on a busy node). An answer dates its round by its start: the rule was
// not there when that SYN, sent later, crossed.
export type Verdict = 'answered' | 'denied' | 'inconclusive';

interface Round {
  start: number;
  /** When its last attempt's SYN had been sent (monotonic), once known. */
  sentBy?: number;
  pending: number;
  verdict: Verdict;
  /** The first target seen answering in this round. */
  answered?: string;
}

export interface Answering {
  target: string;
  /** Start of the round in which it answered (monotonic). */
  at: number;
}

export class DenyConfirmer {
  readonly #targets: number;
  readonly #window: number;
  /** Rounds not yet judged, oldest first. */
  readonly #queue: Round[] = [];
  #readyAt: number | undefined;
  #runStart: number | undefined;
  #runLength = 0;
  #answering: Answering | undefined;
  #lastAnswer: Answering | undefined;
  #enforcedAt: number | undefined;
  #lastVerdict: Verdict | undefined;

  constructor(targets: number, window: number) {
    if (!(targets >= 1)) throw new Error('DenyConfirmer: at least one deny target');
    if (!(window >= 1)) throw new Error('DenyConfirmer: a window of at least 1 round');
    this.#targets = targets;
    this.#window = window;
  }

  /** A round started at `start` (monotonic, not before the previous one). */
  open(start: number): Round {
    const round: Round = { start, pending: this.#targets, verdict: 'denied' };
    this.#queue.push(round);
    return round;
  }

  /** One attempt of `round` has sent its SYN, at `at` (monotonic). */
  sent(round: Round, at: number): void {
    round.sentBy = Math.max(round.sentBy ?? at, at);
  }

  /** One attempt of `round`, against `target`, ended with `verdict`. */
  settle(round: Round, target: string, verdict: Verdict): void {
    if (round.pending <= 0) return;
    round.pending--;
    if (verdict === 'answered') {
      round.answered ??= target;
      round.verdict = 'answered';
    } else if (verdict === 'inconclusive' && round.verdict === 'denied') {
      round.verdict = 'inconclusive';
    }
    this.#advance();
  }

  /** The first datapath success (monotonic): rounds from then on can confirm the policy. */
  datapathReady(at: number): void {
    if (this.#readyAt !== undefined) return;
    this.#readyAt = at;
    this.#advance();
  }

  get enforcedAt(): number | undefined { return this.#enforcedAt; }
  /** The deny target that answered most recently (in judged rounds), until the policy is confirmed. */
  get answering(): Answering | undefined { return this.#answering; }
  /**
   * The latest answered round, kept once the policy is confirmed: the enforced instant minus its
   * start is the window the schedule left around the policy's arrival (its quantisation).
   */
  get lastAnswer(): Answering | undefined { return this.#lastAnswer; }
  /** The verdict of the latest judged round. */
  get lastVerdict(): Verdict | undefined { return this.#lastVerdict; }
  /** Denied rounds in the current run (towards the window). */
  get runLength(): number { return this.#runLength; }

  #advance(): void {
    while (this.#enforcedAt === undefined) {
      const head = this.#queue[0];
      if (!head || head.pending > 0) return;
      this.#lastVerdict = head.verdict;
      if (head.verdict === 'denied') {
        // Silence before the datapath works proves nothing; until its instant is known, a denied
        // round cannot be judged (it may yet turn out to have started after it).
        if (this.#readyAt === undefined) return;
        if (head.start >= this.#readyAt) {
          this.#runStart ??= head.sentBy ?? head.start;
          this.#runLength++;
          if (this.#runLength >= this.#window) {
            this.#enforcedAt = this.#runStart;
            this.#answering = undefined;
          }
        }
      } else {
        this.#runStart = undefined;
        this.#runLength = 0;
        if (head.verdict === 'answered') this.#answering = this.#lastAnswer = { target: head.answered!, at: head.start };
      }
      this.#queue.shift();
    }
  }
}
