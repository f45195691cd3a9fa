// What the probe interval alone takes of the datapath-ready mark, and whether each pod's own
// error bar held. Pure: the real-node part feeds it each pod's figures.
//
// Each reporter probes on a grid of its own whose phase against the heal is arbitrary: the first
// tick after the heal comes U × interval later, U uniform on [0, 1) and independent from pod to
// pod. The mark is judged at the nearest-rank p99, which for fewer than 100 pods is the maximum.
// So with n pods the interval alone puts the judged figure at interval × n / (n + 1) on average
// (19.05 ms for 20 pods at the 20 ms floor), and below x with probability (x / interval)^n.
// Whatever the reporter adds on top (a tick that fired late, a wait for a core before its
// connect(2)) must fit in what is left of the mark.
import { nearestRank } from './stats.ts';

/** Expected maximum of `n` independent uniform positions on [0, intervalMs). */
export function expectedGridMaxMs(n: number, intervalMs: number): number {
  return (intervalMs * n) / (n + 1);
}

/**
 * The chance that every pod's error (U × interval + its delay) is within `markMs`, the phases
 * random and each pod's delay as given: the chance a run passes the mark with those delays.
 */
export function passChance(markMs: number, intervalMs: number, delaysMs: readonly number[]): number {
  let p = 1;
  for (const d of delaysMs) p *= Math.min(1, Math.max(0, (markMs - d) / intervalMs));
  return p;
}

/** The reported datapath-ready instant's own bracket: the latest failed attempt before it, and it. */
export interface Bracket {
  pod: string;
  /** Both ends − the truth, ms: the lower end must be before it, the upper end at or after it. */
  lowerMs: number;
  upperMs: number;
}

/**
 * The annotation is written to the millisecond (rounded), so either end may sit up to half a
 * millisecond on the wrong side of an instant it really bounds.
 */
export const ANNOTATION_ROUNDING_MS = 0.5;

export interface BracketCheck {
  /** Pods whose probe details gave a bracket (failedAfterMs), of `pods`. */
  pods: number;
  withBracket: number;
  /** Pods whose bracket held the truth (within the annotation's rounding). */
  truthInside: number;
  /** Upper − lower, ms: the measurement's own uncertainty, pod by pod. */
  widthMs: { p50: number; max: number };
  /** Each pod whose bracket missed the truth. */
  outside: Bracket[];
}

export function checkBrackets(pods: number, brackets: readonly Bracket[]): BracketCheck {
  const inside = (b: Bracket) => b.lowerMs < ANNOTATION_ROUNDING_MS && b.upperMs >= -ANNOTATION_ROUNDING_MS;
  const widths = brackets.map((b) => b.upperMs - b.lowerMs).sort((a, b) => a - b);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    pods,
    withBracket: brackets.length,
    truthInside: brackets.filter(inside).length,
    widthMs: { p50: r1(nearestRank(widths, 0.5)), max: r1(widths.at(-1) ?? NaN) },
    outside: brackets.filter((b) => !inside(b)),
  };
}
