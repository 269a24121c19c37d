// Supervised fine-tuning on cold-start traces (R1's first stage after the base model).
//
// An SftRun starts from a base model's weights, reads the traces in padded
// batches (src/train/sft-data.ts) and takes one AdamW step per call with the
// loss on completion tokens only. Every `evalEvery` steps it also measures what
// the learner cares about: validation loss on val-split traces, and, by greedy
// sampling on held-out problems, the answer accuracy and the format rate. Like
// PretrainRun, the CLI loops it, a page runs or single-steps it, and tests drive
// it; each record it returns is a line of metrics.jsonl.
import { evalProblems, gradeGreedy } from "../eval/evaluate.js";
import type { TensorMap } from "../io/safetensors.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import type { ExpertLoad } from "../nn/moe.js";
import { AdamW } from "../optim/adamw.js";
import { learningRate } from "../optim/schedule.js";
import { type Granularity, makeTraceSet, maxTraceTokens } from "../tasks/index.js";
import type { Engine } from "../tensor/engine.js";
import { loadModelTensors, loadOptimizerTensors, modelTensors, optimizerTensors } from "./checkpoint.js";
import { batchIndices, exampleFromTrace, padBatch, type SftExample } from "./sft-data.js";
import { meanImbalance, routerBalanceStep, trainStep, type OptimSettings, type StepRecord } from "./step.js";

export interface SftConfig extends OptimSettings {
  /** how the traces think (src/tasks/traces.ts) */
  granularity: Granularity;
  /** training traces per level, levels 1… in order (a 0 leaves a level out) */
  perLevel: number[];
  /** seed of the trace set (the data/traces files use 1) */
  dataSeed: number;
  /** validation traces per trained level, for the validation loss */
  valPerLevel: number;
  /** validation loss and held-out greedy accuracy / format rate every this many steps (and at the end) */
  evalEvery: number;
  /** held-out problems per trained level for those periodic evaluations */
  evalProblemsPerLevel: number;
}

export interface SftRecord extends StepRecord {
  /** on evaluation steps */
  heldout_accuracy?: number;
  format_rate?: number;
}

export interface SftResume {
  /** the weights to start from; none = the model's random initialisation (SFT without pretraining) */
  model?: TensorMap;
  optimizer?: TensorMap;
  step: number;
}

/** The levels a config trains on (those with traces). */
export function trainedLevels(c: Pick<SftConfig, "perLevel">): number[] {
  return c.perLevel.flatMap((n, i) => (n > 0 ? [i + 1] : []));
}

export class SftRun {
  readonly model: GPT;
  readonly optimizer: AdamW;
  readonly train: SftExample[];
  readonly val: SftExample[];
  step = 0;
  /** an MoE model's expert loads in the last step (over completion tokens), one per MoE layer ([] for a dense model) */
  expertLoads: ExpertLoad[] = [];

