// Preference data for the RLHF lesson: two replies to one prompt, sampled from the
// SFT model, and which one the (hidden, rule-based) rater prefers.
//
// For every prompt the model writes two replies at temperature 1; the gold rule
// (src/tasks/preference.ts) scores both; a tie is dropped; a share `noise` of the
// labels is flipped, as human raters disagree. Training pairs come from the train
// split, held-out pairs from the held-out split, so the reward model is scored on
// questions it never saw.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { styledPromptIds } from "../eval/styled.js";
import { CHAT, decode, deriveSeed, generateProblems, goldScore, labelPairs, mulberry32, shuffleInPlace, type Problem, type Split } from "../tasks/index.js";

export interface PairsConfig {
  levels: number[];
  trainPromptsPerLevel: number;
  heldoutPromptsPerLevel: number;
  maxNewTokens: number;
  /** share of labels flipped (0 = a perfectly consistent rater) */
  noise: number;
  /** prompts per generate call */
  batchSize: number;
}

/** One labelled comparison. Token ids are the reply's (prompt excluded, stop token included). */
export interface PreferencePair {
  question: string;
  answer: string;
  level: number;
  chosen: number[];
  rejected: number[];
  chosenText: string;
  rejectedText: string;
  goldChosen: number;
  goldRejected: number;
  /** the noisy rater flipped this label: chosen is the gold loser */
  flipped: boolean;
}

export interface PreferenceData {
  train: PreferencePair[];
  heldout: PreferencePair[];
  /** candidate pairs before ties were dropped */
  sampled: { train: number; heldout: number };
}

export function validatePairsConfig(c: PairsConfig): void {
  for (const k of ["trainPromptsPerLevel", "heldoutPromptsPerLevel", "maxNewTokens", "batchSize"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`pairs: ${k} must be an integer ≥ 1, got ${c[k]}`);
  }
  if (!(c.noise >= 0 && c.noise <= 0.5)) throw new RangeError(`pairs: noise must be in [0, 0.5], got ${c.noise}`);
  if (c.levels.length === 0) throw new RangeError("pairs: no levels");
}

/** The prompt's token ids, as every stage of the lesson puts it (the chat template). */
export function pairPromptIds(pair: Pick<PreferencePair, "question">): number[] {
  return styledPromptIds(pair.question, CHAT);
}

export async function samplePreferencePairs(model: GPT, c: PairsConfig, seed: number, onBatch?: (done: number, total: number) => void): Promise<PreferenceData> {
  validatePairsConfig(c);
  const problems = (split: Split, perLevel: number) =>
    c.levels.flatMap((level) => generateProblems({ split, level, count: perLevel, seed: deriveSeed(seed, `pairs/${split}`) }));
  const train = problems("train", c.trainPromptsPerLevel);
  const heldout = problems("heldout", c.heldoutPromptsPerLevel);
  const total = train.length + heldout.length;
  let done = 0;
  const label = async (list: Problem[], split: Split) => {
    const candidates: { a: Reply; b: Reply; goldA: number; goldB: number }[] = [];
    for (let start = 0; start < list.length; start += c.batchSize) {
      const batch = list.slice(start, start + c.batchSize);
      const gen = await generate(model, batch.flatMap((p) => [styledPromptIds(p.question, CHAT), styledPromptIds(p.question, CHAT)]), {
        temperature: 1, topK: 0, topP: 1, maxNewTokens: c.maxNewTokens, stopTokens: CHAT.stopTokens,
        seed: deriveSeed(seed, `pairs/${split}/${start}`),
      });
      batch.forEach((p, i) => {
        const [a, b] = [0, 1].map((k) => {
          const tokens = gen.tokens[2 * i + k]!;
          const text = decode(tokens);
          return { problem: p, tokens, text, gold: goldScore(text, tokens.length, p.question, p.answer) };
        }) as [Reply, Reply];
        candidates.push({ a, b, goldA: a.gold, goldB: b.gold });
      });
      done += batch.length;
      onBatch?.(done, total);
    }
    const pairs = labelPairs(candidates, c.noise, deriveSeed(seed, `pairs/noise/${split}`)).map(({ chosen, rejected, flipped }) => ({
      question: chosen.problem.question, answer: chosen.problem.answer, level: chosen.problem.level,
      chosen: chosen.tokens, rejected: rejected.tokens, chosenText: chosen.text, rejectedText: rejected.text,
      goldChosen: chosen.gold, goldRejected: rejected.gold, flipped,
    }));
    return { pairs, sampled: candidates.length };
  };
  const t = await label(train, "train");
  const h = await label(heldout, "heldout");
  return { train: t.pairs, heldout: h.pairs, sampled: { train: t.sampled, heldout: h.sampled } };
}

interface Reply {
  problem: Problem;
  tokens: number[];
  text: string;
  gold: number;
}

/**
 * The pairs of training step `step` (the reward model's and DPO's): epochs over the pairs,
 * each epoch in its own seeded order, so the same seed and step give the same batch, also
 * after a resume. Shuffling a few thousand indices per step costs nothing next to the step.
 */
export function pairBatchAt(pairs: readonly PreferencePair[], batchSize: number, seed: number, step: number): PreferencePair[] {
  const perEpoch = Math.floor(pairs.length / batchSize);
  const epoch = Math.floor(step / perEpoch);
  const order = shuffleInPlace(mulberry32(seed * 1000 + epoch), pairs.map((_, i) => i));
  const at = (step % perEpoch) * batchSize;
  return order.slice(at, at + batchSize).map((i) => pairs[i]!);
}
