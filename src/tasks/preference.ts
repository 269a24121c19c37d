// The hidden "gold" preference of the RLHF lesson: the rater whose taste a reward
// model has to learn from comparisons alone. It is a rule, so the page can show it
// and every run can be scored against it:
//
//   1. a correct answer beats a wrong one (or none);
//   2. between two correct ones, a well-formed reply (<think>…</think><answer>…</answer>)
//      beats a malformed one;
//   3. between two correct, well-formed replies, the shorter one (fewer tokens) is the
//      more readable and wins;
//   4. anything else is a tie (both wrong; the same length): the pair is dropped.
//
// All four rules are one number, the gold score g: a reply is preferred exactly when
// its g is higher, and g is also the "gold reward" RL is measured with.
//   g = 0                    wrong
//   g = 1                    correct, malformed
//   g = 2 − tokens / 512     correct, well-formed (tokens capped at 256, so g ∈ [1.5, 2))
// Real raters disagree with each other; `noise` flips that share of the labels.

import { CHAT, type AnswerStyle } from "./styles.js";
import { mulberry32 } from "./rng.js";

/** a reply longer than this many tokens counts as this long (the longest a sampler writes here) */
export const GOLD_LENGTH_SCALE = 256;

export function goldScore(reply: string, tokens: number, question: string, expected: string, style: AnswerStyle = CHAT): number {
  if (style.answer(reply, question) !== expected) return 0;
  if (!style.wellFormatted(reply, question)) return 1;
  return 2 - Math.min(tokens, GOLD_LENGTH_SCALE) / (2 * GOLD_LENGTH_SCALE);
}

/** which of two replies the gold rule prefers: "a", "b", or "tie" (equal gold scores) */
export function goldPreference(goldA: number, goldB: number): "a" | "b" | "tie" {
  if (goldA === goldB) return "tie";
  return goldA > goldB ? "a" : "b";
}

export interface Labelled<T> {
  chosen: T;
  rejected: T;
  /** true when the noisy rater flipped the gold label (chosen is the gold loser) */
  flipped: boolean;
}

/**
 * Label candidate pairs by the gold rule, drop the ties, and flip each remaining
 * label with probability `noise` (seeded, so the same call gives the same labels).
 */
export function labelPairs<T>(pairs: readonly { a: T; b: T; goldA: number; goldB: number }[], noise: number, seed: number): Labelled<T>[] {
  if (!(noise >= 0 && noise <= 0.5)) throw new RangeError(`labelPairs: noise must be in [0, 0.5] (above 0.5 the rater prefers the worse reply more often than not), got ${noise}`);
  const rng = mulberry32(seed);
  const out: Labelled<T>[] = [];
  for (const p of pairs) {
    const pref = goldPreference(p.goldA, p.goldB);
    if (pref === "tie") continue;
    const [winner, loser] = pref === "a" ? [p.a, p.b] : [p.b, p.a];
    const flipped = rng() < noise;
    out.push(flipped ? { chosen: loser, rejected: winner, flipped } : { chosen: winner, rejected: loser, flipped });
  }
  return out;
}
