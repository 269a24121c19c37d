// The Cold-start SFT lesson's run: the shipped base model is fine-tuned on
// cold-start traces. A thin wrapper over src/train/sft.ts (the loop the CLI runs)
// and src/eval (the harness every stage is scored with).
//
// Records: one per step, `{step, loss, grad_norm, lr, ms_per_step}`, plus on
// evaluation steps `val_loss`, `heldout_accuracy` and `format_rate` (greedy, with
// thinking, on held-out problems of the trained levels). `step` counts steps done.
//
// Views (only when a page listens):
//   "info"    at the start: parameters, traces, the levels trained
//   "traces"  at step 0 and every evaluation: one held-out problem per trained level,
//             answered greedily, with each token's probability and the verdict
//   "levels"  after the last step: greedy accuracy per level with and without
//             thinking (the answer forced after an empty think block), all levels
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import type { GPT, GPTConfig } from "../../nn/gpt.js";
import { evalProblems, gradeGreedy, promptIds, tokenProbabilities, type Mode } from "../../eval/index.js";
import { PRETRAIN_PRESETS, SFT_PRESETS } from "../../train/presets.js";
import { SftRun, trainedLevels, type SftConfig } from "../../train/sft.js";
import { GRANULARITIES, LEVELS, decode, encode, maxTraceTokens, type Granularity } from "../../tasks/index.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";
import { fetchCheckpoint } from "./pretrain.js";

export const SFT_INIT_CHOICES = ["shipped base", "shipped SFT", "random weights"] as const;
export type SftInit = (typeof SFT_INIT_CHOICES)[number];

export interface SftJobConfig extends JobConfig {
  /** the shipped base (data/checkpoints/pretrain-default), the shipped SFT model (data/checkpoints/sft-default) to fine-tune further, or no pretraining at all */
  init: SftInit;
  granularity: Granularity;
  /** train on levels 1…maxLevel */
  maxLevel: number;
  tracesPerLevel: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  evalEvery: number;
  /** held-out problems per level for the periodic and final evaluations */
  evalProblems: number;
  /** where the shipped base model.safetensors is served (the page supplies it) */
  checkpointUrl: string;
  /** where the shipped SFT model.safetensors is served (the page supplies it) */
  sftCheckpointUrl: string;
}

/** the base model this page fine-tunes: the shipped `r1-lab train pretrain --preset default` */
export const BASE_MODEL: GPTConfig = PRETRAIN_PRESETS.default.model;
const CLI = SFT_PRESETS.default.sft;

function fromCli(c: SftConfig, extra: Partial<SftJobConfig> = {}): SftJobConfig {
  const levels = trainedLevels(c);
  return {
    seed: 1, steps: c.steps, init: "shipped base", granularity: c.granularity, maxLevel: Math.max(...levels), tracesPerLevel: c.perLevel[0]!,
    batchSize: c.batchSize, lr: c.lr, warmupSteps: c.warmupSteps, evalEvery: c.evalEvery,
    evalProblems: c.evalProblemsPerLevel, checkpointUrl: "", sftCheckpointUrl: "", ...extra,
  };
}

export const SFT_JOB_PRESETS: Record<string, SftJobConfig> = {
  /** exactly `r1-lab train sft --preset default --seed 1` from the shipped base */
  default: fromCli(CLI),
  /** a few steps on level 1: enough to see the loop and a trace, on any machine, with or without the shipped files */
  ci: fromCli(CLI, { init: "random weights", steps: 4, maxLevel: 1, tracesPerLevel: 40, batchSize: 4, warmupSteps: 1, evalEvery: 2, evalProblems: 2 }),
  "short run, 200 steps": fromCli(CLI, { steps: 200, warmupSteps: 20, evalEvery: 50, evalProblems: 10 }),
  "few traces (50 per level)": fromCli(CLI, { tracesPerLevel: 50, steps: 200, warmupSteps: 20, evalEvery: 50, evalProblems: 10 }),
  "levels 1–2 only": fromCli(CLI, { maxLevel: 2, steps: 200, warmupSteps: 20, evalEvery: 50, evalProblems: 10 }),
  /** the shipped SFT model, fine-tuned a little more: well-formed traces from step 0 */
  "from the SFT checkpoint": fromCli(CLI, { init: "shipped SFT", steps: 50, lr: 3e-4, warmupSteps: 5, evalEvery: 25, evalProblems: 10 }),
};

export function sftConfig(c: SftJobConfig): SftConfig {
  return {
    ...CLI, granularity: c.granularity,
    perLevel: Array.from({ length: c.maxLevel }, () => c.tracesPerLevel),
    batchSize: c.batchSize, steps: c.steps, lr: c.lr, warmupSteps: c.warmupSteps,
    evalEvery: c.evalEvery, evalProblemsPerLevel: c.evalProblems,
  };
}

export interface InfoView {
  params: number;
  traces: number;
  levels: number[];
  steps: number;
}

/** One answered problem for the trace viewer. */
export interface TraceView {
  level: number;
  question: string;
  expected: string;
  prompt: string;
  /** the completion, one entry per token (a forced no-think prefix included) */
  tokens: string[];
  probs: number[];
  answer: string | null;
  correct: boolean;
  formatOk: boolean;
}

export interface TracesView {
  step: number;
  traces: TraceView[];
}

export interface LevelRow {
  level: number;
  trained: boolean;
  problems: number;
  think: number;
  noThink: number;
  thinkTokens: number;
}

export interface LevelsView {
  step: number;
  rows: LevelRow[];
}

