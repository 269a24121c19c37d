// The distillation lesson's run: a smaller student (STUDENT_MODELS.default) learns from
// the teacher's kept traces, sequence-level (SFT on them, what R1-Distill did) or with
// token-level KD mixed in (the teacher's whole distributions). A thin wrapper over
// src/train/distill.ts, the loop `r1-lab train distill` runs.
//
// Records: one per step, `{step, loss, ce, grad_norm, lr, flops, ms_per_step}`, `kd` with
// token-level KD, and on evaluation steps `heldout_accuracy` and `format_rate` (greedy,
// chat template). `step` counts steps done.
//
// Views (only when a page listens):
//   "info"     at the start: the student's and teacher's parameters, traces, levels
//   "answers"  at step 0 and every evaluation: the student's greedy answer to the first
//              held-out problem of each level, with its verdict
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import type { GPT } from "../../nn/gpt.js";
import { evalProblems } from "../../eval/evaluate.js";
import { sampleGraded } from "../../eval/styled.js";
import { DistillRun, type DistillConfig } from "../../train/distill.js";
import { DISTILL_PRESETS, PRETRAIN_PRESETS, STUDENT_MODELS } from "../../train/presets.js";
import { CHAT, LEVELS, makeTraceSet, type Trace } from "../../tasks/index.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";
import { fetchCheckpoint } from "./pretrain.js";

export const DISTILL_INIT_CHOICES = ["shipped student base", "random weights"] as const;
export type DistillInit = (typeof DISTILL_INIT_CHOICES)[number];

export interface DistillJobConfig extends JobConfig {
  init: DistillInit;
  /** train on the kept traces of levels 1…maxLevel, and evaluate those levels */
  maxLevel: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  /** α: weight of token-level KD (0 = sequence-level only) */
  kdAlpha: number;
  kdTemperature: number;
  evalEvery: number;
  evalProblems: number;
  /** where the page serves the teacher's kept traces (jsonl), the student's base and the teacher's weights */
  tracesUrl: string;
  studentCheckpointUrl: string;
  teacherCheckpointUrl: string;
}

const CLI = DISTILL_PRESETS.default.distill;

function fromCli(extra: Partial<DistillJobConfig> = {}): DistillJobConfig {
  return {
    seed: 1, steps: CLI.steps, init: "shipped student base", maxLevel: Math.max(...CLI.levels), batchSize: CLI.batchSize, lr: CLI.lr,
    warmupSteps: CLI.warmupSteps, kdAlpha: CLI.kdAlpha, kdTemperature: CLI.kdTemperature, evalEvery: CLI.evalEvery,
    evalProblems: CLI.evalProblemsPerLevel, tracesUrl: "", studentCheckpointUrl: "", teacherCheckpointUrl: "", ...extra,
  };
}

export const DISTILL_JOB_PRESETS: Record<string, DistillJobConfig> = {
  /** exactly the distill stage of `r1-lab pipeline --preset default` (sequence-level) */
  default: fromCli(),
  /** the same with token-level KD mixed in half and half, at T = 2 */
  "token-level KD (α = 0.5, T = 2)": fromCli({ kdAlpha: 0.5, kdTemperature: 2 }),
  /** a few steps on level 1: enough to see the loop move, on any machine */
  ci: fromCli({ init: "random weights", steps: 3, maxLevel: 1, batchSize: 4, warmupSteps: 1, evalEvery: 3, evalProblems: 2 }),
  "short run, 200 steps": fromCli({ steps: 200, warmupSteps: 20, evalEvery: 50, evalProblems: 10 }),
};

export function distillConfig(c: DistillJobConfig): DistillConfig {
  return {
    ...CLI, batchSize: c.batchSize, steps: c.steps, lr: c.lr, warmupSteps: c.warmupSteps, kdAlpha: c.kdAlpha, kdTemperature: c.kdTemperature,
    evalEvery: c.evalEvery, evalProblemsPerLevel: c.evalProblems, levels: Array.from({ length: c.maxLevel }, (_, i) => i + 1),
  };
}

export interface DistillInfoView {
  params: number;
  teacherParams: number | null;
  traces: number;
  levels: number[];
  steps: number;
}

export interface StudentAnswer {
  level: number;
  question: string;
  expected: string;
  reply: string;
  correct: boolean;
  formatOk: boolean;
}

export interface AnswersView {
  step: number;
  answers: StudentAnswer[];
}

/** The student's greedy answers to the first held-out problem of each level. */
export async function studentAnswers(model: GPT, levels: readonly number[]): Promise<StudentAnswer[]> {
  const problems = levels.map((level) => evalProblems({ split: "heldout", problemsPerLevel: 1, seed: 1 }, level)[0]!);
  const graded = await sampleGraded(model, problems, CHAT, { samples: 1, temperature: 0, topP: 1, seed: 1, batchSize: 16, maxNewTokens: model.config.maxSeqLen });
  return problems.map((p, i) => ({ level: p.level, question: p.question, expected: p.answer, ...pick(graded[i]![0]!) }));
}

