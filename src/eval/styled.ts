// Scoring a model in either answer style (src/tasks/styles.ts): greedy accuracy,
// and pass@k from n samples per problem. The chat-only harness in evaluate.ts also
// measures the no-thinking mode; this one is what the GRPO lesson compares before
// and after, for R1 (chat) and R1-Zero (textbook) alike.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { BOS_ID, decode, deriveSeed, encode, type AnswerStyle, type Problem } from "../tasks/index.js";
import { ruleReward } from "../tasks/rewards.js";
import { evalProblems } from "./evaluate.js";
import { mean, passAtK } from "./metrics.js";

export interface StyledSampling {
  /** completions per problem */
  samples: number;
  /** 0 = greedy */
  temperature: number;
  topP: number;
  seed: number;
  /** sequences generated at once */
  batchSize: number;
  maxNewTokens: number;
}

export interface StyledGraded {
  reply: string;
  tokens: number;
  correct: boolean;
  formatOk: boolean;
}

/** The prompt's token ids in a style: BOS, then the style's prompt text. */
export function styledPromptIds(question: string, style: AnswerStyle): number[] {
  return [BOS_ID, ...encode(style.prompt(question))];
}

/** `samples` graded completions for each problem (outer index: problem). */
export async function sampleGraded(
  model: GPT, problems: readonly Problem[], style: AnswerStyle, s: StyledSampling, onBatch?: (done: number, total: number) => void,
): Promise<StyledGraded[][]> {
  const requests = problems.flatMap((problem) => Array.from({ length: s.samples }, () => problem));
  const flat: StyledGraded[] = [];
  for (let start = 0; start < requests.length; start += s.batchSize) {
    const batch = requests.slice(start, start + s.batchSize);
    const { tokens } = await generate(model, batch.map((p) => styledPromptIds(p.question, style)), {
      temperature: s.temperature, topK: 0, topP: s.topP, maxNewTokens: s.maxNewTokens,
      stopTokens: style.stopTokens, seed: deriveSeed(s.seed, `styled/${start}`),
    });
    batch.forEach((p, i) => {
      const reply = decode(tokens[i]!);
      const { correct, formatOk } = ruleReward(reply, p.question, p.answer, undefined, style);
      flat.push({ reply, tokens: tokens[i]!.length, correct, formatOk });
    });
    onBatch?.(flat.length, requests.length);
  }
  return problems.map((_, i) => flat.slice(i * s.samples, (i + 1) * s.samples));
}

/** pass@k for each k (unbiased estimator, n = samples per problem), averaged over problems. */
export function passAtKCurve(perProblem: readonly StyledGraded[][], ks: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ks) {
    out[k] = mean(perProblem.map((s) => passAtK(s.length, s.filter((g) => g.correct).length, k)));
  }
  return out;
}

export interface GreedyScores {
  accuracy: number;
  format_rate: number;
  mean_completion_tokens: number;
}

/** Greedy accuracy, format rate and reply length over problems. */
export function greedyScores(perProblem: readonly StyledGraded[][]): GreedyScores {
  const first = perProblem.map((s) => s[0]!);
  return {
    accuracy: mean(first.map((g) => (g.correct ? 1 : 0))),
    format_rate: mean(first.map((g) => (g.formatOk ? 1 : 0))),
    mean_completion_tokens: mean(first.map((g) => g.tokens)),
  };
}

export interface StyledEvalConfig {
  levels: number[];
  /** held-out problems per level for greedy accuracy */
  problemsPerLevel: number;
  /** held-out problems per level for pass@k (the first of those above), each sampled max(ks) times */
  passAtKProblemsPerLevel: number;
  ks: number[];
  temperature: number;
  topP: number;
  seed: number;
  batchSize: number;
  maxNewTokens: number;
}

/**
 * Flat numbers for summary.json: heldout_accuracy, format_rate, mean_completion_tokens
 * (greedy), each per level too (heldout_accuracy_L3), and pass_at_K for every k.
 * onProgress(done, total) counts generated sequences.
 */
export async function evaluateStyled(
  model: GPT, style: AnswerStyle, c: StyledEvalConfig, onProgress?: (done: number, total: number) => void,
): Promise<Record<string, number>> {
  const n = Math.max(...c.ks);
  const total = c.levels.length * (c.problemsPerLevel + c.passAtKProblemsPerLevel * n);
  let done = 0;
  const tick = (d: number) => onProgress?.(done + d, total);
  const out: Record<string, number> = {};
  const greedyAll: StyledGraded[][] = [];
  const sampledAll: StyledGraded[][] = [];
  for (const level of c.levels) {
    const problems = evalProblems({ split: "heldout", problemsPerLevel: c.problemsPerLevel, seed: c.seed }, level);
    const greedy = await sampleGraded(model, problems, style, { ...c, samples: 1, temperature: 0, topP: 1 }, tick);
    done += problems.length;
    const sampled = await sampleGraded(model, problems.slice(0, c.passAtKProblemsPerLevel), style, { ...c, samples: n, seed: deriveSeed(c.seed, `L${level}`) }, tick);
    done += sampled.length * n;
    const g = greedyScores(greedy);
    out[`heldout_accuracy_L${level}`] = round(g.accuracy);
    out[`format_rate_L${level}`] = round(g.format_rate);
    for (const [k, v] of Object.entries(passAtKCurve(sampled, c.ks))) out[`pass_at_${k}_L${level}`] = round(v);
    greedyAll.push(...greedy);
    sampledAll.push(...sampled);
  }
  const g = greedyScores(greedyAll);
  out.heldout_accuracy = round(g.accuracy);
  out.format_rate = round(g.format_rate);
  out.mean_completion_tokens = round(g.mean_completion_tokens);
  for (const [k, v] of Object.entries(passAtKCurve(sampledAll, c.ks))) out[`pass_at_${k}`] = round(v);
  return out;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
