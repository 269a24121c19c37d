// The RLHF lesson's run, in miniature and in one go: preference pairs sampled from the
// shipped SFT model, a reward model trained on them (Bradley–Terry), then RL against
// that reward model (or the rules) with GRPO's loop, the policy measured on held-out
// prompts every `evalEvery` steps: gold reward, proxy reward, KL from the start.
// The same modules as `r1-lab train rm` and `r1-lab train rlhf`.
//
// Records: one per RL step (GRPO's fields, plus gold_reward), and on measurement
// steps heldout_gold_reward, heldout_proxy_reward, heldout_kl.
// Views: "rm" once the reward model is trained: its held-out accuracy and calibration;
// "start": the same held-out measurement of the starting policy (KL 0), before step 1.
import { policyReport, type PolicyReport } from "../../eval/preference.js";
import { GPT } from "../../nn/gpt.js";
import type { TensorMap } from "../../io/safetensors.js";
import { loadModelTensors } from "../../train/checkpoint.js";
import { evalProblems } from "../../eval/evaluate.js";
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import { GrpoRun, type GrpoConfig } from "../../train/grpo.js";
import { samplePreferencePairs, type PreferencePair } from "../../train/preferences.js";
import { PRETRAIN_PRESETS, RLHF_PRESETS } from "../../train/presets.js";
import { RmRun, type RmEvaluation } from "../../train/rm.js";
import type { SequenceReward } from "../../rl/groups.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";
import { fetchCheckpoint } from "./pretrain.js";

export const RLHF_REWARD_CHOICES = ["reward model", "rules"] as const;

export interface RlhfJobConfig extends JobConfig {
  reward: (typeof RLHF_REWARD_CHOICES)[number];
  /** training prompts per level for the preference pairs (two replies each; ties dropped) */
  pairPrompts: number;
  rmSteps: number;
  prompts: number;
  groupSize: number;
  lr: number;
  beta: number;
  /** levels 1…maxLevel */
  maxLevel: number;
  evalEvery: number;
  /** held-out prompts per level in each measurement (two replies each) */
  evalProblems: number;
  sftCheckpointUrl: string;
}

const P = RLHF_PRESETS.default;

function preset(extra: Partial<RlhfJobConfig> = {}): RlhfJobConfig {
  return {
    seed: 1, steps: P.rl.steps, reward: "reward model", pairPrompts: P.pairs.trainPromptsPerLevel, rmSteps: P.rm.steps,
    prompts: P.rl.batchSize, groupSize: P.rl.groupSize, lr: P.rl.lr, beta: P.rl.beta, maxLevel: Math.max(...P.rl.levels),
    evalEvery: P.rl.evalEvery, evalProblems: P.report.problemsPerLevel, sftCheckpointUrl: "", ...extra,
  };
}

export const RLHF_JOB_PRESETS: Record<string, RlhfJobConfig> = {
  /** the recorded CLI runs' settings (`train rm` then `train rlhf --preset default`) */
  default: preset(),
  "rules instead of the reward model": preset({ reward: "rules" }),
  /** a few steps of each phase: enough to see every chart move */
  ci: preset({ steps: 4, pairPrompts: 24, rmSteps: 6, prompts: 2, groupSize: 4, maxLevel: 1, evalEvery: 2, evalProblems: 4 }),
};

/** the CLI's default RL settings with the job's choices */
export function rlhfRlConfig(c: RlhfJobConfig): GrpoConfig {
  return {
    ...P.rl, style: "chat", steps: c.steps, batchSize: c.prompts, groupSize: c.groupSize, lr: c.lr, beta: c.beta,
    levels: Array.from({ length: c.maxLevel }, (_, i) => i + 1), evalEvery: c.evalEvery, evalProblemsPerLevel: Math.min(4, c.evalProblems),
  };
}

/** Where a run is before its RL steps: sampling pairs (prompts done), training the reward model (steps), or RL. */
export interface RlhfPhaseView {
  phase: "pairs" | "rm" | "rl";
  done: number;
  total: number;
}

