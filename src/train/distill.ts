// Distillation: a smaller student learns from the teacher's kept traces (R1-Distill).
//
// Sequence-level (Kim & Rush 2016), what DeepSeek did: plain SFT on the replies the
// teacher wrote and the verifier passed (src/train/rejection.ts). The batches are the
// cold start's (src/train/sft-data.ts): completion-only loss, right padding.
//
// Token-level (Hinton et al. 2015), as an option (kdAlpha > 0): at every completion
// position the student also matches the teacher's whole next-token distribution at
// temperature T (src/train/kd.ts), which needs the teacher's forward pass on each batch:
//   L = (1 − α)·CE + α·T²·KL(p_teacher,T ‖ q_student,T)
//
// Like SftRun, the CLI loops it, a page runs or single-steps it, and tests drive it.
// Each record also carries the FLOPs spent so far: 3 forward passes' worth per trained
// token (forward + backward), plus one teacher forward per token with token-level KD.

import { sampleGraded, greedyScores, type StyledSampling } from "../eval/styled.js";
import { evalProblems } from "../eval/evaluate.js";
import type { TensorMap } from "../io/safetensors.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import { AdamW } from "../optim/adamw.js";
import { learningRate } from "../optim/schedule.js";
import { CHAT, type Trace } from "../tasks/index.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { loadModelTensors, loadOptimizerTensors, modelTensors, optimizerTensors } from "./checkpoint.js";
import { kdLoss } from "./kd.js";
import { batchIndices, exampleFromTrace, padBatch, type SftExample } from "./sft-data.js";
import { trainStep, type OptimSettings, type StepRecord } from "./step.js";

export interface DistillConfig extends OptimSettings {
  /** α: weight of the token-level KD term (0 = sequence-level distillation only) */
  kdAlpha: number;
  /** T of the token-level term */
  kdTemperature: number;
  /** greedy held-out accuracy every this many steps (and at the end) */
  evalEvery: number;
  evalProblemsPerLevel: number;
  /** the levels of that periodic evaluation */
  levels: number[];
}

export interface DistillRecord extends StepRecord {
  /** the cross-entropy on the teacher's tokens */
  ce: number;
  /** the T²·KL term (token-level KD only) */
  kd?: number;
  /** FLOPs of training so far */
  flops: number;
  heldout_accuracy?: number;
  format_rate?: number;
}

export interface DistillStart {
  /** the student's starting weights (a base model); none = random initialisation */
  model?: TensorMap;
  optimizer?: TensorMap;
  step: number;
  flops?: number;
}

export interface TeacherWeights {
  config: GPTConfig;
  model: TensorMap;
}

export function validateDistillConfig(c: DistillConfig): void {
  if (!(c.kdAlpha >= 0 && c.kdAlpha <= 1)) throw new RangeError(`distill: kdAlpha must be in [0, 1], got ${c.kdAlpha}`);
  if (!(c.kdTemperature > 0)) throw new RangeError(`distill: kdTemperature must be > 0, got ${c.kdTemperature}`);
  if (!Number.isInteger(c.steps) || c.steps < 1) throw new RangeError(`distill: steps must be an integer ≥ 1, got ${c.steps}`);
}

/** Training FLOPs of one step on a padded batch: (3 student + KD? 1 teacher) forward passes per token. */
export function stepFlops(student: GPT, teacher: GPT | null, B: number, T: number): number {
  return B * T * (3 * student.flopsPerToken(T) + (teacher ? teacher.flopsPerToken(T) : 0));
}

export class DistillRun {
  readonly student: GPT;
  readonly teacher: GPT | null;
  readonly optimizer: AdamW;
  readonly train: SftExample[];
  /** kept traces too long for the student's context, left out */
  readonly dropped: number;
  step = 0;
  flops = 0;

