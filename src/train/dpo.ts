// Direct Preference Optimisation (Rafailov et al. 2023): the RLHF objective solved
// in closed form, so the policy is trained on the preference pairs directly, with no
// reward model and no sampling. Each step takes P pairs, computes the sequence
// log-probabilities of all 2P replies under the policy (on the tape) and under the
// frozen reference (the SFT model, constants), and minimises
//   −log σ(β·log π_θ(y_w)/π_ref(y_w) − β·log π_θ(y_l)/π_ref(y_l))    (src/rl/preference.ts)

import { mean } from "../eval/metrics.js";
import type { TensorMap } from "../io/safetensors.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import { AdamW } from "../optim/adamw.js";
import { learningRate } from "../optim/schedule.js";
import { dpoLoss, sequenceLogProbs } from "../rl/preference.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { loadModelTensors, modelTensors } from "./checkpoint.js";
import { pairBatchAt, pairPromptIds, type PreferencePair } from "./preferences.js";
import { trainStep, type OptimSettings, type StepRecord } from "./step.js";

export interface DpoConfig extends OptimSettings {
  /** β: how strongly the policy is held to the reference (DPO's paper: 0.1) */
  beta: number;
}

export interface DpoRecord extends StepRecord {
  /** share of the batch's pairs whose implicit reward ranks them as labelled */
  "rewards/accuracies": number;
  /** mean β·log π/π_ref of the chosen and of the rejected replies (TRL's names) */
  "rewards/chosen": number;
  "rewards/rejected": number;
}

export class DpoRun {
  readonly policy: GPT;
  readonly reference: GPT;
  readonly optimizer: AdamW;
  step = 0;

  private train: readonly PreferencePair[] = [];

  /** `train`: the pairs (or set them later with setPairs, e.g. after sampling them from the reference) */
  constructor(readonly engine: Engine, readonly config: DpoConfig, readonly seed: number, modelConfig: GPTConfig,
    train: readonly PreferencePair[], start: TensorMap, pairsLater = false) {
    if (!(config.beta > 0)) throw new RangeError(`dpo: beta must be > 0, got ${config.beta}`);
    if (!pairsLater) this.setPairs(train);
    this.policy = new GPT(engine, modelConfig, seed);
    loadModelTensors(this.policy, start);
    this.reference = new GPT(engine, modelConfig, seed);
    loadModelTensors(this.reference, start);
    const params = this.policy.parameters();
    const noDecay = new Set(params.flatMap((p, i) => (p.decay ? [] : [i])));
    this.optimizer = new AdamW(engine, params.map((p) => p.tensor), { lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm }, noDecay);
  }

  setPairs(train: readonly PreferencePair[]): void {
    if (train.length < this.config.batchSize) throw new RangeError(`dpo: ${train.length} training pairs, fewer than one batch of ${this.config.batchSize}`);
    this.train = train;
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  /** the pairs of step `step` (the same for the same seed and step) */
  batchAt(step: number): PreferencePair[] {
    return pairBatchAt(this.train, this.config.batchSize, this.seed, step);
  }

  async next(): Promise<DpoRecord> {
    const c = this.config;
    const e = this.engine;
    const s = this.step;
    const started = performance.now();
    const lr = learningRate(s, { peak: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minRatio: c.minLrRatio });
    const pairs = this.batchAt(s);
    const P = pairs.length;
    const prompts = pairs.concat(pairs).map(pairPromptIds);
    const replies = pairs.map((p) => p.chosen).concat(pairs.map((p) => p.rejected));
    const ref = e.scope(() => e.noGrad(() => sequenceLogProbs(e, this.reference, prompts, replies)));
    let rewards: Tensor | null = null;
    const { loss, gradNorm } = await trainStep(e, this.optimizer, () => {
      const pol = sequenceLogProbs(e, this.policy, prompts, replies);
      const out = dpoLoss(e, {
        policyChosen: e.slice(pol, 0, 0, P), policyRejected: e.slice(pol, 0, P, 2 * P),
        refChosen: e.slice(ref, 0, 0, P), refRejected: e.slice(ref, 0, P, 2 * P),
      }, c.beta);
      rewards = e.keep(e.noGrad(() => e.concat([out.chosenReward, out.rejectedReward], 0)));
      return out.loss;
    }, lr, s);
    ref.dispose();
    const r = await rewards!.data();
    rewards!.dispose();
    const chosen = Array.from(r.subarray(0, P));
    const rejected = Array.from(r.subarray(P));
    this.step++;
    return {
      step: s, loss, grad_norm: gradNorm, lr,
      tokens_per_s: replies.reduce((n, x) => n + x.length, 0) / ((performance.now() - started) / 1000),
      "rewards/accuracies": mean(chosen.map((x, i) => (x > rejected[i]! ? 1 : 0))),
      "rewards/chosen": mean(chosen), "rewards/rejected": mean(rejected),
    };
  }

  async checkpoint(): Promise<TensorMap> {
    return modelTensors(this.policy);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.policy.dispose();
    this.reference.dispose();
  }
}

