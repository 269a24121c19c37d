// The GRPO lesson's run: reinforcement learning with rule rewards from the shipped
// SFT model (R1's path) or the shipped base model (R1-Zero's). A thin wrapper over
// src/train/grpo.ts, the loop `r1-lab train grpo` runs.
//
// Records: one per step, with TRL's GRPOTrainer names (reward, reward_std,
// frac_reward_zero_std, kl, clip_ratio/low_mean, clip_ratio/high_mean, entropy,
// completions/mean_length), plus accuracy, format_rate, the groups sampled and kept,
// ms_per_step, and heldout_accuracy on evaluation steps. `step` counts steps done.
//
// Views (only when a page listens):
//   "info"   at the start: parameters, style, prompts × samples per step
//   "group"  every step: one prompt's G samples with their rewards and advantages
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import { CURRICULA, type Curriculum, type LevelAccuracy } from "../../rl/curriculum.js";
import { NORMALISATIONS, type Normalisation } from "../../rl/grpo.js";
import type { SampledGroup } from "../../rl/groups.js";
import { GrpoRun, type GrpoConfig, type GrpoStart } from "../../train/grpo.js";
import { GRPO_PRESETS, PRETRAIN_PRESETS } from "../../train/presets.js";
import { LEVELS, answerStyle, type StyleName } from "../../tasks/index.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";
import { fetchCheckpoint } from "./pretrain.js";

export const GRPO_INIT_CHOICES = ["shipped SFT (R1)", "shipped base (R1-Zero)"] as const;
export type GrpoInit = (typeof GRPO_INIT_CHOICES)[number];

export interface GrpoJobConfig extends JobConfig {
  init: GrpoInit;
  /** P, prompts per step */
  prompts: number;
  /** G, samples per prompt */
  groupSize: number;
  /** μ, updates per sampled batch */
  updates: number;
  lr: number;
  warmupSteps: number;
  temperature: number;
  beta: number;
  eps: number;
  epsHigh: number;
  normalisation: Normalisation;
  scaleByStd: boolean;
  dynamicSampling: boolean;
  curriculum: Curriculum;
  /** prompts from levels 1…maxLevel */
  maxLevel: number;
  formatWeight: number;
  evalEvery: number;
  evalProblems: number;
  /** where the shipped model.safetensors files are served (the page supplies them) */
  checkpointUrl: string;
  sftCheckpointUrl: string;
}

const CLI = GRPO_PRESETS.default.grpo;

function fromCli(extra: Partial<GrpoJobConfig> = {}): GrpoJobConfig {
  return {
    seed: 1, steps: CLI.steps, init: "shipped SFT (R1)", prompts: CLI.batchSize, groupSize: CLI.groupSize, updates: CLI.updatesPerBatch,
    lr: CLI.lr, warmupSteps: CLI.warmupSteps, temperature: CLI.temperature, beta: CLI.beta, eps: CLI.eps, epsHigh: CLI.epsHigh,
    normalisation: CLI.normalisation, scaleByStd: CLI.scaleByStd, dynamicSampling: CLI.dynamicSampling, curriculum: CLI.curriculum,
    maxLevel: Math.max(...CLI.levels), formatWeight: CLI.rewards.format, evalEvery: CLI.evalEvery, evalProblems: CLI.evalProblemsPerLevel,
    checkpointUrl: "", sftCheckpointUrl: "", ...extra,
  };
}

export const GRPO_JOB_PRESETS: Record<string, GrpoJobConfig> = {
  /** exactly `r1-lab train grpo --from data/checkpoints/sft-default --preset default --seed 1` */
  default: fromCli(),
  /** R1-Zero: the same loop from the base model, which has never seen the chat template */
  "R1-Zero (from the base)": fromCli({ init: "shipped base (R1-Zero)" }),
  /** a couple of tiny steps: enough to see the group viewer and the charts move, on any machine */
  ci: fromCli({ steps: 2, prompts: 2, groupSize: 4, maxLevel: 1, evalEvery: 2, evalProblems: 2, warmupSteps: 1 }),
  "short run, 30 steps": fromCli({ steps: 30, evalEvery: 10, evalProblems: 10, warmupSteps: 5 }),
};

