// Learning from comparisons: the Bradley–Terry loss of a reward model, and DPO.
//
// Bradley–Terry (InstructGPT's reward model). A rater saw two replies to one prompt
// and preferred y_w over y_l. Model the chance of that choice as
//
//   P(y_w ≻ y_l | x) = σ(r(x, y_w) − r(x, y_l)),      σ(z) = 1 / (1 + e^−z)
//
// and fit r by maximum likelihood: loss = −log σ(r_w − r_l), averaged over pairs.
// Only the difference of scores matters, so r is defined up to a constant.
// Gradient: ∂loss/∂r_w = −(1 − σ(r_w − r_l)) = −σ(r_l − r_w), ∂loss/∂r_l = +σ(r_l − r_w):
// push the winner up and the loser down, hardest where the model is most wrong.
//
// DPO (Rafailov et al. 2023). The same loss with no reward model: the policy's own
// log-ratio to a frozen reference plays the reward, r̂(x, y) = β·log π_θ(y|x)/π_ref(y|x):
//
//   L_DPO = −log σ( β·log π_θ(y_w)/π_ref(y_w) − β·log π_θ(y_l)/π_ref(y_l) )
//
// where log π(y|x) is the sum of the reply's token log-probabilities.

import type { GPT } from "../nn/gpt.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { tokenLogProbs } from "./grpo.js";
import { packRollouts } from "./rollout.js";

/**
 * −log σ(z) = log(1 + e^−z), elementwise, without overflow: with x = −z,
 * log(1 + e^min(x, 30)) + relu(x − 30). Past x = 30 the two differ by < 1e-13, and
 * the gradient is σ(x) everywhere (no kink at z = 0, where DPO starts: a |z|-based
 * form would give a zero subgradient exactly there).
 */
export function negLogSigmoid(engine: Engine, z: Tensor): Tensor {
  const e = engine;
  const x = e.neg(z);
  return e.add(e.log(e.affine(e.exp(e.clamp(x, -1e30, 30)), 1, 1)), e.relu(e.affine(x, 1, -30)));
}

/** The Bradley–Terry loss, mean over pairs of −log σ(r_w − r_l): rChosen and rRejected are [P]. */
export function bradleyTerryLoss(engine: Engine, rChosen: Tensor, rRejected: Tensor): Tensor {
  if (rChosen.shape.length !== 1 || rChosen.shape[0] !== rRejected.shape[0] || rRejected.shape.length !== 1) {
    throw new RangeError(`bradleyTerryLoss: scores must be two [P] vectors of one length, got [${rChosen.shape}] and [${rRejected.shape}]`);
  }
  return engine.meanAll(negLogSigmoid(engine, engine.sub(rChosen, rRejected)));
}

/** Sequence log-probabilities log π(y|x) = Σ_t log π(y_t | x, y_<t), each [P]. */
export interface DpoInputs {
  policyChosen: Tensor;
  policyRejected: Tensor;
  /** the frozen reference's (constants) */
  refChosen: Tensor;
  refRejected: Tensor;
}

/**
 * The DPO loss: Bradley–Terry on the implicit rewards β·(log π_θ − log π_ref).
 * Also returns those rewards (for logging the reward margin and accuracy).
 */
export function dpoLoss(engine: Engine, x: DpoInputs, beta: number): { loss: Tensor; chosenReward: Tensor; rejectedReward: Tensor } {
  if (!(beta > 0) || !Number.isFinite(beta)) throw new RangeError(`dpoLoss: beta must be a finite number > 0 (DPO's paper uses 0.1), got ${beta}`);
  for (const [name, t] of [["refChosen", x.refChosen], ["refRejected", x.refRejected]] as const) {
    if (t.requiresGrad) throw new Error(`dpoLoss: ${name} must be a constant (compute it under engine.noGrad)`);
  }
  const e = engine;
  const chosenReward = e.scale(e.sub(x.policyChosen, x.refChosen), beta);
  const rejectedReward = e.scale(e.sub(x.policyRejected, x.refRejected), beta);
  return { loss: bradleyTerryLoss(e, chosenReward, rejectedReward), chosenReward, rejectedReward };
}

/**
 * Per-sequence sums of per-token values: tokenValues, mask f32 [N]; seqIds i32 [N]
 * (the sequence of each position) → [S]. Positions with mask 0 add nothing.
 */
export function sumPerSequence(engine: Engine, tokenValues: Tensor, mask: Tensor, seqIds: Tensor, S: number): Tensor {
  const e = engine;
  const masked = e.reshape(e.mul(tokenValues, mask), [mask.size, 1]);
  return e.reshape(e.scatterAddRows(masked, seqIds, S), [S]);
}

/**
 * log π(reply | prompt) of each sequence: the sum of its reply tokens' log-probabilities
 * under `model`, at temperature 1 → [S]. On the tape unless called under noGrad.
 */
export function sequenceLogProbs(engine: Engine, model: GPT, prompts: readonly number[][], replies: readonly number[][]): Tensor {
  const e = engine;
  const packed = packRollouts(prompts, replies, prompts.map(() => 0));
  const ids = e.tensor(packed.ids, [packed.B, packed.T], "i32");
  const logp = tokenLogProbs(e, model.forward(ids), e.tensor(packed.targets, [packed.B * packed.T], "i32"));
  return sumPerSequence(e, logp, e.tensor(packed.mask, [packed.B * packed.T]), e.tensor(packed.seqIds, [packed.B * packed.T], "i32"), packed.B);
}

