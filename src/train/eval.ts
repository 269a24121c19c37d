// Scoring a model on problems it has never seen.
import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { BOS_ID, decode, encode, generateProblems, type Problem } from "../tasks/index.js";

/**
 * The base model answers held-out questions directly, the way the textbook
 * writes facts: "<question>=" and the number that follows, read up to the first
 * character that is not a digit or a minus sign. No chat template, no reasoning.
 */
export async function directAccuracy(model: GPT, problems: readonly Problem[], batchSize = 32): Promise<{ accuracy: number; correct: number; total: number }> {
  let correct = 0;
  // prompts of different lengths share a batch (generate left-pads them)
  for (let i = 0; i < problems.length; i += batchSize) {
    const batch = problems.slice(i, i + batchSize);
    const prompts = batch.map((p) => [BOS_ID, ...encode(`${p.question}=`)]);
    const { tokens } = await generate(model, prompts, {
      temperature: 0, topK: 0, topP: 1, maxNewTokens: 6, stopTokens: [], seed: 0,
    });
    batch.forEach((p, k) => {
      const m = /^-?\d+/.exec(decode(tokens[k]!));
      if (m && m[0] === p.answer) correct++;
    });
  }
  return { accuracy: problems.length ? correct / problems.length : 0, correct, total: problems.length };
}

/** level-1 held-out problems (two 2-digit numbers): what a base model can answer directly */
export function heldoutDirectProblems(count: number, seed = 1): Problem[] {
  return generateProblems({ split: "heldout", level: 1, count, seed });
}
