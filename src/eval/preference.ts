// What the RLHF lesson measures about a policy, on held-out prompts:
//   gold_reward   mean gold score (src/tasks/preference.ts) of its sampled replies:
//                 what the hidden rater really thinks
//   proxy_reward  mean score the learned reward model gives the same replies
//   kl            KL(π ‖ π_ref) per reply, in nats: the mean over sampled replies of
//                 Σ_t log π(y_t)/π_ref(y_t), the unbiased estimate of the sequence-level
//                 KL that Gao et al. (2022) plot gold and proxy reward against
// Replies are sampled at temperature 1 (the distribution RL optimised), seeded.

import { mean } from "./metrics.js";
import type { GPT } from "../nn/gpt.js";
import type { SequenceReward } from "../rl/groups.js";
import { sequenceLogProbs } from "../rl/preference.js";
import { generate } from "../sample/generate.js";
import { CHAT, decode, deriveSeed, goldScore, type Problem } from "../tasks/index.js";
import { styledPromptIds } from "./styled.js";

export interface PolicyReportOptions {
  samples: number;
  maxNewTokens: number;
  seed: number;
  /** sequences per generate call */
  batchSize: number;
}

export interface PolicyReport {
  gold_reward: number;
  /** null without a reward model */
  proxy_reward: number | null;
  kl: number;
  accuracy: number;
  mean_completion_tokens: number;
}

export async function policyReport(policy: GPT, reference: GPT, problems: readonly Problem[], o: PolicyReportOptions, proxy?: SequenceReward): Promise<PolicyReport> {
  const e = policy.engine;
  const requests = problems.flatMap((p) => Array.from({ length: o.samples }, () => p));
  const gold: number[] = [];
  const proxyScores: number[] = [];
  const kl: number[] = [];
  const correct: number[] = [];
  const lengths: number[] = [];
  for (let at = 0; at < requests.length; at += o.batchSize) {
    const batch = requests.slice(at, at + o.batchSize);
    const prompts = batch.map((p) => styledPromptIds(p.question, CHAT));
    const gen = await generate(policy, prompts, {
      temperature: 1, topK: 0, topP: 1, maxNewTokens: o.maxNewTokens, stopTokens: CHAT.stopTokens,
      seed: deriveSeed(o.seed, `policy-report/${at}`), logprobs: true,
    });
    const ref = e.scope(() => e.noGrad(() => sequenceLogProbs(e, reference, prompts, gen.tokens)));
    const refLogp = await ref.data();
    ref.dispose();
    batch.forEach((p, i) => {
      const tokens = gen.tokens[i]!;
      const reply = decode(tokens);
      gold.push(goldScore(reply, tokens.length, p.question, p.answer));
      correct.push(CHAT.answer(reply, p.question) === p.answer ? 1 : 0);
      lengths.push(tokens.length);
      kl.push(gen.logprobs![i]!.reduce((a, b) => a + b, 0) - refLogp[i]!);
    });
    if (proxy) proxyScores.push(...(await proxy(prompts, gen.tokens)));
  }
  return {
    gold_reward: mean(gold), proxy_reward: proxy ? mean(proxyScores) : null, kl: mean(kl),
    accuracy: mean(correct), mean_completion_tokens: mean(lengths),
  };
}


/**
 * The gold reward a run had when its KL from the start first reached `kl`, read off
 * its measured curve of (KL, gold) points in step order by linear interpolation
 * between the two measurements either side; null when the run never got that far.
 * This is how two runs are compared "at the same KL".
 */
export function goldAtKl(curve: readonly (readonly [number, number])[], kl: number): number | null {
  for (let i = 0; i < curve.length; i++) {
    const [k, g] = curve[i]!;
    if (k === kl) return g;
    if (i > 0 && k > kl) {
      const [k0, g0] = curve[i - 1]!;
      if (k0 <= kl) return g0 + ((kl - k0) / (k - k0)) * (g - g0);
    }
  }
  return null;
}
