// GRPO: Group Relative Policy Optimisation (DeepSeekMath §4; DeepSeek-R1 §2.2.1).
//
// The idea in plain words. For one prompt q, sample a *group* of G completions
// o_1 … o_G from the current policy and score each with a rule (is the answer
// right?). A completion's advantage is how much better its reward is than its
// group's: no value network, the group is the baseline. Then push up the
// log-probability of every token of the completions that beat their group, and
// push down those that fell short, but only a little at a time (PPO's clip) and
// without drifting far from a frozen reference model (a KL penalty).
//
// The objective, maximised (so the loss is its negative):
//
//   J = 1/G Σ_i 1/|o_i| Σ_t [ min(ρ_t·Â_i, clip(ρ_t, 1−ε, 1+ε_high)·Â_i) − β·KL_t ]
//
//   Â_i  = (r_i − mean(r)) / (std(r) + eps)   over the group   (Dr. GRPO: r_i − mean(r))
//   ρ_t  = π_θ(o_t | q, o_<t) / π_old(o_t | q, o_<t)            the probability ratio
//   KL_t = π_ref/π_θ − log(π_ref/π_θ) − 1                        the k3 estimator, always ≥ 0
//
// π_old is the policy that sampled the group (ρ = 1 on the first update after
// sampling), π_ref the frozen starting model. The clip removes the incentive to
// move ρ past 1 + ε_high when Â > 0, or below 1 − ε when Â < 0: once the ratio has
// moved far enough in the direction the advantage wants, that token's gradient is 0.
//
// Its gradient with respect to the logits z_t of a token a_t (derived in the fact
// sheet; checked against autograd in tests/unit/rl-grpo.test.ts):
//
//   ∂loss/∂z_t = −w_t · c_t · (onehot(a_t) − softmax(z_t)),
//   c_t = ρ_t·Â_t·[clip inactive] + β·(π_ref/π_θ − 1),
//
// where w_t is the token's normalisation weight. Three normalisations are offered,
// because they are exactly where the variants differ:
//   "sequence" (GRPO)      w_t = 1 / (S·|o_i|): each sequence counts once, whatever its length
//   "token"    (DAPO)      w_t = 1 / Σ_i |o_i|: each token counts once
//   "constant" (Dr. GRPO)  w_t = 1 / C, e.g. C = S · max new tokens: no length bias at all
// (S = number of sequences in the batch, all prompts' groups together.)
//
// Everything below is built from the engine's differentiable ops: no kernel of its own.

import { DTypeError, ShapeError, fmtShape } from "../tensor/backend.js";
import type { Engine, Tensor } from "../tensor/engine.js";

// ---- advantages (host side: one number per sequence) ----------------------------------

export interface GroupAdvantageOptions {
  /** divide by the group's standard deviation (GRPO, the default); false: Dr. GRPO's r − mean */
  scaleByStd?: boolean;
  /** added to the std before dividing, so a tiny spread cannot blow advantages up (default 1e-4) */
  eps?: number;
}

export interface GroupStats {
  mean: number;
  /** sample standard deviation (n − 1 in the denominator, as TRL and verl compute it) */
  std: number;
  /** every reward in the group is the same: the group teaches nothing, its advantages are 0 */
  zeroSpread: boolean;
}

export interface GroupAdvantages {
  /** one advantage per sequence, in the order of the rewards */
  advantages: number[];
  /** one entry per group (rewards [g·G, (g+1)·G) form group g) */
  groups: GroupStats[];
  /** share of groups with zero spread: the part of the batch that gives no gradient */
  zeroSpreadShare: number;
}

