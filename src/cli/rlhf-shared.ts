// What the three RLHF stage commands (train rm, train rlhf, train dpo) share besides
// runStage (stage.ts): the SFT checkpoint they start from, the preference pairs, the
// reward model as a scorer, and the held-out prompts every stage is measured on.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evalProblems } from "../eval/evaluate.js";
import { readConfig, readModel } from "../io/run-record-node.js";
import type { PolicyReport } from "../eval/preference.js";
import type { TensorMap } from "../io/safetensors.js";
import type { GPT, GPTConfig } from "../nn/gpt.js";
import type { RewardModel } from "../nn/reward-model.js";
import type { SequenceReward } from "../rl/groups.js";
import type { Problem } from "../tasks/index.js";
import { samplePreferencePairs, type PairsConfig, type PreferenceData } from "../train/preferences.js";
import type { RlhfPreset } from "../train/presets.js";
import { UsageError } from "./args.js";
import { Progress } from "./progress.js";
import { round } from "./stage.js";

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
  await mkdir(out, { recursive: true }); // runStage makes it only after build
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

/** a policy report as summary metrics, each key with a suffix ("_before" for the starting model) */
export function flatReport(r: PolicyReport, suffix: string): Record<string, number | null> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [`${k}${suffix}`, v === null ? null : round(v)]));
}