export interface RlhfRmView {
  pairs: number;
  evaluation: RmEvaluation;
}

async function* runRlhf(c: RlhfJobConfig, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  const model = PRETRAIN_PRESETS.default.model;
  const sft = await fetchCheckpoint(c.sftCheckpointUrl);
  const levels = Array.from({ length: c.maxLevel }, (_, i) => i + 1);
  let run: GrpoRun | null = null;
  let rmRun: RmRun | null = null;
  try {
    // 1. the reward model, from pairs the SFT model writes (minutes at the default size, before
    // the first RL step: the "phase" view says where the run is)
    const phase = (v: RlhfPhaseView) => context?.emit("phase", v);
    // only timing the run (the Run button's estimate): a slice of each phase, the rest estimated
    const slice = context?.timing ? timingSlice(c) : { pairPrompts: c.pairPrompts, rmSteps: c.rmSteps };
    let t = performance.now();
    const [train, heldout] = await pairsFor(engine, { ...c, pairPrompts: slice.pairPrompts }, levels, sft, (done, total) => phase({ phase: "pairs", done, total }));
    const pairsMs = performance.now() - t;
    rmRun = new RmRun(engine, { ...P.rm, steps: slice.rmSteps, batchSize: Math.min(P.rm.batchSize, train.length), evalEvery: slice.rmSteps }, c.seed, model, train, heldout, { sft });
    phase({ phase: "rm", done: 0, total: slice.rmSteps });
    t = performance.now();
    while (!rmRun.done) {
      await rmRun.next();
      if (rmRun.step % 10 === 0 || rmRun.done) phase({ phase: "rm", done: rmRun.step, total: slice.rmSteps });
    }
    const rmMs = performance.now() - t;
    context?.timing?.skipped(pairsMs * (promptsOf(c) / promptsOf({ ...c, ...slice }) - 1) + rmMs * (c.rmSteps / slice.rmSteps - 1));
    context?.emit("rm", { pairs: train.length, evaluation: await rmRun.evaluate() } satisfies RlhfRmView);
    const rm = rmRun.model;
    const proxy: SequenceReward = (prompts, replies) => rm.scoreSequences(prompts.map((p, i) => [...p, ...replies[i]!]));
    // 2. RL against it (or the rules), measured on held-out prompts
    run = new GrpoRun(engine, rlhfRlConfig(c), c.seed, model, { model: sft, step: 0 }, c.reward === "reward model" ? proxy : undefined);
    const problems = levels.flatMap((level) => evalProblems({ split: "heldout", problemsPerLevel: c.evalProblems, seed: 1 }, level));
    const measure = async (): Promise<Record<string, number>> => {
      const r: PolicyReport = await policyReport(run!.policy, run!.reference, problems, { ...P.report, samples: 2 }, proxy);
      return { heldout_gold_reward: r.gold_reward, heldout_proxy_reward: r.proxy_reward!, heldout_kl: r.kl };
    };
    phase({ phase: "rl", done: 0, total: c.steps });
    t = performance.now();
    context?.emit("start", await measure());
    // the timed steps are plain RL steps: add the held-out measurements the run will make after them
    const measurements = Math.floor(c.steps / c.evalEvery) + (c.steps % c.evalEvery === 0 ? 0 : 1);
    context?.timing?.skipped((performance.now() - t) * measurements);
    while (!run.done) {
      const started = performance.now();
      const r = await run.next();
      const rec: MetricRecord = { ...r, step: run.step, ms_per_step: performance.now() - started };
      delete rec.tokens_per_s;
      if (run.step % c.evalEvery === 0 || run.done) Object.assign(rec, await measure());
      yield rec;
    }
  } finally {
    run?.dispose();
    rmRun?.dispose();
  }
}

/**
 * Prompts per level for the pairs: the learner's count for training, a quarter as many held
 * out but at most the CLI preset's 300 (the held-out split has only about 1,200 distinct
 * level-1 questions), so the default matches `r1-lab train rm --preset default`.
 */
