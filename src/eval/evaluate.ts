// The evaluation harness: one way to score a model, for every stage.
//
// For each difficulty level it draws the same held-out problems (seeded), then
//   1. greedy, with thinking      → heldout_accuracy, format_rate, mean_completion_tokens
//   2. greedy, without thinking   → heldout_accuracy_no_think: the prompt is followed
//      by a forced "<think></think>\n<answer>", so the model must answer at once
//   3. n = max(k) samples per problem at the given temperature and top-p, in both
//      modes → pass@k (unbiased) and maj@k (majority vote) for every k asked for
// All generation is batched and KV-cached (src/sample/generate.ts, left padding),
// on whatever engine the model lives on.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import {
  ANSWER_CLOSE_ID, ANSWER_OPEN_ID, BOS_ID, EOS_ID, THINK_CLOSE_ID, THINK_OPEN_ID,
  charId, decode, deriveSeed, encode, formatPrompt, generateProblems, parseAnswer, verify,
  type Problem, type Split,
} from "../tasks/index.js";
import { majAtK, mean, passAtK } from "./metrics.js";

export const MODES = ["think", "no_think"] as const;
export type Mode = (typeof MODES)[number];

export interface EvalConfig {
  levels: number[];
  problemsPerLevel: number;
  /** the k of pass@k and maj@k; max(ks) samples are drawn per problem */
  ks: number[];
  temperature: number;
  topP: number;
  seed: number;
  split: Split;
  /** sequences generated at once */
  batchSize: number;
  /** cap on new tokens (also capped by the model's context) */
  maxNewTokens: number;
}

/** Sampling as R1 evaluates (temperature 0.6, top-p 0.95; see the fact sheet); 50 held-out problems per level. */
export const DEFAULT_EVAL_CONFIG: EvalConfig = {
  levels: [1, 2, 3, 4, 5], problemsPerLevel: 50, ks: [1, 4, 16], temperature: 0.6, topP: 0.95,
  seed: 1, split: "heldout", batchSize: 64, maxNewTokens: 256,
};

/** What the model writes after the prompt when it may not think (the forced prefix). */
export const NO_THINK_PREFIX = [THINK_OPEN_ID, THINK_CLOSE_ID, charId("\n"), ANSWER_OPEN_ID];

/** One graded completion. `completion` includes the forced prefix in no_think mode. */
export interface Graded {
  question: string;
  expected: string;
  completion: string;
  /** tokens the completion took, forced prefix included */
  tokens: number;
  answer: string | null;
  correct: boolean;
  formatOk: boolean;
}

export interface ModeScores {
  /** greedy accuracy */
  accuracy: number;
  /** greedy completions in the think/answer format */
  format_rate: number;
  /** sampled completions in the format */
  format_rate_sampled: number;
  mean_completion_tokens: number;
  /** tokens per sampled completion: the cost of each of the k samples behind pass@k and maj@k */
  mean_sampled_tokens: number;
  pass_at_k: Record<string, number>;
  maj_at_k: Record<string, number>;
  /** the greedy completions, one per problem (for viewers and reports) */
  greedy: Graded[];
}

export interface LevelScores {
  level: number;
  problems: number;
  think: ModeScores;
  no_think: ModeScores;
}

export interface EvalReport {
  config: EvalConfig;
  levels: LevelScores[];
  /** flat numbers, averaged over levels (equal problems per level) */
  overall: Record<string, number>;
}

export function validateEvalConfig(c: EvalConfig): void {
  if (c.levels.length === 0) throw new Error("eval: no levels");
  if (c.ks.length === 0 || c.ks.some((k) => !Number.isInteger(k) || k < 1)) throw new Error(`eval: k must be whole numbers ≥ 1, got ${c.ks.join(",")}`);
  if (!Number.isInteger(c.problemsPerLevel) || c.problemsPerLevel < 1) throw new Error(`eval: problemsPerLevel must be ≥ 1`);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw new Error(`eval: batchSize must be ≥ 1`);
}

/** The problems an evaluation uses: the same for the same (split, level, count, seed). */
export function evalProblems(c: Pick<EvalConfig, "split" | "problemsPerLevel" | "seed">, level: number): Problem[] {
  return generateProblems({ split: c.split, level, count: c.problemsPerLevel, seed: deriveSeed(c.seed, "eval") });
}

/** The prompt's token ids in a mode: [BOS, "User: q. Assistant: "] (+ the forced prefix). */
export function promptIds(question: string, mode: Mode): number[] {
  return [BOS_ID, ...encode(formatPrompt(question)), ...(mode === "no_think" ? NO_THINK_PREFIX : [])];
}

interface Request {
  problem: Problem;
  mode: Mode;
}

/** Generates and grades `requests` in batches; `label` seeds each batch's sampler. */
async function complete(
  model: GPT, requests: readonly Request[], c: EvalConfig, temperature: number, label: string,
  onBatch: (n: number) => void,
): Promise<Graded[]> {
  const graded: Graded[] = [];
  for (let start = 0; start < requests.length; start += c.batchSize) {
    const batch = requests.slice(start, start + c.batchSize);
    const prompts = batch.map((r) => promptIds(r.problem.question, r.mode));
    const { tokens } = await generate(model, prompts, {
      temperature, topK: 0, topP: c.topP, maxNewTokens: c.maxNewTokens,
      stopTokens: [EOS_ID, ANSWER_CLOSE_ID], seed: deriveSeed(c.seed, `${label}/${start}`),
    });
    batch.forEach((r, i) => {
      const forced = r.mode === "no_think" ? NO_THINK_PREFIX : [];
      const completion = decode([...forced, ...tokens[i]!]);
      const verdict = verify(completion, r.problem.answer);
      graded.push({
        question: r.problem.question, expected: r.problem.answer, completion,
        tokens: forced.length + tokens[i]!.length, answer: parseAnswer(completion), ...verdict,
      });
    });
    onBatch(batch.length);
  }
  return graded;
}

