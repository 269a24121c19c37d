// Rejection sampling (DeepSeek-R1 §2.3.3, "stage 3"): a trained model writes its own
// training data. For each training prompt the teacher samples n replies at a set
// temperature; a reply is kept only when the rule verifier says it is right AND it
// has R1's shape, optionally only when it is short enough (R1 filtered out long
// paragraphs and mixed languages). R1 kept about 600k reasoning samples this way
// and fine-tuned on them; the smaller R1-Distill models were trained on the same data.
//
// Each sample gets one verdict, the first rule it fails:
//
//   malformed   not "<think>…</think> <answer>…</answer>" (the format rule)
//   wrong       well formed, but the answer is not the right integer
//   too_long    right, but longer than maxCompletionTokens
//   duplicate   right, but the same text as a reply kept earlier for this prompt
//   kept        goes into the dataset
//
// The acceptance rate of a level is (kept + duplicate) / sampled: the share of samples
// the verifier passed. The dataset holds one line per kept reply, with the same fields
// as the cold-start traces (data/traces/*.jsonl), so SFT reads it with the same code.

import type { GPT } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { styledPromptIds } from "../eval/styled.js";
import { CHAT, SPECIAL_TOKENS, checkTrace, decode, deriveSeed, generateProblems, type Problem, type Trace } from "../tasks/index.js";
import { ruleReward } from "../tasks/rewards.js";

export interface RejectionConfig {
  levels: number[];
  /** training prompts per level */
  promptsPerLevel: number;
  /** n: replies sampled per prompt */
  samplesPerPrompt: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  /** keep only replies of at most this many tokens (0: no length filter) */
  maxCompletionTokens: number;
  /** keep one copy of each distinct correct reply per prompt */
  dedupe: boolean;
  /** seed of the prompts and of the sampler */
  seed: number;
  /** sequences generated at once */
  batchSize: number;
}

export const VERDICTS = ["kept", "duplicate", "too_long", "wrong", "malformed"] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One sampled reply and what the filter made of it. */
export interface JudgedSample {
  problem: Problem;
  /** the reply's text, the stop token's <eos> text removed */
  completion: string;
  tokens: number;
  verdict: Verdict;
}

export interface LevelAcceptance {
  sampled: number;
  kept: number;
  /** (kept + duplicate) / sampled: what the verifier passed */
  acceptance_rate: number;
  malformed: number;
  wrong: number;
  too_long: number;
  duplicate: number;
}

export interface RejectionResult {
  /** the dataset: one trace per kept reply */
  kept: Trace[];
  samples: JudgedSample[];
  /** per level ("1" … "5") and "all" */
  acceptance: Record<string, LevelAcceptance>;
}