export function grpoConfig(c: GrpoJobConfig, style: StyleName): GrpoConfig {
  return {
    ...CLI, style, batchSize: c.prompts, groupSize: c.groupSize, updatesPerBatch: c.updates, steps: c.steps, lr: c.lr, warmupSteps: c.warmupSteps,
    temperature: c.temperature, beta: c.beta, eps: c.eps, epsHigh: c.epsHigh, normalisation: c.normalisation, scaleByStd: c.scaleByStd,
    dynamicSampling: c.dynamicSampling, curriculum: c.curriculum, levels: Array.from({ length: c.maxLevel }, (_, i) => i + 1),
    rewards: { accuracy: 1, format: c.formatWeight }, evalEvery: c.evalEvery, evalProblemsPerLevel: c.evalProblems,
  };
}

export interface GrpoInfoView {
  params: number;
  style: StyleName;
  prompts: number;
  groupSize: number;
  steps: number;
}

/** One group for the viewer: the prompt and its G samples, scored. */
export interface GroupView {
  step: number;
  level: number;
  prompt: string;
  expected: string;
  samples: { reply: string; reward: number; advantage: number; correct: boolean; formatOk: boolean; tokens: number }[];
  mean: number;
  std: number;
  zeroSpread: boolean;
  /** groups sampled and kept this step */
  sampled: number;
  kept: number;
}

/** The group the viewer shows: the first with a reward spread (it is what the update learns from), else the first. */
export function groupView(step: number, groups: readonly SampledGroup[], kept: number, promptText: (q: string) => string): GroupView | null {
  const g = groups.find((x) => !x.stats.zeroSpread) ?? groups[0];
  if (!g) return null;
  return {
    step, level: g.problem.level, prompt: promptText(g.problem.question), expected: g.problem.answer,
    samples: g.replies.map((reply, i) => ({
      reply, reward: g.rewards[i]!, advantage: g.advantages[i]!, correct: g.scores[i]!.correct, formatOk: g.scores[i]!.formatOk, tokens: g.completions[i]!.length,
    })),
    mean: g.stats.mean, std: g.stats.std, zeroSpread: g.stats.zeroSpread, sampled: groups.length, kept,
  };
}

async function* runGrpo(c: GrpoJobConfig, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  const fromBase = c.init === "shipped base (R1-Zero)";
  const style: StyleName = fromBase ? "textbook" : "chat";
  // a saved page run continues from its state, as the CLI's --resume does: policy, reference, optimiser, counters
  const saved = context?.resume;
  const start: GrpoStart = saved
    ? {
      model: saved.model, optimizer: saved.optimizer, reference: saved.reference ?? saved.model, step: saved.step,
      updates: Number(saved.counters?.["updates"] ?? saved.step * c.updates),
      levelAccuracy: (saved.counters?.["levelAccuracy"] ?? {}) as LevelAccuracy,
    }
    : { model: await fetchCheckpoint(fromBase ? c.checkpointUrl : c.sftCheckpointUrl), step: 0 };
  const run = new GrpoRun(engine, grpoConfig(c, style), c.seed, PRETRAIN_PRESETS.default.model, start);
  context?.saveable?.(async () => ({
    step: run.step, ...(await run.checkpoint()), counters: { updates: run.updates, levelAccuracy: run.levelAccuracy },
  }));
  const prompt = (q: string) => answerStyle(style).prompt(q);
  try {
    context?.emit("info", { params: run.policy.parameterCount(), style, prompts: c.prompts, groupSize: c.groupSize, steps: c.steps } satisfies GrpoInfoView);
    while (!run.done) {
      const started = performance.now();
      const r = await run.next();
      const rec: MetricRecord = { ...r, step: run.step, ms_per_step: performance.now() - started };
      delete rec.tokens_per_s;
      if (context) {
        const view = groupView(run.step, run.lastGroups, r.groups_kept, prompt);
        if (view) context.emit("group", view);
      }
      yield rec;
    }
  } finally {
    run.dispose();
  }
}