/** Greedy answers to the first held-out problem of each level, token by token with probabilities. */
export async function answerOnePerLevel(model: GPT, levels: readonly number[], mode: Mode = "think"): Promise<TraceView[]> {
  const problems = levels.map((level) => evalProblems({ split: "heldout", problemsPerLevel: 1, seed: 1 }, level)[0]!);
  const graded = await gradeGreedy(model, problems, mode, problems.length);
  const out: TraceView[] = [];
  for (let i = 0; i < problems.length; i++) {
    const g = graded[i]!;
    const prompt = promptIds(problems[i]!.question, "think");
    const ids = encode(g.completion);
    out.push({
      level: problems[i]!.level, question: g.question, expected: g.expected, prompt: decode(prompt.slice(1)),
      tokens: ids.map((t) => decode([t])), probs: await tokenProbabilities(model, prompt, ids),
      answer: g.answer, correct: g.correct, formatOk: g.formatOk,
    });
  }
  return out;
}

/** Greedy accuracy per level, with and without thinking. */
export async function levelTable(model: GPT, trained: readonly number[], problemsPerLevel: number): Promise<LevelRow[]> {
  const rows: LevelRow[] = [];
  for (const { level } of LEVELS) {
    const problems = evalProblems({ split: "heldout", problemsPerLevel, seed: 1 }, level);
    const think = await gradeGreedy(model, problems, "think", 64);
    const direct = await gradeGreedy(model, problems, "no_think", 64);
    const share = (g: { correct: boolean }[]) => g.filter((x) => x.correct).length / Math.max(1, g.length);
    rows.push({
      level, trained: trained.includes(level), problems: problems.length, think: share(think), noThink: share(direct),
      thinkTokens: think.reduce((s, g) => s + g.tokens, 0) / Math.max(1, think.length),
    });
  }
  return rows;
}

async function* runSft(c: SftJobConfig, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  const url = c.init === "shipped SFT" ? c.sftCheckpointUrl : c.checkpointUrl;
  // a saved page run continues from its state (as the CLI's --resume does); otherwise the chosen start
  const start = context?.resume ?? (c.init === "random weights" ? { step: 0 } : { model: await fetchCheckpoint(url), step: 0 });
  const config = sftConfig(c);
  const run = new SftRun(engine, config, c.seed, BASE_MODEL, start);
  const levels = trainedLevels(config);
  context?.saveable?.(async () => ({ step: run.step, ...(await run.checkpoint()) }));
  try {
    if (context) {
      context.emit("info", { params: run.model.parameterCount(), traces: run.train.length, levels, steps: c.steps } satisfies InfoView);
      context.emit("traces", { step: run.step, traces: await answerOnePerLevel(run.model, levels) } satisfies TracesView);
    }
    while (!run.done) {
      const r = await run.next();
      const step = run.step;
      const batch = run.batchAt(step - 1);
      const rec: MetricRecord = { step, loss: r.loss, grad_norm: r.grad_norm, lr: r.lr, ms_per_step: (1000 * batch.B * batch.T) / r.tokens_per_s };
      for (const k of ["val_loss", "heldout_accuracy", "format_rate"] as const) if (r[k] !== undefined) rec[k] = r[k];
      if (context && r.val_loss !== undefined) {
        context.emit("traces", { step, traces: await answerOnePerLevel(run.model, levels) } satisfies TracesView);
      }
      if (context && run.done) context.emit("levels", { step, rows: await levelTable(run.model, levels, c.evalProblems) } satisfies LevelsView);
      yield rec;
    }
  } finally {
    run.dispose();
  }
}

export function validateSft(c: SftJobConfig): string | null {
  const longest = maxTraceTokens(c.maxLevel, c.granularity);
  if (longest > BASE_MODEL.maxSeqLen) {
    return `the longest ${c.granularity} trace of level ${c.maxLevel} is ${longest} tokens, but the base model's context is ${BASE_MODEL.maxSeqLen}: train fewer levels, or use the steps granularity`;
  }
  return null;
}

export const sftJob: JobDef<SftJobConfig> = {
  name: "sft",
  title: "Cold-start SFT on worked traces",
  description: "Fine-tune the shipped base model on <think>…</think><answer>…</answer> traces, with the loss on the completion only.",
  params: [
    { key: "init", label: "start from", kind: "choice", choices: SFT_INIT_CHOICES, help: "the shipped base model, the shipped SFT model (fine-tune it further), or random weights (no pretraining)" },
    { key: "granularity", label: "thinking", kind: "choice", choices: GRANULARITIES, help: "steps: one line per operation · columns: digit by digit (longer)" },
    { key: "maxLevel", label: "levels 1 to", kind: "int", min: 1, max: LEVELS.length, help: "train on traces of levels 1…this" },
    { key: "tracesPerLevel", label: "traces per level", kind: "int", min: 1, max: 2000, help: "how many cold-start traces of each level" },
    { key: "lr", label: "learning rate", kind: "float", min: 1e-6, max: 1, help: "AdamW peak learning rate (warmup, then cosine to 10%)" },
    { key: "batchSize", label: "batch", kind: "int", min: 1, max: 256, help: "traces per step" },
    { key: "warmupSteps", label: "warmup", kind: "int", min: 0, max: 100_000 },
    { key: "evalEvery", label: "eval every", kind: "int", min: 1, max: 100_000, help: "steps between validation loss and held-out accuracy" },
    { key: "evalProblems", label: "eval problems", kind: "int", min: 1, max: 500, help: "held-out problems per level in each evaluation" },
  ],
  presets: SFT_JOB_PRESETS,
  charts: [
    { title: "loss on completion tokens (nats per token)", keys: ["loss", "val_loss"], smoothing: 0.6 },
    { title: "held-out accuracy and format rate (greedy, with thinking)", keys: ["heldout_accuracy", "format_rate"] },
    { title: "learning rate (warmup, then cosine)", keys: ["lr"] },
  ],
  validate: validateSft,
  resumable: true,
  run: runSft,
};
