// Pretraining: next-token prediction on the textbook, from random weights.
//
// A PretrainRun owns the model, the optimiser and the data, and advances one step
// per call, so the CLI can loop it, a page can run, pause or single-step it, and
// tests can drive it — all through the same code. Every record it returns is a
// line of metrics.jsonl.

import { GPT } from "../nn/gpt.js";
import type { ExpertLoad } from "../nn/moe.js";
import { AdamW } from "../optim/adamw.js";
import { learningRate } from "../optim/schedule.js";
import type { Engine } from "../tensor/engine.js";
import type { TensorMap } from "../io/safetensors.js";
import { loadModelTensors, loadOptimizerTensors, modelTensors, optimizerTensors } from "./checkpoint.js";
import { directAccuracy, heldoutDirectProblems } from "./eval.js";
import type { PretrainConfig } from "./presets.js";
import { loadTextbook, randomBatch, unigramLoss, validationBatches, type TextData, type ValidationBatch } from "./text-data.js";
import { meanImbalance, routerBalanceStep, trainStep, type StepRecord } from "./step.js";

export type PretrainRecord = StepRecord;

export interface ResumeState {
  model: TensorMap;
  optimizer?: TensorMap;
  /** steps already taken */
  step: number;
}

export class PretrainRun {
  readonly model: GPT;
  readonly optimizer: AdamW;
  readonly data: TextData;
  /** steps taken so far (the next step's index) */
  step = 0;
  /** an MoE model's expert loads in the last step, one per MoE layer ([] for a dense model) */
  expertLoads: ExpertLoad[] = [];
  readonly unigramValLoss: number;
  private valSet: ValidationBatch[];

  constructor(readonly engine: Engine, readonly config: PretrainConfig, readonly seed: number, resume?: ResumeState, data?: TextData) {
    if (config.seqLen > config.model.maxSeqLen) throw new Error(`seqLen ${config.seqLen} exceeds the model's maxSeqLen ${config.model.maxSeqLen}`);
    this.data = data ?? loadTextbook();
    this.model = new GPT(engine, config.model, seed);
    const params = this.model.parameters();
    const noDecay = new Set(params.flatMap((p, i) => (p.decay ? [] : [i])));
    this.optimizer = new AdamW(engine, params.map((p) => p.tensor), {
      lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm,
    }, noDecay);
    if (resume) {
      loadModelTensors(this.model, resume.model);
      if (resume.optimizer) loadOptimizerTensors(this.model, this.optimizer, resume.optimizer, resume.step);
      this.step = resume.step;
    }
    this.unigramValLoss = unigramLoss(this.data);
    this.valSet = validationBatches(this.data.val, config.batchSize, config.seqLen, config.evalBatches);
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  lrAt(step: number): number {
    const c = this.config;
    return learningRate(step, { peak: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minRatio: c.minLrRatio });
  }

  /** one optimisation step (plus a validation pass on evaluation steps) */
  async next(): Promise<PretrainRecord> {
    const { batchSize: B, seqLen: T } = this.config;
    const e = this.engine;
    const s = this.step;
    const start = performance.now();
    const batch = randomBatch(this.data.train, B, T, this.seed, s);
    const lr = this.lrAt(s);
    const ids = e.tensor(batch.ids, [B, T], "i32");
    const targets = e.tensor(batch.targets, [B, T], "i32");
    // next-token cross-entropy (plus the balance loss of an MoE model that has one)
    const pending = trainStep(e, this.optimizer, () => this.model.trainingLoss(ids, targets), lr, s);
    ids.dispose();
    targets.dispose();
    const scalars = await pending;
    // MoE: this step's expert loads, and the aux-loss-free bias update (before any other forward)
    this.expertLoads = await routerBalanceStep(this.model);
    this.step++;
    const now = performance.now();
    const record: PretrainRecord = {
      step: s, loss: scalars.loss, grad_norm: scalars.gradNorm, lr,
      tokens_per_s: (B * T) / ((now - start) / 1000),
    };
    if (this.expertLoads.length > 0) record.load_imbalance = meanImbalance(this.expertLoads);
    if (this.step % this.config.evalEvery === 0 || this.done) record.val_loss = await this.validationLoss();
    return record;
  }

  /** mean loss per predicted token over the validation batches (the whole stream, unless evalBatches cuts it) */
  async validationLoss(): Promise<number> {
    const e = this.engine;
    let total = 0;
    let tokens = 0;
    for (const v of this.valSet) {
      const loss = e.scope(() =>
        e.noGrad(() => this.model.loss(e.tensor(v.ids, [v.rows, v.T], "i32"), e.tensor(v.targets, [v.rows, v.T], "i32"))),
      );
      // batches differ in size (the last ones are smaller): weight each by its tokens
      total += (await loss.item()) * v.rows * v.T;
      tokens += v.rows * v.T;
      loss.dispose();
    }
    return total / Math.max(1, tokens);
  }

  /** the base model answering held-out questions directly */
  heldoutAccuracy(seed = 1): Promise<{ accuracy: number; correct: number; total: number }> {
    return directAccuracy(this.model, heldoutDirectProblems(this.config.heldoutQuestions, seed));
  }

  async checkpoint(): Promise<{ model: TensorMap; optimizer: TensorMap }> {
    return { model: await modelTensors(this.model), optimizer: await optimizerTensors(this.model, this.optimizer) };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
