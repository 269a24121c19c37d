// Sampling GRPO's groups: G completions for each prompt from the current policy,
// each scored by the rule rewards, each given its group-relative advantage.
//
// All prompts' groups go through the model together (one batched, left-padded,
// KV-cached generate call, src/sample/generate.ts), and the sampler hands back
// each token's log-probability at the sampling temperature: log π_old, which the
// ratio ρ = π_θ/π_old needs, without a second forward pass.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { decode, type AnswerStyle, type Problem } from "../tasks/index.js";
import { ruleReward, type RewardWeights, type Scored } from "../tasks/rewards.js";
import { styledPromptIds } from "../eval/styled.js";
import { groupAdvantages, type GroupStats } from "./grpo.js";

export interface GroupSampling {
  groupSize: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
  weights: RewardWeights;
  /** Â = (r − mean)/std (GRPO) or r − mean (Dr. GRPO) */
  scaleByStd: boolean;
}

/** One prompt's group: what the group viewer shows, and what the update trains on. */
export interface SampledGroup {
  problem: Problem;
  promptIds: number[];
  /** G completions' token ids (the stop token included) */
  completions: number[][];
  /** log π_old of each completion token, at the sampling temperature */
  logprobs: number[][];
  /** entropy of the distribution each token was drawn from */
  entropies: number[][];
  replies: string[];
  scores: Scored[];
  rewards: number[];
  advantages: number[];
  stats: GroupStats;
}

export async function sampleGroups(model: GPT, problems: readonly Problem[], style: AnswerStyle, o: GroupSampling): Promise<SampledGroup[]> {
  const G = o.groupSize;
  const prompts = problems.map((p) => styledPromptIds(p.question, style));
  const gen = await generate(model, prompts.flatMap((p) => Array.from({ length: G }, () => p)), {
    temperature: o.temperature, topK: 0, topP: o.topP, maxNewTokens: o.maxNewTokens,
    stopTokens: style.stopTokens, seed: o.seed, logprobs: true,
  });
  return problems.map((problem, i) => {
    const rows = Array.from({ length: G }, (_, k) => i * G + k);
    const completions = rows.map((r) => gen.tokens[r]!);
    const replies = completions.map((c) => decode(c));
    const scores = replies.map((reply) => ruleReward(reply, problem.question, problem.answer, o.weights, style));
    const rewards = scores.map((s) => s.reward);
    const { advantages, groups } = groupAdvantages(rewards, G, { scaleByStd: o.scaleByStd });
    return {
      problem, promptIds: prompts[i]!, completions,
      logprobs: rows.map((r) => gen.logprobs![r]!), entropies: rows.map((r) => gen.entropies![r]!),
      replies, scores, rewards, advantages, stats: groups[0]!,
    };
  });
}