  constructor(readonly engine: Engine, readonly config: SftConfig, readonly seed: number, modelConfig: GPTConfig, start: SftResume) {
    const levels = trainedLevels(config);
    const longest = Math.max(...levels.map((l) => maxTraceTokens(l, config.granularity)));
    if (longest > modelConfig.maxSeqLen) {
      throw new Error(
        `the longest ${config.granularity} trace of levels ${levels.join(",")} takes ${longest} tokens; ` +
          `the model's context (maxSeqLen) is ${modelConfig.maxSeqLen}. Use a base with a longer context, or fewer levels.`,
      );
    }
    this.model = new GPT(engine, modelConfig, seed);
    if (start.model) loadModelTensors(this.model, start.model);
    const params = this.model.parameters();
    const noDecay = new Set(params.flatMap((p, i) => (p.decay ? [] : [i])));
    this.optimizer = new AdamW(engine, params.map((p) => p.tensor), {
      lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm,
    }, noDecay);
    if (start.optimizer) {
      loadOptimizerTensors(this.model, this.optimizer, start.optimizer, start.step);
      this.step = start.step;
    }
    const traces = (split: "train" | "val", perLevel: number[]) =>
      makeTraceSet({ seed: config.dataSeed, granularity: config.granularity, perLevel, split }).map(exampleFromTrace);
    this.train = traces("train", config.perLevel);
    this.val = traces("val", config.perLevel.map((n) => (n > 0 ? config.valPerLevel : 0)));
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  lrAt(step: number): number {
    const c = this.config;
    return learningRate(step, { peak: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minRatio: c.minLrRatio });
  }

  /** the padded batch of step s (the same for the same seed, however the run was interrupted) */
  batchAt(s: number) {
    return padBatch(batchIndices(this.train.length, this.config.batchSize, this.seed, s).map((i) => this.train[i]!));
  }

  async next(): Promise<SftRecord> {
    const e = this.engine;
    const s = this.step;
    const start = performance.now();
    const batch = this.batchAt(s);
    const lr = this.lrAt(s);
    const ids = e.tensor(batch.ids, [batch.B, batch.T], "i32");
    const targets = e.tensor(batch.targets, [batch.B, batch.T], "i32");
    const mask = e.tensor(batch.mask, [batch.B, batch.T], "f32");
    const pending = trainStep(e, this.optimizer, () => this.model.trainingLoss(ids, targets, mask, batch.count), lr, s);
    ids.dispose();
    targets.dispose();
    mask.dispose();
    const scalars = await pending;
    // MoE: this step's expert loads, and the aux-loss-free bias update (before any other forward)
    this.expertLoads = await routerBalanceStep(this.model);
    this.step++;
    const record: SftRecord = {
      step: s, loss: scalars.loss, grad_norm: scalars.gradNorm, lr,
      tokens_per_s: (batch.B * batch.T) / ((performance.now() - start) / 1000),
    };
    if (this.expertLoads.length > 0) record.load_imbalance = meanImbalance(this.expertLoads);
    if (this.step % this.config.evalEvery === 0 || this.done) Object.assign(record, await this.evaluateNow());
    return record;
  }

  /** validation loss, plus greedy held-out accuracy and format rate (with thinking) */
  async evaluateNow(): Promise<{ val_loss: number; heldout_accuracy: number; format_rate: number }> {
    const val_loss = await this.validationLoss();
    // the same held-out problems at every evaluation (seed 1), so the curve moves only because the model does
    const problems = trainedLevels(this.config).flatMap((level) =>
      evalProblems({ split: "heldout", problemsPerLevel: this.config.evalProblemsPerLevel, seed: 1 }, level));
    const graded = await gradeGreedy(this.model, problems, "think", 64);
    const share = (f: (g: (typeof graded)[number]) => boolean) => graded.filter(f).length / Math.max(1, graded.length);
    return { val_loss, heldout_accuracy: share((g) => g.correct), format_rate: share((g) => g.formatOk) };
  }

  /** completion-only loss over all validation traces (token-weighted) */
  async validationLoss(batchSize = 32): Promise<number> {
    const e = this.engine;
    let total = 0;
    let count = 0;
    for (let i = 0; i < this.val.length; i += batchSize) {
      const batch = padBatch(this.val.slice(i, i + batchSize));
      const loss = e.scope(() =>
        e.noGrad(() =>
          this.model.loss(
            e.tensor(batch.ids, [batch.B, batch.T], "i32"),
            e.tensor(batch.targets, [batch.B, batch.T], "i32"),
            e.tensor(batch.mask, [batch.B, batch.T], "f32"),
            batch.count,
          ),
        ),
      );
      total += (await loss.item()) * batch.count;
      count += batch.count;
      loss.dispose();
    }
    return total / Math.max(1, count);
  }

  async checkpoint(): Promise<{ model: TensorMap; optimizer: TensorMap }> {
    return { model: await modelTensors(this.model), optimizer: await optimizerTensors(this.model, this.optimizer) };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
