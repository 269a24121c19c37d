// What the three RLHF stage commands (train rm, train rlhf, train dpo) share: the
// SFT checkpoint they start from, the preference pairs, the reward model as a scorer,
// the held-out prompts every stage is measured on, and the stage's run loop.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evalProblems } from "../eval/evaluate.js";
import { appendMetrics, readConfig, readModel } from "../io/run-record-node.js";
import type { TensorMap } from "../io/safetensors.js";
import type { GPT, GPTConfig } from "../nn/gpt.js";
import { RewardModel } from "../nn/reward-model.js";
import type { SequenceReward } from "../rl/groups.js";
import type { Problem } from "../tasks/index.js";
import type { Engine } from "../tensor/engine.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { samplePreferencePairs, type PairsConfig, type PreferenceData } from "../train/preferences.js";
import type { RlhfPreset } from "../train/presets.js";
import type { StepRecord } from "../train/step.js";
import { UsageError } from "./args.js";
import { interruptedExit, watchInterrupt } from "./interrupt.js";
import { Progress } from "./progress.js";

export interface Checkpoint {
  stage: string;
  model: GPTConfig;
  tensors: TensorMap;
}

/** a run directory's weights and model config; `want` names the stages accepted */
export async function readCheckpoint(dir: string, want: readonly string[]): Promise<Checkpoint> {
  const saved = (await readConfig(dir)) as { stage?: string; model?: GPTConfig };
  if (!saved.model) throw new Error(`${dir}/config.json has no "model" section`);
  const stage = saved.stage ?? "?";
  if (!want.includes(stage)) throw new UsageError(`${dir} is a ${stage} run; expected ${want.join(" or ")}`);
  const { tensors } = await readModel(dir);
  return { stage, model: saved.model, tensors };
}

/** the reward model saved by `train rm` */
export async function loadRewardModel(engine: Engine, dir: string): Promise<RewardModel> {
  const ck = await readCheckpoint(dir, ["rm"]);
  const rm = new RewardModel(engine, ck.model, 1);
  loadModelTensors(rm, ck.tensors);
  return rm;
}

/** a reward model as the learned reward RL optimises: one score per prompt + reply */
export function rewardModelScorer(rm: RewardModel): SequenceReward {
  return (prompts, replies) => rm.scoreSequences(prompts.map((p, i) => [...p, ...replies[i]!]));
}

/** the held-out prompts every RLHF stage is measured on (the same for all three) */
export function reportProblems(preset: RlhfPreset): Problem[] {
  return preset.report.levels.flatMap((level) => evalProblems({ split: "heldout", problemsPerLevel: preset.report.problemsPerLevel, seed: 1 }, level));
}

/** Preference pairs: read from --pairs FILE, or sampled from the model (and saved as out/pairs.json). */
export async function preferencePairs(model: GPT, pairsFile: string | undefined, c: PairsConfig, seed: number, out: string): Promise<PreferenceData> {
  if (pairsFile) {
    const data = JSON.parse(await readFile(pairsFile, "utf8")) as PreferenceData;
    if (!Array.isArray(data.train) || !Array.isArray(data.heldout)) throw new UsageError(`${pairsFile} is not a pairs file (it needs "train" and "heldout" lists)`);
    return data;
  }
  const total = c.levels.length * (c.trainPromptsPerLevel + c.heldoutPromptsPerLevel);
  const bar = new Progress(total, "sampling preference pairs (prompts)");
  const data = await samplePreferencePairs(model, c, seed, (done) => bar.update(done));
  await writeFile(join(out, "pairs.json"), JSON.stringify(data) + "\n");
  return data;
}

/** summary numbers of a pair set: how many pairs, how many ties were dropped, how many labels were flipped */
export function pairStats(d: PreferenceData): Record<string, number> {
  const flipped = d.train.filter((p) => p.flipped).length;
  return {
    pairs_train: d.train.length, pairs_heldout: d.heldout.length,
    pairs_tie_share: round(1 - (d.train.length + d.heldout.length) / Math.max(1, d.sampled.train + d.sampled.heldout)),
    pairs_flipped_share: round(flipped / Math.max(1, d.train.length)),
  };
}

/**
 * The loop every stage runs: step until done or interrupted, one metrics.jsonl line
 * per step, a progress line. Returns false when a signal stopped it (the caller saves
 * and exits with interruptedExit's code).
 */
export async function runLoop<R extends StepRecord>(
  run: { done: boolean; step: number; next(): Promise<R> }, total: number, label: string, out: string, note: (r: R) => string,
  /** adds fields to a step's record before it is written (a periodic held-out measurement) */
  enrich?: (r: R) => Promise<void>,
): Promise<{ last: R | null; interrupted: string | null }> {
  const progress = new Progress(total, label);
  const interrupt = watchInterrupt();
  let last: R | null = null;
  try {
    while (!run.done && !interrupt.requested) {
      last = await run.next();
      await enrich?.(last);
      await appendMetrics(out, last as never);
      progress.update(run.step, note(last));
    }
  } finally {
    interrupt.dispose();
  }
  return { last, interrupted: interrupt.requested ? (interrupt.signal ?? "a signal") : null };
}

export { interruptedExit };

export function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

export function pct(x: number | null | undefined): string {
  return x == null ? "?" : `${(x * 100).toFixed(1)}%`;
}