export function validateRejectionConfig(c: RejectionConfig): void {
  for (const [name, v, min] of [
    ["promptsPerLevel", c.promptsPerLevel, 1], ["samplesPerPrompt", c.samplesPerPrompt, 1], ["maxNewTokens", c.maxNewTokens, 1],
    ["maxCompletionTokens", c.maxCompletionTokens, 0], ["batchSize", c.batchSize, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`rejection: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  if (!(c.temperature >= 0)) throw new RangeError(`rejection: temperature must be ≥ 0, got ${c.temperature}`);
  if (c.levels.length === 0) throw new RangeError("rejection: no levels");
}

/** The reply without the <eos> text a sampler decodes when EOS ended it. */
export function stripEos(reply: string): string {
  return reply.endsWith(SPECIAL_TOKENS.eos) ? reply.slice(0, -SPECIAL_TOKENS.eos.length) : reply;
}

/**
 * The verdict on one reply. `seen` holds the replies already kept for this prompt
 * (and gets this one when it is kept).
 */
export function judge(problem: Problem, completion: string, tokens: number, maxCompletionTokens: number, seen: Set<string> | null): Verdict {
  const { correct, formatOk } = ruleReward(completion, problem.question, problem.answer, undefined, CHAT);
  if (!formatOk) return "malformed";
  if (!correct) return "wrong";
  if (maxCompletionTokens > 0 && tokens > maxCompletionTokens) return "too_long";
  if (seen) {
    if (seen.has(completion)) return "duplicate";
    seen.add(completion);
  }
  return "kept";
}

/** The training prompts rejection sampling draws from (the same for the same seed). */
export function rejectionProblems(c: Pick<RejectionConfig, "levels" | "promptsPerLevel" | "seed">): Problem[] {
  return c.levels.flatMap((level) => generateProblems({ split: "train", level, count: c.promptsPerLevel, seed: deriveSeed(c.seed, "rejection") }));
}

/** A kept reply as a line of the dataset (the cold-start traces' fields). */
export function traceOf(s: JudgedSample): Trace {
  return { id: s.problem.id, level: s.problem.level, question: s.problem.question, answer: s.problem.answer, prompt: CHAT.prompt(s.problem.question), completion: s.completion };
}

/** Judge already-sampled replies: `replies[i]` are the n replies to `problems[i]`. */
export function filterSamples(problems: readonly Problem[], replies: readonly { text: string; tokens: number }[][], c: Pick<RejectionConfig, "maxCompletionTokens" | "dedupe">): RejectionResult {
  const samples: JudgedSample[] = [];
  problems.forEach((problem, i) => {
    const seen = c.dedupe ? new Set<string>() : null;
    for (const r of replies[i]!) {
      const completion = stripEos(r.text);
      samples.push({ problem, completion, tokens: r.tokens, verdict: judge(problem, completion, r.tokens, c.maxCompletionTokens, seen) });
    }
  });
  return { kept: samples.filter((s) => s.verdict === "kept").map(traceOf), samples, acceptance: acceptanceByLevel(samples) };
}

export function acceptanceByLevel(samples: readonly JudgedSample[]): Record<string, LevelAcceptance> {
  const out: Record<string, LevelAcceptance> = {};
  const levels = [...new Set(samples.map((s) => s.problem.level))].sort((a, b) => a - b);
  const tally = (xs: readonly JudgedSample[]): LevelAcceptance => {
    const n = (v: Verdict) => xs.filter((s) => s.verdict === v).length;
    return {
      sampled: xs.length, kept: n("kept"), acceptance_rate: xs.length ? round((n("kept") + n("duplicate")) / xs.length) : 0,
      malformed: n("malformed"), wrong: n("wrong"), too_long: n("too_long"), duplicate: n("duplicate"),
    };
  };
  for (const level of levels) out[String(level)] = tally(samples.filter((s) => s.problem.level === level));
  out.all = tally(samples);
  return out;
}

/**
 * The teacher samples n replies to each training prompt (chat template, batched,
 * KV-cached) and the filter judges them. onProgress(done, total) counts sequences.
 */
export async function rejectionSample(teacher: GPT, c: RejectionConfig, onProgress?: (done: number, total: number) => void): Promise<RejectionResult> {
  validateRejectionConfig(c);
  const problems = rejectionProblems(c);
  const n = c.samplesPerPrompt;
  const requests = problems.flatMap((p) => Array.from({ length: n }, () => styledPromptIds(p.question, CHAT)));
  const flat: { text: string; tokens: number }[] = [];
  for (let start = 0; start < requests.length; start += c.batchSize) {
    const { tokens } = await generate(teacher, requests.slice(start, start + c.batchSize), {
      temperature: c.temperature, topK: 0, topP: c.topP, maxNewTokens: c.maxNewTokens,
      stopTokens: CHAT.stopTokens, seed: deriveSeed(c.seed, `rejection/${start}`),
    });
    for (const t of tokens) flat.push({ text: decode(t), tokens: t.length });
    onProgress?.(flat.length, requests.length);
  }
  return filterSamples(problems, problems.map((_, i) => flat.slice(i * n, (i + 1) * n)), c);
}

/**
 * The verifier reads only the answer: a kept trace may still have a wrong step that a
 * later step happened to undo ("98-30=78, 78+93=161" for 98-30+93). The problems the
 * cold-start trace checker finds in its worked steps (empty: every step right).
 */
export function stepProblems(t: Pick<Trace, "question" | "completion">): string[] {
  return checkTrace(t.question, t.completion, "steps");
}

/**
 * Tokens the teacher processed to write the samples (prompt + reply of each), for the
 * FLOPs count: each costs about one forward pass of a token.
 */
export function sampledTokens(samples: readonly JudgedSample[]): number {
  return samples.reduce((s, x) => s + styledPromptIds(x.problem.question, CHAT).length + x.tokens, 0);
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