export function pairPromptCounts(c: RlhfJobConfig): { trainPromptsPerLevel: number; heldoutPromptsPerLevel: number } {
  return {
    trainPromptsPerLevel: c.pairPrompts,
    heldoutPromptsPerLevel: Math.min(P.pairs.heldoutPromptsPerLevel, Math.max(4, Math.round(c.pairPrompts / 4))),
  };
}

/** the part of the set-up a timing run does: enough prompts for full reward-model batches, 10 of its steps */
function timingSlice(c: RlhfJobConfig): { pairPrompts: number; rmSteps: number } {
  return { pairPrompts: Math.min(c.pairPrompts, 160), rmSteps: Math.min(c.rmSteps, 10) };
}

/** prompts sampled for the pairs (two replies each), train and held-out, over every level */
function promptsOf(c: RlhfJobConfig): number {
  const n = pairPromptCounts(c);
  return c.maxLevel * (n.trainPromptsPerLevel + n.heldoutPromptsPerLevel);
}

/** preference pairs for the reward model: train and held-out pairs from the SFT model */
async function pairsFor(
  engine: Engine, c: RlhfJobConfig, levels: number[], sft: TensorMap, onBatch: (done: number, total: number) => void,
): Promise<[PreferencePair[], PreferencePair[]]> {
  const sampler = new GPT(engine, PRETRAIN_PRESETS.default.model, c.seed);
  try {
    loadModelTensors(sampler, sft);
    const data = await samplePreferencePairs(sampler, {
      ...P.pairs, levels, ...pairPromptCounts(c),
    }, c.seed, onBatch);
    return [data.train, data.heldout];
  } finally {
    sampler.dispose();
  }
}

export function validateRlhf(c: RlhfJobConfig): string | null {
  if (c.groupSize < 2) return "a group needs at least 2 samples: the group is the baseline each sample is compared with";
  return null;
}

export const rlhfJob: JobDef<RlhfJobConfig> = {
  name: "rlhf",
  title: "RLHF: a learned reward model, and RL against it",
  description: "Sample preference pairs, train a Bradley–Terry reward model, then optimise against it and watch the gold reward.",
  params: [
    { key: "reward", label: "optimise", kind: "choice", choices: RLHF_REWARD_CHOICES, help: "the learned reward model (the proxy), or R1's rule rewards" },
    { key: "pairPrompts", label: "pair prompts per level", kind: "int", min: 8, max: 9_000, help: "two replies each; pairs the gold rule calls a tie are dropped (level 1 has under 10,000 distinct training questions)" },
    { key: "rmSteps", label: "reward-model steps", kind: "int", min: 1, max: 10_000 },
    { key: "prompts", label: "prompts per step (P)", kind: "int", min: 1, max: 64 },
    { key: "groupSize", label: "samples per prompt (G)", kind: "int", min: 2, max: 64 },
    { key: "lr", label: "learning rate", kind: "float", min: 1e-7, max: 1e-2 },
    { key: "beta", label: "KL weight β", kind: "float", min: 0, max: 1 },
    { key: "maxLevel", label: "levels 1 to", kind: "int", min: 1, max: 5 },
    { key: "evalEvery", label: "measure every", kind: "int", min: 1, max: 10_000, help: "steps between held-out measurements of gold, proxy and KL" },
    { key: "evalProblems", label: "held-out prompts per level", kind: "int", min: 1, max: 200 },
  ],
  presets: RLHF_JOB_PRESETS,
  charts: [
    { title: "held-out gold and proxy reward", keys: ["heldout_gold_reward", "heldout_proxy_reward"] },
    { title: "KL from the start (nats per reply)", keys: ["heldout_kl"] },
    { title: "reward optimised and gold reward of the sampled answers", keys: ["reward", "gold_reward"], smoothing: 0.6 },
  ],
  validate: validateRlhf,
  lossFalls: false,
  run: runRlhf,
};