  constructor(readonly engine: Engine, readonly config: DistillConfig, readonly seed: number, studentConfig: GPTConfig, start: DistillStart, traces: readonly Pick<Trace, "prompt" | "completion">[], teacher?: TeacherWeights) {
    validateDistillConfig(config);
    const examples = traces.map(exampleFromTrace);
    this.train = examples.filter((x) => x.ids.length <= studentConfig.maxSeqLen);
    this.dropped = examples.length - this.train.length;
    if (config.kdAlpha > 0 && !teacher) throw new Error("distill: token-level KD (kdAlpha > 0) needs the teacher's weights");
    if (teacher && teacher.config.vocabSize !== studentConfig.vocabSize) throw new Error("distill: teacher and student must share the vocabulary");
    this.student = new GPT(engine, studentConfig, seed);
    if (start.model) loadModelTensors(this.student, start.model);
    this.teacher = config.kdAlpha > 0 && teacher ? new GPT(engine, teacher.config, seed) : null;
    if (this.teacher) loadModelTensors(this.teacher, teacher!.model);
    const params = this.student.parameters();
    const noDecay = new Set(params.flatMap((p, i) => (p.decay ? [] : [i])));
    this.optimizer = new AdamW(engine, params.map((p) => p.tensor), { lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm }, noDecay);
    if (start.optimizer) {
      loadOptimizerTensors(this.student, this.optimizer, start.optimizer, start.step);
      this.step = start.step;
      this.flops = start.flops ?? 0;
    }
  }

  /** finished; at once when there is nothing to learn from (a teacher that kept no trace) */
  get done(): boolean {
    return this.train.length === 0 || this.step >= this.config.steps;
  }

  lrAt(step: number): number {
    const c = this.config;
    return learningRate(step, { peak: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minRatio: c.minLrRatio });
  }

  /** the padded batch of step s (the same for the same seed) */
  batchAt(s: number) {
    return padBatch(batchIndices(this.train.length, this.config.batchSize, this.seed, s).map((i) => this.train[i]!));
  }

  async next(): Promise<DistillRecord> {
    const e = this.engine;
    const c = this.config;
    const s = this.step;
    const start = performance.now();
    const batch = this.batchAt(s);
    const lr = this.lrAt(s);
    const N = batch.B * batch.T;
    const ids = e.tensor(batch.ids, [batch.B, batch.T], "i32");
    const targets = e.tensor(batch.targets, [N], "i32");
    const mask = e.tensor(batch.mask, [N], "f32");
    let parts: Tensor | null = null;
    const pending = trainStep(e, this.optimizer, () => {
      const logits = this.student.forward(ids);
      const ce = e.meanCrossEntropy(logits, targets, mask, batch.count);
      if (!this.teacher) {
        parts = e.keep(e.reshape(ce, [1]));
        return ce;
      }
      const teacherLogits = e.noGrad(() => this.teacher!.forward(ids));
      const kd = kdLoss(e, logits, teacherLogits, c.kdTemperature, mask, batch.count);
      parts = e.keep(e.concat([e.reshape(ce, [1]), e.reshape(kd, [1])], 0));
      return e.add(e.scale(ce, 1 - c.kdAlpha), e.scale(kd, c.kdAlpha));
    }, lr, s);
    ids.dispose();
    targets.dispose();
    mask.dispose();
    const scalars = await pending;
    const values = await parts!.data();
    parts!.dispose();
    this.flops += stepFlops(this.student, this.teacher, batch.B, batch.T);
    this.step++;
    const record: DistillRecord = {
      step: s, loss: scalars.loss, grad_norm: scalars.gradNorm, lr,
      tokens_per_s: N / ((performance.now() - start) / 1000), ce: values[0]!, flops: this.flops,
    };
    if (this.teacher) record.kd = values[1]!;
    if (this.step % c.evalEvery === 0 || this.done) {
      const h = await this.heldoutScores();
      record.heldout_accuracy = h.accuracy;
      record.format_rate = h.format_rate;
    }
    return record;
  }

  /** greedy held-out accuracy and format rate in R1's chat template */
  async heldoutScores(): Promise<{ accuracy: number; format_rate: number }> {
    const problems = this.config.levels.flatMap((level) => evalProblems({ split: "heldout", problemsPerLevel: this.config.evalProblemsPerLevel, seed: 1 }, level));
    const greedy: StyledSampling = { samples: 1, temperature: 0, topP: 1, seed: 1, batchSize: 128, maxNewTokens: this.student.config.maxSeqLen };
    const g = greedyScores(await sampleGraded(this.student, problems, CHAT, greedy));
    return { accuracy: g.accuracy, format_rate: g.format_rate };
  }

  async checkpoint(): Promise<{ model: TensorMap; optimizer: TensorMap }> {
    return { model: await modelTensors(this.student), optimizer: await optimizerTensors(this.student, this.optimizer) };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.student.dispose();
    this.teacher?.dispose();
  }
}
