// Training a reward model on preference pairs (InstructGPT's step 2).
//
// Each step takes P pairs, scores all 2P replies in one batch (chosen ones first),
// and minimises the Bradley–Terry loss −log σ(r_w − r_l) (src/rl/preference.ts).
// The model starts as the SFT checkpoint's trunk with a fresh scalar head
// (src/nn/reward-model.ts). Evaluation on held-out pairs gives
//   accuracy      share of pairs where the chosen reply scores higher (the labels as
//                 the noisy rater gave them, and against the gold rule itself)
//   calibration   pairs binned by the predicted P(a ≻ b) = σ(r_a − r_b), with the
//                 rate at which a was in fact preferred in each bin: a calibrated
//                 model's points lie on the diagonal.

import { mean } from "../eval/metrics.js";
import type { TensorMap } from "../io/safetensors.js";
import type { GPTConfig } from "../nn/gpt.js";
import { RewardModel, packSequences } from "../nn/reward-model.js";
import { AdamW } from "../optim/adamw.js";
import { learningRate } from "../optim/schedule.js";
import { bradleyTerryLoss } from "../rl/preference.js";
import { mulberry32 } from "../tasks/index.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { loadModelTensors, modelTensors } from "./checkpoint.js";
import { pairBatchAt, pairPromptIds, type PreferencePair } from "./preferences.js";
import { trainStep, type OptimSettings, type StepRecord } from "./step.js";

export interface RmConfig extends OptimSettings {
  /** evaluate on the held-out pairs every this many steps (and at the end) */
  evalEvery: number;
  /** calibration bins over [0, 1] */
  calibrationBins: number;
}

export interface RmRecord extends StepRecord {
  /** share of this batch's pairs ranked as labelled */
  accuracy: number;
  /** mean r_w − r_l over the batch */
  margin: number;
  heldout_accuracy?: number;
  heldout_gold_accuracy?: number;
}

export interface CalibrationBin {
  /** mean predicted P(a ≻ b) of the pairs in the bin */
  predicted: number;
  /** share of them where a was the preferred reply */
  observed: number;
  count: number;
}

export interface RmEvaluation {
  /** agreement with the held-out labels (noisy like the training labels) */
  accuracy: number;
  /** agreement with the gold rule (the flipped labels counted the other way) */
  goldAccuracy: number;
  loss: number;
  calibration: CalibrationBin[];
}

export class RmRun {
  readonly model: RewardModel;
  readonly optimizer: AdamW;
  step = 0;

