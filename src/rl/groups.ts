// Sampling GRPO's groups: G completions for each prompt from the current policy,
// each scored by the rule rewards (or by a learned reward model, when one is given:
// the RLHF lesson), each given its group-relative advantage. Every completion also
// gets its gold score (src/tasks/preference.ts), which RLHF measures itself against.
//
// All prompts' groups go through the model together (one batched, left-padded,
// KV-cached generate call, src/sample/generate.ts), and the sampler hands back
// each token's log-probability at the sampling temperature: log π_old, which the
// ratio ρ = π_θ/π_old needs, without a second forward pass.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { decode, goldScore, type AnswerStyle, type Problem } from "../tasks/index.js";
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
  /** a learned reward to use instead of the rules (the rule scores are still recorded) */
  reward?: SequenceReward;
}

/** A learned reward: one score per (prompt, reply) token sequence. */
export type SequenceReward = (prompts: readonly number[][], replies: readonly number[][]) => Promise<number[]>;

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
  /** what the advantages came from: the rule reward, or the learned reward when one was given */
  rewards: number[];
  /** the hidden gold rule's score of each completion (src/tasks/preference.ts) */
  gold: number[];
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
  const rows = (i: number) => Array.from({ length: G }, (_, k) => i * G + k);
  const learned = o.reward ? await o.reward(prompts.flatMap((p) => Array.from({ length: G }, () => p)), gen.tokens) : null;
  return problems.map((problem, i) => {
    const completions = rows(i).map((r) => gen.tokens[r]!);
    const replies = completions.map((c) => decode(c));
    const scores = replies.map((reply) => ruleReward(reply, problem.question, problem.answer, o.weights, style));
    const rewards = learned ? rows(i).map((r) => learned[r]!) : scores.map((s) => s.reward);
    const { advantages, groups } = groupAdvantages(rewards, G, { scaleByStd: o.scaleByStd });
    return {
      problem, promptIds: prompts[i]!, completions,
      logprobs: rows(i).map((r) => gen.logprobs![r]!), entropies: rows(i).map((r) => gen.entropies![r]!),
      replies, scores, rewards, advantages, stats: groups[0]!,
      gold: replies.map((reply, k) => goldScore(reply, completions[k]!.length, problem.question, problem.answer, style)),
    };
  });
}