/**
 * Outcome-supervision advantages: every sequence gets (r − group mean) / (group std + eps),
 * or r − group mean with `scaleByStd: false` (Dr. GRPO). Groups are consecutive runs of
 * `groupSize` rewards. A group whose rewards are all equal gets advantages of exactly 0
 * (all right or all wrong: nothing to prefer), and is flagged `zeroSpread`.
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number, opts: GroupAdvantageOptions = {}): GroupAdvantages {
  const scaleByStd = opts.scaleByStd ?? true;
  const eps = opts.eps ?? 1e-4;
  if (!Number.isInteger(groupSize) || groupSize < 2) {
    throw new RangeError(`groupAdvantages: groupSize must be an integer ≥ 2 (a group of one has no baseline to compare with), got ${groupSize}`);
  }
  if (rewards.length % groupSize !== 0) {
    throw new RangeError(`groupAdvantages: ${rewards.length} rewards do not split into groups of ${groupSize} (${rewards.length} is not a multiple of ${groupSize})`);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`groupAdvantages: eps must be a finite number ≥ 0, got ${eps}`);
  const bad = rewards.findIndex((r) => !Number.isFinite(r));
  if (bad >= 0) throw new RangeError(`groupAdvantages: reward ${bad} is ${rewards[bad]}; every reward must be a finite number`);

  const advantages = new Array<number>(rewards.length);
  const groups: GroupStats[] = [];
  for (let start = 0; start < rewards.length; start += groupSize) {
    const group = rewards.slice(start, start + groupSize);
    const mean = group.reduce((s, r) => s + r, 0) / groupSize;
    const std = Math.sqrt(group.reduce((s, r) => s + (r - mean) ** 2, 0) / (groupSize - 1));
    // Compare rewards, not std with 0: a mean that is not exactly representable
    // would leave r − mean at ±1e-17, which /eps turns into noise.
    const zeroSpread = group.every((r) => r === group[0]);
    groups.push({ mean, std: zeroSpread ? 0 : std, zeroSpread });
    for (let k = 0; k < groupSize; k++) {
      const centred = group[k]! - mean;
      advantages[start + k] = zeroSpread ? 0 : scaleByStd ? centred / (std + eps) : centred;
    }
  }
  const zeroSpreadShare = groups.length ? groups.filter((g) => g.zeroSpread).length / groups.length : 0;
  return { advantages, groups, zeroSpreadShare };
}

// ---- per-token quantities (device side, differentiable) --------------------------------

/**
 * log π(a_t) for each row: logits [N, V], targets i32 [N] → [N], differentiable with
 * respect to the logits (gradient onehot(a_t) − softmax(z_t)). It is minus the
 * cross-entropy, whose fused kernel keeps only one number per row for the backward
 * pass, where logSoftmax + gatherLast would keep the whole [N, V] log-softmax.
 */
export function tokenLogProbs(engine: Engine, logits: Tensor, targets: Tensor): Tensor {
  const op = "tokenLogProbs";
  if (logits.shape.length !== 2) throw new ShapeError(`${op}: logits must be [N, V], got ${fmtShape(logits.shape)}`);
  const N = logits.shape[0]!;
  if (targets.dtype !== "i32") throw new DTypeError(`${op}: targets must be i32 token ids, got ${targets.dtype}`);
  if (targets.shape.length !== 1 || targets.shape[0] !== N) {
    throw new ShapeError(`${op}: targets must be [${N}] (one token per row of logits ${fmtShape(logits.shape)}), got ${fmtShape(targets.shape)}`);
  }
  return engine.neg(engine.crossEntropy(logits, targets));
}

/**
 * The k3 estimate of KL(π_θ ‖ π_ref) per token: r − log r − 1 with r = π_ref/π_θ.
 * Always ≥ 0 (e^x ≥ 1 + x), 0 exactly where the two agree, and unbiased in
 * expectation over tokens sampled from π_θ. Positions where `mask` is 0 give 0.
 */
export function k3KL(engine: Engine, logp: Tensor, refLogp: Tensor, mask: Tensor | null = null): Tensor {
  const e = engine;
  let logR = e.sub(refLogp, logp); // log(π_ref/π_θ)
  if (mask) logR = e.mul(logR, mask);
  return e.affine(e.sub(e.exp(logR), logR), 1, -1);
}