  /** `sft`: the trunk's starting weights (the SFT checkpoint); `rm`: a whole reward model instead */
  constructor(readonly engine: Engine, readonly config: RmConfig, readonly seed: number, modelConfig: GPTConfig,
    readonly train: readonly PreferencePair[], readonly heldout: readonly PreferencePair[], start: { sft: TensorMap } | { rm: TensorMap }) {
    if (train.length < config.batchSize) throw new RangeError(`rm: ${train.length} training pairs, fewer than one batch of ${config.batchSize}`);
    if (!Number.isInteger(config.evalEvery) || config.evalEvery < 1) throw new RangeError(`rm: evalEvery must be an integer ≥ 1, got ${config.evalEvery}`);
    this.model = new RewardModel(engine, modelConfig, seed);
    if ("sft" in start) loadModelTensors(this.model.trunk, start.sft);
    else loadModelTensors(this.model, start.rm);
    const params = this.model.parameters();
    const noDecay = new Set(params.flatMap((p, i) => (p.decay ? [] : [i])));
    this.optimizer = new AdamW(engine, params.map((p) => p.tensor), { lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm }, noDecay);
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  /** the pairs of step `step` (the same for the same seed and step) */
  batchAt(step: number): PreferencePair[] {
    return pairBatchAt(this.train, this.config.batchSize, this.seed, step);
  }

  async next(): Promise<RmRecord> {
    const c = this.config;
    const s = this.step;
    const e = this.engine;
    const started = performance.now();
    const lr = learningRate(s, { peak: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minRatio: c.minLrRatio });
    const pairs = this.batchAt(s);
    const P = pairs.length;
    let marginTensor: Tensor | null = null;
    const { loss, gradNorm } = await trainStep(e, this.optimizer, () => {
      const r = this.scoreReplies(pairs.map((p) => p.chosen).concat(pairs.map((p) => p.rejected)), pairs.concat(pairs));
      const chosen = e.slice(r, 0, 0, P);
      const rejected = e.slice(r, 0, P, 2 * P);
      marginTensor = e.keep(e.noGrad(() => e.sub(chosen, rejected)));
      return bradleyTerryLoss(e, chosen, rejected);
    }, lr, s);
    const margins = Array.from(await marginTensor!.data());
    marginTensor!.dispose();
    this.step++;
    const record: RmRecord = {
      step: s, loss, grad_norm: gradNorm, lr,
      tokens_per_s: pairs.reduce((n, p) => n + p.chosen.length + p.rejected.length, 0) / ((performance.now() - started) / 1000),
      accuracy: mean(margins.map((m) => (m > 0 ? 1 : 0))), margin: mean(margins),
    };
    if (this.step % c.evalEvery === 0 || this.done) {
      const ev = await this.evaluate();
      record.heldout_accuracy = ev.accuracy;
      record.heldout_gold_accuracy = ev.goldAccuracy;
      record.val_loss = ev.loss;
    }
    return record;
  }

  /** scores [n] of replies (prompt + reply) to the pairs' prompts, on the tape */
  private scoreReplies(replies: readonly number[][], pairs: readonly PreferencePair[]) {
    const e = this.engine;
    const packed = packSequences(replies.map((r, i) => [...pairPromptIds(pairs[i]!), ...r]));
    return this.model.score(e.tensor(packed.ids, [packed.B, packed.T], "i32"), packed.lastIndex);
  }

  /** the scores of the chosen and rejected reply of every pair, in batches, without gradients */
  async scorePairs(pairs: readonly PreferencePair[], batch = 64): Promise<{ chosen: number[]; rejected: number[] }> {
    const e = this.engine;
    const chosen: number[] = [];
    const rejected: number[] = [];
    for (let at = 0; at < pairs.length; at += batch) {
      const part = pairs.slice(at, at + batch);
      const r = e.scope(() => e.noGrad(() => this.scoreReplies(part.map((p) => p.chosen).concat(part.map((p) => p.rejected)), part.concat(part))));
      const v = await r.data();
      r.dispose();
      chosen.push(...Array.from(v.subarray(0, part.length)));
      rejected.push(...Array.from(v.subarray(part.length)));
    }
    return { chosen, rejected };
  }

  async evaluate(pairs: readonly PreferencePair[] = this.heldout): Promise<RmEvaluation> {
    const { chosen, rejected } = await this.scorePairs(pairs);
    const margins = chosen.map((c, i) => c - rejected[i]!);
    // −log σ(m) in float64, for the held-out loss
    const nls = (m: number) => Math.max(-m, 0) + Math.log1p(Math.exp(-Math.abs(m)));
    return {
      accuracy: mean(margins.map((m) => (m > 0 ? 1 : 0))),
      goldAccuracy: mean(margins.map((m, i) => ((m > 0) !== pairs[i]!.flipped ? 1 : 0))),
      loss: mean(margins.map(nls)),
      calibration: calibrationBins(margins, this.config.calibrationBins, this.seed),
    };
  }

  async checkpoint(): Promise<TensorMap> {
    return modelTensors(this.model);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/**
 * Calibration of a Bradley–Terry model from its margins r_w − r_l on labelled pairs.
 * Each pair is shown in a seeded random order (a, b), so predictions cover [0, 1]:
 * predicted P(a ≻ b) = σ(r_a − r_b); observed = 1 when a was the labelled winner.
 */
export function calibrationBins(margins: readonly number[], bins: number, seed: number): CalibrationBin[] {
  const rng = mulberry32(seed);
  const sums = Array.from({ length: bins }, () => ({ p: 0, won: 0, count: 0 }));
  for (const m of margins) {
    const aIsChosen = rng() < 0.5;
    const p = 1 / (1 + Math.exp(-(aIsChosen ? m : -m)));
    const bin = sums[Math.min(bins - 1, Math.floor(p * bins))]!;
    bin.p += p;
    bin.won += aIsChosen ? 1 : 0;
    bin.count++;
  }
  return sums.map((s) => ({ predicted: s.count ? s.p / s.count : NaN, observed: s.count ? s.won / s.count : NaN, count: s.count }));
}

