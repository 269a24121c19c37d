// A thinking budget ("budget forcing", as in s1, Muennighoff et al. 2025): let the
// model think for at most B tokens, then close the think block for it and make it
// answer. B = 0 is answering at once; a B longer than any thought the model writes
// changes nothing. Accuracy against B shows what each token of thought buys.
//
// Two batched, KV-cached generate calls (src/sample/generate.ts), greedy:
//   1. from the prompt, up to 1 + B tokens (the <think> tag, then B tokens of thought),
//      stopping early at </think> (the model closed it itself), or at <eos>/</answer>;
//   2. for every reply still open, the forced close "</think>\n<answer>" is appended
//      and the model writes the answer.
// The reply is then graded by the same verifier as every other evaluation.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import {
  ANSWER_CLOSE_ID, ANSWER_OPEN_ID, EOS_ID, THINK_CLOSE_ID, THINK_OPEN_ID, charId, decode, deriveSeed, verify, type Problem,
} from "../tasks/index.js";
import { evalProblems, promptIds } from "./evaluate.js";
import { mean } from "./metrics.js";

/** What is appended when the budget runs out: close the thought, open the answer. */
export const FORCED_CLOSE = [THINK_CLOSE_ID, charId("\n"), ANSWER_OPEN_ID];

export interface BudgetReply {
  /** the reply's token ids (forced tokens included) */
  ids: number[];
  reply: string;
  /** tokens between <think> and </think> */
  thinkTokens: number;
  /** the budget ran out and the close was forced */
  forced: boolean;
  correct: boolean;
  formatOk: boolean;
}

/** Tokens of thought in a reply: between its first <think> and the </think> after it (or the end). */
export function thinkingLength(ids: readonly number[]): number {
  const open = ids.indexOf(THINK_OPEN_ID);
  if (open < 0) return 0;
  const close = ids.indexOf(THINK_CLOSE_ID, open + 1);
  return (close < 0 ? ids.length : close) - open - 1;
}

/** Greedy replies to `problems` with at most `budget` tokens of thought each. */
export async function budgetForced(model: GPT, problems: readonly Problem[], budget: number, batchSize = 64, maxNewTokens = 256): Promise<BudgetReply[]> {
  if (!Number.isInteger(budget) || budget < 0) throw new RangeError(`thinking budget must be a whole number ≥ 0, got ${budget}`);
  const out: BudgetReply[] = [];
  for (let start = 0; start < problems.length; start += batchSize) {
    const batch = problems.slice(start, start + batchSize);
    const prompts = batch.map((p) => promptIds(p.question, "think"));
    const think = await generate(model, prompts, {
      temperature: 0, topK: 0, topP: 1, maxNewTokens: 1 + budget, stopTokens: [THINK_CLOSE_ID, EOS_ID, ANSWER_CLOSE_ID], seed: deriveSeed(1, `budget/${start}`),
    });
    // where each reply stands after the thinking phase
    const prefixes = think.tokens.map((t) => {
      const last = t[t.length - 1];
      if (last === EOS_ID || last === ANSWER_CLOSE_ID) return { ids: t, forced: false, finished: true };
      if (last === THINK_CLOSE_ID || t[0] !== THINK_OPEN_ID) return { ids: t, forced: false, finished: false }; // closed in time (or never opened)
      return { ids: [...t, ...FORCED_CLOSE], forced: true, finished: false };
    });
    const open = prefixes.flatMap((p, i) => (p.finished ? [] : [i]));
    const answers = open.length === 0 ? { tokens: [] as number[][] } : await generate(model, open.map((i) => [...prompts[i]!, ...prefixes[i]!.ids]), {
      temperature: 0, topK: 0, topP: 1, maxNewTokens, stopTokens: [EOS_ID, ANSWER_CLOSE_ID], seed: 0,
    });
    const rest = new Map(open.map((i, k) => [i, answers.tokens[k]!]));
    batch.forEach((p, i) => {
      const ids = [...prefixes[i]!.ids, ...(rest.get(i) ?? [])];
      const reply = decode(ids);
      out.push({ ids, reply, thinkTokens: thinkingLength(ids), forced: prefixes[i]!.forced, ...verify(reply, p.answer) });
    });
  }
  return out;
}

export interface BudgetPoint {
  budget: number;
  accuracy: number;
  /** tokens generated per question, forced tokens included */
  mean_tokens: number;
  mean_think_tokens: number;
  /** share of replies whose thought was cut at the budget */
  forced_rate: number;
  by_level: Record<string, number>;
}

/** Accuracy against the thinking budget, on the held-out problems evaluate() uses. */
export async function budgetSweep(
  model: GPT, c: { levels: number[]; problemsPerLevel: number; seed: number; budgets: number[]; batchSize: number; maxNewTokens: number },
  onProgress?: (done: number, total: number) => void,
): Promise<BudgetPoint[]> {
  const problems = c.levels.flatMap((level) => evalProblems({ split: "heldout", problemsPerLevel: c.problemsPerLevel, seed: c.seed }, level));
  const points: BudgetPoint[] = [];
  for (const [i, budget] of c.budgets.entries()) {
    const replies = await budgetForced(model, problems, budget, c.batchSize, c.maxNewTokens);
    const by_level: Record<string, number> = {};
    for (const level of c.levels) by_level[level] = round(mean(replies.filter((_, k) => problems[k]!.level === level).map((r) => (r.correct ? 1 : 0))));
    points.push({
      budget, accuracy: round(mean(replies.map((r) => (r.correct ? 1 : 0)))), mean_tokens: round(mean(replies.map((r) => r.ids.length))),
      mean_think_tokens: round(mean(replies.map((r) => r.thinkTokens))), forced_rate: round(mean(replies.map((r) => (r.forced ? 1 : 0)))), by_level,
    });
    onProgress?.(i + 1, c.budgets.length);
  }
  return points;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