// ---- the loss ------------------------------------------------------------------------------

export type Normalisation = "sequence" | "token" | "constant";
export const NORMALISATIONS: readonly Normalisation[] = ["sequence", "token", "constant"];

/**
 * One batch of sequences (every prompt's group together), flattened to N token
 * positions. Every tensor is f32 [N] unless said otherwise. Positions outside the
 * completions (prompt, padding) have mask 0; whatever finite values they hold in the
 * other tensors, they add nothing to the loss, its gradient or the stats.
 */
export interface GrpoInputs {
  /** log π_θ of each sampled token under the current policy: the one differentiable input */
  logp: Tensor;
  /** log π_old: the policy that sampled the batch (a constant, computed under noGrad) */
  oldLogp: Tensor;
  /** log π_ref: the frozen reference model (a constant); needed when beta > 0, optional otherwise */
  refLogp?: Tensor | null;
  /** the advantage of each token: its sequence's Â, repeated over its tokens */
  advantages: Tensor;
  /** 1 on completion tokens, 0 elsewhere */
  mask: Tensor;
  /** i32 [N]: the sequence (0 … numSequences−1) each position belongs to; needed for "sequence" */
  seqIds?: Tensor | null;
  /** S, the number of sequences in the batch; needed for "sequence" */
  numSequences?: number;
}

export interface GrpoOptions {
  /** clip range below 1: ρ is not pushed below 1 − eps (default 0.2; ≥ 1 switches the lower clip off) */
  eps?: number;
  /** clip range above 1: ρ is not pushed above 1 + epsHigh (DAPO's clip-higher; default eps) */
  epsHigh?: number;
  /** weight of the k3 KL penalty in the loss (default 0: no penalty) */
  beta?: number;
  /** how token terms are averaged (default "sequence", GRPO's 1/|o_i| then mean over sequences) */
  normalisation?: Normalisation;
  /** the divisor of "constant" (Dr. GRPO), e.g. numSequences × max new tokens */
  constant?: number;
}

/** Diagnostics, each a mean over the completion tokens of the batch. */
export interface GrpoStats {
  /** mean k3 KL to the reference (NaN when no refLogp was given) */
  kl: number;
  /** share of tokens whose clip is active, i.e. whose ratio term gives no gradient */
  clipFraction: number;
  /** share clipped below: Â < 0 and ρ < 1 − ε (TRL's clip_ratio/low_mean) */
  clipLow: number;
  /** share clipped above: Â > 0 and ρ > 1 + ε_high (TRL's clip_ratio/high_mean) */
  clipHigh: number;
  /** mean ratio π_θ/π_old (1 on the first update after sampling) */
  ratio: number;
}

/** the order of the values in GrpoOutput.stats */
export const GRPO_STAT_KEYS = ["kl", "clipFraction", "ratio", "clipLow", "clipHigh"] as const;

export interface GrpoOutput {
  /** the scalar to minimise, shape [1] */
  loss: Tensor;
  /**
   * f32 [5]: mean KL, clip fraction, mean ratio, low and high clip shares (GRPO_STAT_KEYS order), on the device
   * and outside the tape. Nothing is read back here: read it with readGrpoStats
   * (one readback), and keep() it first if the loss is built inside a scope that
   * ends before you read (as trainStep's does).
   */
  stats: Tensor;
}

/**
 * The GRPO loss (−J above) for one batch, with its diagnostics. Builds ops on the
 * tape like any engine op: call it inside engine.scope (trainStep does).
 */
