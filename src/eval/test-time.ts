// Test-time compute, one problem at a time: every way of spending tokens at answer
// time that the Test-time compute lesson compares, measured on the same problem.
//
//   answer at once   the answer forced after an empty think block (no thought)
//   think            greedy, the model thinks as long as it likes
//   budget B         greedy, thought cut at B tokens (src/eval/budget.ts)
//   maj@k            k sampled replies, the majority answer (self-consistency)
//   pass@k           k sampled replies, right if any is (needs an oracle: a bound, not a strategy)
//
// measureProblem scores one problem every way; summarize folds many into accuracies
// and tokens per question, and computePoints puts every strategy on one axis:
// accuracy against tokens generated per question.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { ANSWER_CLOSE_ID, EOS_ID, decode, deriveSeed, parseAnswer, verify, type Problem } from "../tasks/index.js";
import { budgetForced } from "./budget.js";
import { gradeGreedy, promptIds } from "./evaluate.js";
import { majAtK, mean, passAtK } from "./metrics.js";

export interface Measured {
  correct: boolean;
  tokens: number;
}

export interface ProblemMeasure {
  level: number;
  expected: string;
  think: Measured;
  noThink: Measured;
  budgets: (Measured & { budget: number })[];
  samples: (Measured & { answer: string | null })[];
}

export interface MeasureOptions {
  budgets: readonly number[];
  /** sampled replies per problem (the largest k) */
  samples: number;
  temperature: number;
  topP: number;
  seed: number;
}

export async function measureProblem(model: GPT, problem: Problem, o: MeasureOptions): Promise<ProblemMeasure> {
  const [think] = await gradeGreedy(model, [problem], "think", 1);
  const [noThink] = await gradeGreedy(model, [problem], "no_think", 1);
  const budgets: ProblemMeasure["budgets"] = [];
  for (const budget of o.budgets) {
    const [r] = await budgetForced(model, [problem], budget, 1);
    budgets.push({ budget, correct: r!.correct, tokens: r!.ids.length });
  }
  const prompt = promptIds(problem.question, "think");
  const { tokens } = o.samples === 0 ? { tokens: [] as number[][] } : await generate(model, Array.from({ length: o.samples }, () => prompt), {
    temperature: o.temperature, topK: 0, topP: o.topP, maxNewTokens: 256, stopTokens: [EOS_ID, ANSWER_CLOSE_ID], seed: deriveSeed(o.seed, `tt/${problem.id}`),
  });
  const samples = tokens.map((t) => {
    const reply = decode(t);
    return { answer: parseAnswer(reply), correct: verify(reply, problem.answer).correct, tokens: t.length };
  });
  return {
    level: problem.level, expected: problem.answer,
    think: { correct: think!.correct, tokens: think!.tokens }, noThink: { correct: noThink!.correct, tokens: noThink!.tokens }, // forced prefix included, as budget B = 0 counts it
    budgets, samples,
  };
}

export interface TestTimeSummary {
  problems: number;
  think: number;
  no_think: number;
  think_tokens: number;
  no_think_tokens: number;
  budgets: { budget: number; accuracy: number; tokens: number }[];
  /** mean tokens of one sampled reply */
  sampled_tokens: number;
  pass_at_k: Record<string, number>;
  maj_at_k: Record<string, number>;
}

/** Accuracies and tokens per question over measured problems; ks must not exceed the samples taken. */
export function summarize(ms: readonly ProblemMeasure[], ks: readonly number[]): TestTimeSummary {
  const acc = (xs: readonly Measured[]) => mean(xs.map((x) => (x.correct ? 1 : 0)));
  const budgets = (ms[0]?.budgets ?? []).map((b, i) => ({
    budget: b.budget, accuracy: acc(ms.map((m) => m.budgets[i]!)), tokens: mean(ms.map((m) => m.budgets[i]!.tokens)),
  }));
  const pass: Record<string, number> = {};
  const maj: Record<string, number> = {};
  for (const k of ks) {
    pass[k] = mean(ms.map((m) => passAtK(m.samples.length, m.samples.filter((s) => s.correct).length, k)));
    maj[k] = mean(ms.map((m) => majAtK(m.samples.map((s) => s.answer), m.expected, k)));
  }
  return {
    problems: ms.length, think: acc(ms.map((m) => m.think)), no_think: acc(ms.map((m) => m.noThink)),
    think_tokens: mean(ms.map((m) => m.think.tokens)), no_think_tokens: mean(ms.map((m) => m.noThink.tokens)),
    budgets, sampled_tokens: mean(ms.flatMap((m) => m.samples.map((s) => s.tokens))), pass_at_k: pass, maj_at_k: maj,
  };
}

export interface ComputePoint {
  strategy: "answer at once" | "think" | "budget" | "majority vote";
  /** the budget B or the k of maj@k */
  knob?: number;
  /** tokens generated per question */
  tokens: number;
  accuracy: number;
}

/** Every strategy on one axis: accuracy against tokens generated per question. */
export function computePoints(s: TestTimeSummary): ComputePoint[] {
  return [
    { strategy: "answer at once", tokens: s.no_think_tokens, accuracy: s.no_think },
    ...s.budgets.map((b) => ({ strategy: "budget" as const, knob: b.budget, tokens: b.tokens, accuracy: b.accuracy })),
    { strategy: "think", tokens: s.think_tokens, accuracy: s.think },
    ...Object.entries(s.maj_at_k).map(([k, a]) => ({ strategy: "majority vote" as const, knob: Number(k), tokens: Number(k) * s.sampled_tokens, accuracy: a })),
  ];
}

/** The same summary from a recorded run of data/results/test-time.json (an `r1-lab eval --json --budget …` report's numbers). */
export function summaryFromReport(r: { metrics: Record<string, number>; budget?: { budget: number; accuracy: number; mean_tokens: number }[]; config: { ks: number[]; problemsPerLevel: number; levels: number[] } }): TestTimeSummary {
  const o = r.metrics;
  return {
    problems: r.config.problemsPerLevel * r.config.levels.length,
    think: o.heldout_accuracy!, no_think: o.heldout_accuracy_no_think!,
    think_tokens: o.mean_completion_tokens!, no_think_tokens: o.mean_completion_tokens_no_think!,
    budgets: (r.budget ?? []).map((b) => ({ budget: b.budget, accuracy: b.accuracy, tokens: b.mean_tokens })),
    sampled_tokens: o.mean_sampled_tokens!,
    pass_at_k: Object.fromEntries(r.config.ks.map((k) => [k, o[`pass_at_${k}`]!])),
    maj_at_k: Object.fromEntries(r.config.ks.map((k) => [k, o[`maj_at_${k}`]!])),
  };
}
