// What each stage of the recipe cost, in floating-point operations.
//
// A forward pass costs GPT.flopsPerToken(T) per token at context T (2 per multiply-add,
// attention included). Training a token costs three of those (the backward pass is about
// twice the forward). Sampling a token with a KV cache costs about one. So:
//
//   pretrain, SFT, distillation   3 · Σ_batches B·T · flopsPerToken(T)   (padded batches, exact)
//   token-level KD                + 1 teacher forward per trained token
//   rejection sampling            Σ_samples (prompt + reply) · flopsPerToken(context)
//   GRPO, per step                sampling: the groups' prompt + reply tokens, one forward each;
//                                 update: the kept groups' tokens, μ·3 (policy) + 1 (reference)
//
// GRPO's count is estimated from its metrics.jsonl (mean reply length per step, the
// prompts' mean length), not from the padded batches; the periodic and final
// evaluations are left out of every stage.

import type { GPT } from "../nn/gpt.js";
import { styledPromptIds } from "../eval/styled.js";
import { CHAT, deriveSeed, generateProblems } from "../tasks/index.js";

export const PASSES_PER_TRAINED_TOKEN = 3;

export interface StageCost {
  /** tokens the stage processed (trained on, or sampled) */
  tokens: number;
  flops: number;
}

/** Training on padded batches of shape B × T. */
export function batchesCost(model: GPT, shapes: readonly { B: number; T: number }[]): StageCost {
  let tokens = 0;
  let flops = 0;
  for (const { B, T } of shapes) {
    tokens += B * T;
    flops += PASSES_PER_TRAINED_TOKEN * B * T * model.flopsPerToken(T);
  }
  return { tokens, flops };
}

/** Pretraining: `steps` batches of B windows of seqLen tokens. */
export function pretrainCost(model: GPT, steps: number, B: number, seqLen: number): StageCost {
  return batchesCost(model, Array.from({ length: steps }, () => ({ B, T: seqLen })));
}

/** One line of a GRPO run's metrics.jsonl, the fields the count needs. */
export interface GrpoStepCounts {
  groups_sampled: number;
  groups_kept: number;
  "completions/mean_length": number;
}

/** The mean length of the chat prompt ([BOS, "User: q. Assistant: "]) over training problems of these levels. */
export function meanPromptTokens(levels: readonly number[], perLevel = 50): number {
  const lengths = levels.flatMap((level) =>
    generateProblems({ split: "train", level, count: perLevel, seed: deriveSeed(1, "flops") }).map((p) => styledPromptIds(p.question, CHAT).length));
  return lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length);
}

/** GRPO from its per-step records (see the header: an estimate). */
export function grpoCost(model: GPT, steps: readonly GrpoStepCounts[], groupSize: number, updatesPerBatch: number, promptTokens: number): StageCost & { sampling_flops: number; update_flops: number } {
  let tokens = 0;
  let sampling = 0;
  let update = 0;
  for (const s of steps) {
    const perSequence = promptTokens + s["completions/mean_length"];
    const fpt = model.flopsPerToken(Math.min(model.config.maxSeqLen, Math.round(perSequence)));
    const sampled = s.groups_sampled * groupSize * perSequence;
    const trained = s.groups_kept * groupSize * perSequence;
    tokens += sampled + updatesPerBatch * trained;
    sampling += sampled * fpt;
    update += trained * fpt * (PASSES_PER_TRAINED_TOKEN * updatesPerBatch + 1);
  }
  return { tokens: Math.round(tokens), flops: sampling + update, sampling_flops: sampling, update_flops: update };
}