export function grpoLoss(engine: Engine, inputs: GrpoInputs, opts: GrpoOptions = {}): GrpoOutput {
  const e = engine;
  const eps = opts.eps ?? 0.2;
  const epsHigh = opts.epsHigh ?? eps;
  const beta = opts.beta ?? 0;
  const normalisation = opts.normalisation ?? "sequence";
  checkInputs(inputs, { eps, epsHigh, beta, normalisation, constant: opts.constant });
  const { logp, oldLogp, advantages: adv, mask } = inputs;
  const refLogp = inputs.refLogp ?? null;

  const w = e.noGrad(() => tokenWeights(e, inputs, normalisation, opts.constant ?? 0));

  // ρ = π_θ/π_old, computed from log-probabilities. Off the mask the log-ratio is
  // forced to 0 (ρ = 1), so padding can never overflow exp.
  const ratio = e.exp(e.mul(e.sub(logp, oldLogp), mask));
  const unclipped = e.mul(ratio, adv);
  const clipped = e.mul(e.clamp(ratio, 1 - eps, 1 + epsHigh), adv);
  // The pessimistic choice: min picks the clipped term exactly when the ratio has
  // left [1 − ε, 1 + ε_high] in the direction Â favours, and the clipped term has no
  // gradient there. (On a tie min's gradient goes to its first argument: inside the
  // range, ρ·Â.)
  let objective = e.minimum(unclipped, clipped);
  // The KL term joins the tape only when it is in the loss; otherwise it is a stat.
  const kl = refLogp ? (beta > 0 ? k3KL(e, logp, refLogp, mask) : e.noGrad(() => k3KL(e, logp, refLogp, mask))) : null;
  if (kl && beta > 0) objective = e.sub(objective, e.scale(kl, beta));
  const loss = e.neg(e.sumAll(e.mul(objective, w)));

  const stats = e.noGrad(() => {
    // clip active ⇔ clipped < unclipped strictly (ge has no gradient: a mask only)
    const unclippedWins = e.wrap(e.backend.binary("ge", clipped.raw, unclipped.raw));
    const clipActive = e.mul(e.affine(unclippedWins, -1, 1), mask);
    // which side: a clip with Â > 0 is the upper one (ρ > 1 + ε_high), with Â < 0 the lower
    const zero = e.zeros(adv.shape);
    const positive = e.affine(e.wrap(e.backend.binary("ge", zero.raw, adv.raw)), -1, 1); // Â > 0
    const clipHigh = e.mul(clipActive, positive);
    const klSum = kl ? e.sumAll(kl) : e.full([1], NaN); // kl is already 0 off the mask
    const sums = e.concat([
      klSum, e.sumAll(clipActive), e.sumAll(e.mul(ratio, mask)), e.sub(e.sumAll(clipActive), e.sumAll(clipHigh)), e.sumAll(clipHigh),
    ], 0);
    const tokens = e.maximum(e.sumAll(mask), e.full([1], 1)); // an all-masked batch gives 0s, not NaN
    return e.div(sums, tokens);
  });
  return { loss, stats };
}

/** Read the stats of grpoLoss back in one readback, and free the tensor. */
export async function readGrpoStats(stats: Tensor): Promise<GrpoStats> {
  const v = await stats.data();
  stats.dispose();
  return { kl: v[0]!, clipFraction: v[1]!, ratio: v[2]!, clipLow: v[3]!, clipHigh: v[4]! };
}

/**
 * Each position's weight w_t in the sum (0 off the mask), so that the loss is
 * −Σ_t w_t·objective_t for all three normalisations.
 */
