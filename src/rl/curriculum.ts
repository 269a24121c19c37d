// Which difficulty levels a GRPO step draws its prompts from.
//
// A group teaches only when its rewards differ: all right or all wrong gives every
// completion an advantage of 0. For 0/1 accuracy with success rate p, the chance
// that G samples are not all equal is 1 − pᴳ − (1 − p)ᴳ, largest at p = ½ and ≈ 0
// near p = 0 or 1. So the adaptive curriculum keeps a running success rate per
// level and draws levels in proportion to p(1 − p), the reward's variance: the
// levels at the edge of what the model solves get the prompts. A floor keeps every
// level in play, so a level the model has "finished" is still checked.
//
//   "uniform"   every level equally often, in turn
//   "adaptive"  P(level) ∝ max(p(1 − p), floor), p the running accuracy at that level

import { deriveSeed, mulberry32 } from "../tasks/index.js";

export const CURRICULA = ["uniform", "adaptive"] as const;
export type Curriculum = (typeof CURRICULA)[number];

/** running accuracy per level, saved in checkpoints so a resumed run draws the same levels */
export type LevelAccuracy = Record<string, number>;

const FLOOR = 0.05;
/** weight of the newest step in the running accuracy */
const RATE = 0.2;

/**
 * `count` levels for one draw, from `levels`. `draw` numbers the draw (0, 1, …): it
 * rotates the uniform order, so no level is always first in line, and with `seed`
 * it seeds the adaptive choice.
 */
export function drawLevels(kind: Curriculum, levels: readonly number[], count: number, accuracy: LevelAccuracy, draw: number, seed = 0): number[] {
  if (kind === "uniform") return Array.from({ length: count }, (_, i) => levels[(i + draw * count) % levels.length]!);
  const weights = levels.map((l) => levelWeight(accuracy[l] ?? 0.5));
  const total = weights.reduce((a, b) => a + b, 0);
  const rng = mulberry32(deriveSeed(seed, `levels/${draw}`));
  return Array.from({ length: count }, () => {
    let u = rng() * total;
    for (let i = 0; i < levels.length; i++) if ((u -= weights[i]!) <= 0) return levels[i]!;
    return levels[levels.length - 1]!;
  });
}

export function levelWeight(p: number): number {
  return Math.max(p * (1 - p), FLOOR);
}

/** Fold one step's results (level, correct) into the running accuracy; returns a new record. */
export function updateLevelAccuracy(accuracy: LevelAccuracy, results: readonly { level: number; correct: boolean }[]): LevelAccuracy {
  const next = { ...accuracy };
  const byLevel = new Map<number, boolean[]>();
  for (const r of results) byLevel.set(r.level, [...(byLevel.get(r.level) ?? []), r.correct]);
  for (const [level, outcomes] of byLevel) {
    const rate = outcomes.filter(Boolean).length / outcomes.length;
    next[level] = (1 - RATE) * (next[level] ?? 0.5) + RATE * rate;
  }
  return next;
}