export function validateGrpo(c: GrpoJobConfig): string | null {
  if (c.temperature <= 0) return "temperature must be above 0: GRPO needs varied samples (at 0 every sample in a group is the same)";
  if (c.groupSize < 2) return "a group needs at least 2 samples: the group is the baseline each sample is compared with";
  return null;
}

export const grpoJob: JobDef<GrpoJobConfig> = {
  name: "grpo",
  resumable: true,
  title: "GRPO with rule rewards",
  description: "Sample a group of answers per question, reward each by rule, and push the policy toward the answers that beat their group.",
  params: [
    { key: "init", label: "start from", kind: "choice", choices: GRPO_INIT_CHOICES, help: "R1: the shipped cold-start SFT model · R1-Zero: the shipped base model (textbook style)" },
    { key: "prompts", label: "prompts per step (P)", kind: "int", min: 1, max: 64 },
    { key: "groupSize", label: "samples per prompt (G)", kind: "int", min: 2, max: 64 },
    { key: "updates", label: "updates per batch (μ)", kind: "int", min: 1, max: 8, help: "optimisation steps on each sampled batch; from the second on, π_θ ≠ π_old and the clip can act" },
    { key: "lr", label: "learning rate", kind: "float", min: 1e-7, max: 1e-2 },
    { key: "warmupSteps", label: "warmup", kind: "int", min: 0, max: 10_000 },
    { key: "temperature", label: "temperature", kind: "float", min: 0.05, max: 2, help: "sampling temperature; log-probabilities in the ratio use the same one" },
    { key: "beta", label: "KL weight β", kind: "float", min: 0, max: 1, help: "weight of the k3 KL penalty to the frozen starting model" },
    { key: "eps", label: "clip ε", kind: "float", min: 0.01, max: 10 },
    { key: "epsHigh", label: "clip ε_high", kind: "float", min: 0.01, max: 10, help: "DAPO's clip-higher: a larger upper clip than ε" },
    { key: "normalisation", label: "normalisation", kind: "choice", choices: NORMALISATIONS, help: "sequence: GRPO's 1/|o| · token: DAPO · constant: Dr. GRPO" },
    { key: "scaleByStd", label: "Â ÷ std", kind: "bool", help: "divide advantages by the group's std (GRPO); off: Dr. GRPO's r − mean" },
    { key: "dynamicSampling", label: "dynamic sampling", kind: "bool", help: "DAPO: drop groups whose rewards are all equal and sample fresh prompts instead" },
    { key: "curriculum", label: "curriculum", kind: "choice", choices: CURRICULA, help: "uniform levels, or adaptive: levels near 50% accuracy get most prompts" },
    { key: "maxLevel", label: "levels 1 to", kind: "int", min: 1, max: LEVELS.length },
    { key: "formatWeight", label: "format reward", kind: "float", min: 0, max: 10, help: "weight of the format rule (accuracy counts 1)" },
    { key: "evalEvery", label: "eval every", kind: "int", min: 1, max: 10_000, help: "steps between greedy held-out evaluations" },
    { key: "evalProblems", label: "eval problems", kind: "int", min: 1, max: 200, help: "held-out problems per level in each evaluation" },
  ],
  presets: GRPO_JOB_PRESETS,
  charts: [
    { title: "reward and accuracy of the sampled answers", keys: ["reward", "accuracy"], smoothing: 0.6 },
    { title: "held-out accuracy (greedy)", keys: ["heldout_accuracy"] },
    { title: "completion length (tokens)", keys: ["completions/mean_length"], smoothing: 0.6 },
    { title: "share of groups with zero reward spread", keys: ["frac_reward_zero_std"], smoothing: 0.6 },
    { title: "KL to the reference (k3)", keys: ["kl"] },
    { title: "clipped tokens", keys: ["clip_ratio/low_mean", "clip_ratio/high_mean"] },
    { title: "entropy of the sampled tokens (nats)", keys: ["entropy"], smoothing: 0.6 },
    { title: "GRPO loss (not a progress signal)", keys: ["loss"] },
  ],
  validate: validateGrpo,
  lossFalls: false, // GRPO's loss is not a progress signal: reward and accuracy are
  run: runGrpo,
};