function tokenWeights(e: Engine, inputs: GrpoInputs, normalisation: Normalisation, constant: number): Tensor {
  const mask = inputs.mask;
  switch (normalisation) {
    case "token":
      // 1 / Σ|o_i| (at least 1, so a batch with no completion token gives 0, not NaN)
      return e.div(mask, e.maximum(e.sumAll(mask), e.full([1], 1)));
    case "constant":
      return e.scale(mask, 1 / constant);
    case "sequence": {
      // |o_i| for every position's sequence: the mask summed per sequence id
      // (scatter-add into S rows), then read back out per position (gather).
      const ids = inputs.seqIds!;
      const S = inputs.numSequences!;
      const column = e.reshape(mask, [mask.size, 1]);
      const lengths = e.scatterAddRows(column, ids, S); // [S, 1]
      const lengthAt = e.reshape(e.gatherRows(lengths, ids), [mask.size]); // [N]
      // an empty completion has no masked-in tokens: max(·, 1) only avoids 0/0
      return e.scale(e.div(mask, e.maximum(lengthAt, e.full([1], 1))), 1 / S);
    }
  }
}

function checkInputs(
  inputs: GrpoInputs,
  o: { eps: number; epsHigh: number; beta: number; normalisation: Normalisation; constant: number | undefined },
): void {
  const op = "grpoLoss";
  if (!(o.eps > 0) || !Number.isFinite(o.eps)) throw new RangeError(`${op}: eps must be a finite number > 0 (the clip range, usually 0.2), got ${o.eps}`);
  if (!(o.epsHigh > 0) || !Number.isFinite(o.epsHigh)) {
    throw new RangeError(`${op}: epsHigh must be a finite number > 0 (DAPO uses 0.28), got ${o.epsHigh}`);
  }
  if (!(o.beta >= 0) || !Number.isFinite(o.beta)) throw new RangeError(`${op}: beta must be a finite number ≥ 0, got ${o.beta}`);
  if (!NORMALISATIONS.includes(o.normalisation)) {
    throw new RangeError(`${op}: normalisation must be one of ${NORMALISATIONS.join(", ")}, got ${String(o.normalisation)}`);
  }
  if (o.beta > 0 && !inputs.refLogp) throw new Error(`${op}: beta = ${o.beta} needs refLogp, the reference model's log-probabilities`);

  const { logp } = inputs;
  if (logp.shape.length !== 1) throw new ShapeError(`${op}: logp must be one value per token, shape [N], got ${fmtShape(logp.shape)}`);
  const N = logp.shape[0]!;
  const perToken: [string, Tensor | null | undefined, "f32" | "i32"][] = [
    ["logp", logp, "f32"], ["oldLogp", inputs.oldLogp, "f32"], ["refLogp", inputs.refLogp, "f32"],
    ["advantages", inputs.advantages, "f32"], ["mask", inputs.mask, "f32"], ["seqIds", inputs.seqIds, "i32"],
  ];
  for (const [name, t, dtype] of perToken) {
    if (!t) continue;
    if (t.shape.length !== 1 || t.shape[0] !== N) {
      throw new ShapeError(`${op}: ${name} has shape ${fmtShape(t.shape)}, but logp has ${fmtShape(logp.shape)}: every input is one value per token, [N]`);
    }
    if (t.dtype !== dtype) throw new DTypeError(`${op}: ${name} must be ${dtype}, got ${t.dtype}`);
    // A constant that carries a gradient would send a second, wrong gradient into the model.
    if (name !== "logp" && t.requiresGrad) {
      throw new Error(`${op}: ${name} must be a constant, but it requires a gradient (compute it under engine.noGrad)`);
    }
  }
  if (o.normalisation === "sequence") {
    if (!inputs.seqIds) throw new Error(`${op}: normalisation "sequence" needs seqIds, the sequence of each token`);
    const S = inputs.numSequences;
    if (S === undefined || !Number.isInteger(S) || S < 1) {
      throw new RangeError(`${op}: normalisation "sequence" needs numSequences, a positive integer, got ${String(S)}`);
    }
  }
  if (o.normalisation === "constant") {
    const C = o.constant;
    if (C === undefined || !(C > 0) || !Number.isFinite(C)) {
      throw new RangeError(`${op}: normalisation "constant" needs constant, a finite number > 0 (e.g. sequences × max new tokens), got ${String(C)}`);
    }
  }
}