function pick(g: { reply: string; correct: boolean; formatOk: boolean }) {
  return { reply: g.reply, correct: g.correct, formatOk: g.formatOk };
}

/** Lines of a traces .jsonl file. */
export function parseTraces(text: string): Trace[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Trace);
}

async function fetchText(url: string, what: string): Promise<string> {
  if (!url) throw new Error(`no ${what} to start from: this page has no URL for it`);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch the ${what}: HTTP ${res.status} ${res.statusText}`);
  return res.text();
}

/**
 * The teacher's kept traces of levels 1…maxLevel. Without a URL (a job run outside the
 * page, as the harness contract test runs every ci preset), the cold-start traces, which
 * have the same shape, stand in for them.
 */
async function teacherTraces(c: DistillJobConfig): Promise<Trace[]> {
  if (!c.tracesUrl) return makeTraceSet({ seed: 1, granularity: "steps", split: "train", perLevel: Array.from({ length: c.maxLevel }, () => 100) });
  return parseTraces(await fetchText(c.tracesUrl, "teacher's traces")).filter((t) => t.level <= c.maxLevel);
}

async function* runDistill(c: DistillJobConfig, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  const traces = await teacherTraces(c);
  // a saved page run continues from its state (the student, its optimiser, the FLOPs counted), as the CLI's --resume does
  const saved = context?.resume;
  const start = saved
    ? { model: saved.model, optimizer: saved.optimizer, step: saved.step, flops: Number(saved.counters?.["flops"] ?? 0) }
    : c.init === "random weights" ? { step: 0 } : { model: await fetchCheckpoint(c.studentCheckpointUrl), step: 0 };
  const teacher = c.kdAlpha > 0 ? { config: PRETRAIN_PRESETS.default.model, model: await fetchCheckpoint(c.teacherCheckpointUrl) } : undefined;
  const config = distillConfig(c);
  const run = new DistillRun(engine, config, c.seed, STUDENT_MODELS.default, start, traces, teacher);
  context?.saveable?.(async () => ({ step: run.step, ...(await run.checkpoint()), counters: { flops: run.flops } }));
  try {
    if (context) {
      context.emit("info", {
        params: run.student.parameterCount(), teacherParams: run.teacher?.parameterCount() ?? null, traces: run.train.length, levels: config.levels, steps: c.steps,
      } satisfies DistillInfoView);
      context.emit("answers", { step: run.step, answers: await studentAnswers(run.student, config.levels) } satisfies AnswersView);
    }
    while (!run.done) {
      const r = await run.next();
      const batch = run.batchAt(run.step - 1);
      const rec: MetricRecord = { ...r, step: run.step, ms_per_step: (1000 * batch.B * batch.T) / r.tokens_per_s };
      delete rec.tokens_per_s;
      if (context && r.heldout_accuracy !== undefined) context.emit("answers", { step: run.step, answers: await studentAnswers(run.student, config.levels) } satisfies AnswersView);
      yield rec;
    }
  } finally {
    run.dispose();
  }
}

export function validateDistill(c: DistillJobConfig): string | null {
  if (c.kdAlpha > 0 && c.kdTemperature <= 0) return "the KD temperature must be above 0";
  return null;
}

export const distillJob: JobDef<DistillJobConfig> = {
  name: "distill",
  resumable: true,
  title: "Distillation into a smaller student",
  description: "Fine-tune a smaller student on the teacher's correct, well-formed traces; optionally match the teacher's distributions token by token.",
  params: [
    { key: "init", label: "student starts from", kind: "choice", choices: DISTILL_INIT_CHOICES, help: "the shipped student base (pretrained on the textbook, 2 layers of width 48) or random weights" },
    { key: "maxLevel", label: "levels 1 to", kind: "int", min: 1, max: LEVELS.length, help: "train on the teacher's traces of levels 1…this, and evaluate them" },
    { key: "batchSize", label: "batch", kind: "int", min: 1, max: 256, help: "traces per step" },
    { key: "lr", label: "learning rate", kind: "float", min: 1e-6, max: 1 },
    { key: "warmupSteps", label: "warmup", kind: "int", min: 0, max: 100_000 },
    { key: "kdAlpha", label: "token-level KD α", kind: "float", min: 0, max: 1, help: "0: sequence-level only (SFT on the traces) · 1: only the teacher's distributions" },
    { key: "kdTemperature", label: "KD temperature T", kind: "float", min: 0.1, max: 10, help: "softens both distributions; the T² factor keeps the gradient's scale" },
    { key: "evalEvery", label: "eval every", kind: "int", min: 1, max: 100_000 },
    { key: "evalProblems", label: "eval problems", kind: "int", min: 1, max: 500, help: "held-out problems per level in each evaluation" },
  ],
  presets: DISTILL_JOB_PRESETS,
  charts: [
    { title: "loss, and its cross-entropy part (nats per completion token)", keys: ["loss", "ce"], smoothing: 0.6 },
    { title: "held-out accuracy and format rate (greedy)", keys: ["heldout_accuracy", "format_rate"] },
    { title: "training FLOPs so far", keys: ["flops"] },
  ],
  validate: validateDistill,
  run: runDistill,
};
