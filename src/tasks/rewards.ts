// GRPO's rewards: two rules, no neural network (DeepSeek-R1 §2.2.2).
//
//   accuracy  1 when the reply's answer is exactly the right integer, else 0
//   format    1 when the reply has the expected shape, else 0
//             (chat: one <think>…</think> then one <answer>…</answer>, nothing else)
//
// The reward GRPO sees is their weighted sum. R1 chose rules because a learned
// reward model can be fooled ("reward hacking"); a rule cannot be argued with:
// "<answer>66</answer>" either is the answer to 37+48-19 or it is not.

import { CHAT, type AnswerStyle } from "./styles.js";

export interface RewardWeights {
  accuracy: number;
  format: number;
}

/** Accuracy dominates; the format term is a small nudge (TinyZero's 1 and 0.1). */
export const DEFAULT_REWARD_WEIGHTS: RewardWeights = { accuracy: 1, format: 0.1 };

export interface Scored {
  reward: number;
  correct: boolean;
  formatOk: boolean;
  /** the answer read from the reply (null: none) */
  answer: string | null;
}

/** 1 if the reply's answer equals the expected integer (no leading zeros, no "66.0"). */
export function accuracyRule(reply: string, question: string, expected: string, style: AnswerStyle = CHAT): number {
  return style.answer(reply, question) === expected ? 1 : 0;
}

/** 1 if the reply has the style's shape. */
export function formatRule(reply: string, question: string, style: AnswerStyle = CHAT): number {
  return style.wellFormatted(reply, question) ? 1 : 0;
}

/** Both rules and their weighted sum. Never throws on what a model writes. */
export function ruleReward(reply: string, question: string, expected: string, weights: RewardWeights = DEFAULT_REWARD_WEIGHTS, style: AnswerStyle = CHAT): Scored {
  const correct = accuracyRule(reply, question, expected, style) === 1;
  const formatOk = formatRule(reply, question, style) === 1;
  return {
    reward: weights.accuracy * (correct ? 1 : 0) + weights.format * (formatOk ? 1 : 0),
    correct, formatOk, answer: style.answer(reply, question),
  };
}

export function validateRewardWeights(w: RewardWeights): void {
  for (const [k, v] of Object.entries(w)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`reward weight ${k} must be a finite number ≥ 0, got ${v}`);
  }
  if (w.accuracy + w.format === 0) throw new RangeError("reward weights are all 0: every completion would score the same and GRPO would learn nothing");
}