/** Greedy completions of `problems`, graded (what training loops check every few steps). */
export function gradeGreedy(model: GPT, problems: readonly Problem[], mode: Mode, batchSize = 64, maxNewTokens = 256): Promise<Graded[]> {
  const config = { ...DEFAULT_EVAL_CONFIG, batchSize, maxNewTokens };
  return complete(model, problems.map((problem) => ({ problem, mode })), config, 0, `greedy/${mode}`, () => {});
}

/** Scores one model on every level; onProgress(done, total) counts generated sequences. */
export async function evaluate(model: GPT, config: EvalConfig, onProgress?: (done: number, total: number) => void): Promise<EvalReport> {
  validateEvalConfig(config);
  const n = Math.max(...config.ks);
  const total = config.levels.length * config.problemsPerLevel * MODES.length * (1 + n);
  let done = 0;
  const tick = (k: number): void => {
    done += k;
    onProgress?.(done, total);
  };
  const levels: LevelScores[] = [];
  for (const level of config.levels) {
    const problems = evalProblems(config, level);
    const scores = {} as Record<Mode, ModeScores>;
    for (const mode of MODES) {
      const greedy = await complete(model, problems.map((problem) => ({ problem, mode })), config, 0, `L${level}/${mode}/greedy`, tick);
      // n samples of each problem, side by side in the batch
      const requests = problems.flatMap((problem) => Array.from({ length: n }, () => ({ problem, mode })));
      const sampled = await complete(model, requests, config, config.temperature, `L${level}/${mode}/sampled`, tick);
      const pass: Record<string, number> = {};
      const maj: Record<string, number> = {};
      for (const k of config.ks) {
        const perProblem = problems.map((_, i) => sampled.slice(i * n, (i + 1) * n));
        pass[k] = mean(perProblem.map((s) => passAtK(n, s.filter((g) => g.correct).length, k)));
        maj[k] = mean(perProblem.map((s, i) => majAtK(s.map((g) => g.answer), problems[i]!.answer, k)));
      }
      scores[mode] = {
        accuracy: mean(greedy.map((g) => (g.correct ? 1 : 0))),
        format_rate: mean(greedy.map((g) => (g.formatOk ? 1 : 0))),
        format_rate_sampled: mean(sampled.map((g) => (g.formatOk ? 1 : 0))),
        mean_completion_tokens: mean(greedy.map((g) => g.tokens)),
        mean_sampled_tokens: mean(sampled.map((g) => g.tokens)),
        pass_at_k: pass, maj_at_k: maj, greedy,
      };
    }
    levels.push({ level, problems: problems.length, think: scores.think, no_think: scores.no_think });
  }
  return { config, levels, overall: flatMetrics(levels, config.ks) };
}

/**
 * The flat numbers a run's summary.json carries: heldout_accuracy (greedy, with
 * thinking), heldout_accuracy_no_think, format_rate, mean_completion_tokens,
 * pass_at_K / maj_at_K (with thinking; _no_think too), and each of these per level
 * as heldout_accuracy_L3 etc.
 */
export function flatMetrics(levels: readonly LevelScores[], ks: readonly number[]): Record<string, number> {
  const avg = (f: (l: LevelScores) => number): number => round(mean(levels.map(f)));
  const out: Record<string, number> = {
    heldout_accuracy: avg((l) => l.think.accuracy),
    heldout_accuracy_no_think: avg((l) => l.no_think.accuracy),
    format_rate: avg((l) => l.think.format_rate),
    format_rate_sampled: avg((l) => l.think.format_rate_sampled),
    mean_completion_tokens: avg((l) => l.think.mean_completion_tokens),
    mean_completion_tokens_no_think: avg((l) => l.no_think.mean_completion_tokens),
    mean_sampled_tokens: avg((l) => l.think.mean_sampled_tokens),
  };
  for (const k of ks) {
    out[`pass_at_${k}`] = avg((l) => l.think.pass_at_k[k]!);
    out[`maj_at_${k}`] = avg((l) => l.think.maj_at_k[k]!);
    out[`pass_at_${k}_no_think`] = avg((l) => l.no_think.pass_at_k[k]!);
    out[`maj_at_${k}_no_think`] = avg((l) => l.no_think.maj_at_k[k]!);
  }
  for (const l of levels) {
    out[`heldout_accuracy_L${l.level}`] = round(l.think.accuracy);
    out[`heldout_accuracy_no_think_L${l.level}`] = round(l.no_think.accuracy);
    out[`format_rate_L${l.level}`] = round(l.think.format_rate);
    for (const k of ks) if (k > 1) out[`maj_at_${k}_L${l.level}`] = round(l.think.maj_at_k[k]!);
    for (const k of ks) out[`pass_at_${k}_L${l.level}`] = round(l.think.pass_at_k[k]!);
  }
  return out;
}

/** metrics are rounded so re-runs compare equal despite float noise in the last digits */
function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** The report without the greedy completions: what `r1-lab eval --json` prints. */
export function reportWithoutSamples(r: EvalReport): unknown {
  return {
    config: r.config,
    overall: r.overall,
    levels: r.levels.map((l) => ({
      level: l.level, problems: l.problems,
      think: { ...l.think, greedy: undefined },
      no_think: { ...l.no_think, greedy: undefined },
    })),
  };
}
