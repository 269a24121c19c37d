// GRPO training (DeepSeek-R1 §2.2; the objective is src/rl/grpo.ts).
//
// One step of a GrpoRun:
//   1. sample   draw P prompts (src/rl/curriculum.ts picks their levels) and G
//               completions for each from the current policy (src/rl/groups.ts);
//               score them with the rule rewards; group-relative advantages.
//               With dynamic sampling (DAPO), groups whose rewards are all equal are
//               dropped and fresh prompts are sampled in their place, up to a limit.
//   2. update   μ AdamW steps on that one batch. The first sees π_θ = π_old (ρ = 1);
//               the later ones have moved, which is when the clip acts. A frozen copy
//               of the starting model, π_ref, anchors the policy with the k3 KL.
// Every log-probability (π_old from the sampler, π_θ and π_ref from forward passes)
// is taken at the sampling temperature, so the ratio compares like with like.
//
// Like PretrainRun and SftRun, the CLI loops it, a page runs or single-steps it, and
// tests drive it; each record it returns is a line of metrics.jsonl, with TRL's
// GRPOTrainer names where TRL logs the same quantity.

import { mean } from "../eval/metrics.js";
import { greedyScores, sampleGraded, type StyledSampling } from "../eval/styled.js";
import { evalProblems } from "../eval/evaluate.js";
import type { TensorMap } from "../io/safetensors.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import { AdamW } from "../optim/adamw.js";
import { learningRate } from "../optim/schedule.js";
import { drawLevels, updateLevelAccuracy, type Curriculum, type LevelAccuracy } from "../rl/curriculum.js";
import { sampleGroups, type SampledGroup, type SequenceReward } from "../rl/groups.js";
import { grpoLoss, readGrpoStats, tokenLogProbs, type GrpoStats, type Normalisation } from "../rl/grpo.js";
import { packRollouts } from "../rl/rollout.js";
import { answerStyle, deriveSeed, generateProblems, type Problem, type StyleName } from "../tasks/index.js";
import { validateRewardWeights, type RewardWeights } from "../tasks/rewards.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { loadModelTensors, loadOptimizerTensors, modelTensors, optimizerTensors } from "./checkpoint.js";
import { routerBalanceStep, trainStep, type OptimSettings, type StepRecord } from "./step.js";

export interface GrpoConfig extends OptimSettings {
  // batchSize (from OptimSettings) is P, the prompts per step; a step trains on P·G sequences
  /** G, completions per prompt */
  groupSize: number;
  /** μ, optimisation steps on each sampled batch */
  updatesPerBatch: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  /** weight of the KL penalty to the reference model */
  beta: number;
  /** clip range: ρ stays in [1 − eps, 1 + epsHigh] */
  eps: number;
  epsHigh: number;
  normalisation: Normalisation;
  /** divide advantages by the group's std (GRPO) or not (Dr. GRPO) */
  scaleByStd: boolean;
  rewards: RewardWeights;
  /** how prompts are put and replies read: chat (R1) or textbook (R1-Zero from our base) */
  style: StyleName;
  levels: number[];
  curriculum: Curriculum;
  /** DAPO: drop groups with zero reward spread and refill with fresh prompts */
  dynamicSampling: boolean;
  /** at most this many sampling rounds per step when refilling */
  maxSamplingRounds: number;
  /** greedy held-out accuracy every this many steps (and at the end) */
  evalEvery: number;
  evalProblemsPerLevel: number;
}

export interface GrpoRecord extends StepRecord {
  reward: number;
  reward_std: number;
  frac_reward_zero_std: number;
  kl: number;
  "clip_ratio/low_mean": number;
  "clip_ratio/high_mean": number;
  "clip_ratio/region_mean": number;
  entropy: number;
  "completions/mean_length": number;
  accuracy: number;
  format_rate: number;
  /** groups sampled this step (more than P when dynamic sampling refilled) */
  groups_sampled: number;
  /** groups trained on */
  groups_kept: number;
  /** mean gold score (src/tasks/preference.ts) of the sampled completions */
  gold_reward: number;
  heldout_accuracy?: number;
  heldout_format_rate?: number;
}

/** Where a run starts: the policy's weights, and (when resuming) its own saved state. */
export interface GrpoStart {
  model: TensorMap;
  /** the frozen reference; default: the starting weights */
  reference?: TensorMap;
  optimizer?: TensorMap;
  step: number;
  /** AdamW updates taken so far (μ per step, fewer when a step had nothing to train on) */
  updates?: number;
  levelAccuracy?: LevelAccuracy;
}

export function validateGrpoConfig(c: GrpoConfig): void {
  const ints: [string, number, number][] = [
    ["groupSize", c.groupSize, 2], ["batchSize", c.batchSize, 1], ["updatesPerBatch", c.updatesPerBatch, 1],
    ["maxNewTokens", c.maxNewTokens, 1], ["maxSamplingRounds", c.maxSamplingRounds, 1], ["evalEvery", c.evalEvery, 1],
  ];
  for (const [name, v, min] of ints) if (!Number.isInteger(v) || v < min) throw new RangeError(`grpo: ${name} must be an integer ≥ ${min}, got ${v}`);
  if (!(c.temperature > 0)) throw new RangeError(`grpo: temperature must be > 0 (GRPO needs varied samples; greedy gives a group of copies), got ${c.temperature}`);
  if (c.levels.length === 0) throw new RangeError("grpo: no levels to draw prompts from");
  validateRewardWeights(c.rewards);
}

export class GrpoRun {
  readonly policy: GPT;
  readonly reference: GPT;
  readonly optimizer: AdamW;
  step = 0;
  updates = 0;
  levelAccuracy: LevelAccuracy;
  /** the groups of the latest step (for the group viewer) */
  lastGroups: SampledGroup[] = [];

  /**
   * `reward`: a learned reward model's score to optimise instead of the rule rewards
   * (the RLHF lesson); rule scores and gold scores are still logged beside it.
   */
  constructor(readonly engine: Engine, readonly config: GrpoConfig, readonly seed: number, modelConfig: GPTConfig, start: GrpoStart,
    readonly reward?: SequenceReward) {
    validateGrpoConfig(config);
    this.policy = new GPT(engine, modelConfig, seed);
    loadModelTensors(this.policy, start.model);
    this.reference = new GPT(engine, modelConfig, seed);
    loadModelTensors(this.reference, start.reference ?? start.model);
    const params = this.policy.parameters();
    const noDecay = new Set(params.flatMap((p, i) => (p.decay ? [] : [i])));
    this.optimizer = new AdamW(engine, params.map((p) => p.tensor), {
      lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm,
    }, noDecay);
    if (start.optimizer) {
      this.updates = start.updates ?? start.step * config.updatesPerBatch;
      loadOptimizerTensors(this.policy, this.optimizer, start.optimizer, this.updates);
      this.step = start.step;
    }
    this.levelAccuracy = { ...(start.levelAccuracy ?? {}) };
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  lrAt(step: number): number {
    const c = this.config;
    return learningRate(step, { peak: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minRatio: c.minLrRatio });
  }

  /** `count` fresh training problems for round `round` of step `step` (the same for the same seed) */
  problemsAt(step: number, round: number, count: number): Problem[] {
    const c = this.config;
    const draw = step * c.maxSamplingRounds + round;
    const levels = drawLevels(c.curriculum, c.levels, count, this.levelAccuracy, draw, this.seed);
    const problems: Problem[] = [];
    for (const level of c.levels) {
      const n = levels.filter((l) => l === level).length;
      if (n > 0) problems.push(...generateProblems({ split: "train", level, count: n, seed: deriveSeed(this.seed, `grpo/${draw}`) }));
    }
    return problems;
  }

  /** Sample groups until P of them have a reward spread (or, without dynamic sampling, once). */
  async collect(step: number): Promise<{ kept: SampledGroup[]; sampled: SampledGroup[] }> {
    const c = this.config;
    const sampled: SampledGroup[] = [];
    let kept: SampledGroup[] = [];
    for (let round = 0; round < c.maxSamplingRounds; round++) {
      const need = round === 0 ? c.batchSize : c.batchSize - kept.length;
      const groups = await sampleGroups(this.policy, this.problemsAt(step, round, need), answerStyle(c.style), {
        groupSize: c.groupSize, temperature: c.temperature, topP: c.topP, maxNewTokens: c.maxNewTokens,
        seed: deriveSeed(this.seed, `grpo/sample/${step}/${round}`), weights: c.rewards, scaleByStd: c.scaleByStd,
        ...(this.reward ? { reward: this.reward } : {}),
      });
      sampled.push(...groups);
      kept.push(...(c.dynamicSampling ? groups.filter((g) => !g.stats.zeroSpread) : groups));
      if (!c.dynamicSampling || kept.length >= c.batchSize) break;
    }
    kept = kept.slice(0, c.batchSize);
    return { kept, sampled };
  }

  async next(): Promise<GrpoRecord> {
    const c = this.config;
    const s = this.step;
    const start = performance.now();
    const lr = this.lrAt(s);
    const { kept, sampled } = await this.collect(s);
    this.lastGroups = sampled;
    const all = sampled.flatMap((g) => g.scores.map((score) => ({ level: g.problem.level, correct: score.correct })));
    this.levelAccuracy = updateLevelAccuracy(this.levelAccuracy, all);

    const update = kept.length > 0 ? await this.update(kept, lr) : null;
    this.step++;
    const lengths = sampled.flatMap((g) => g.completions.map((t) => t.length));
    const entropies = sampled.flatMap((g) => g.entropies.flat());
    const record: GrpoRecord = {
      step: s,
      loss: update?.loss ?? 0,
      grad_norm: update?.gradNorm ?? 0,
      lr,
      tokens_per_s: lengths.reduce((a, b) => a + b, 0) / ((performance.now() - start) / 1000),
      reward: mean(sampled.flatMap((g) => g.rewards)),
      reward_std: mean(sampled.map((g) => g.stats.std)),
      frac_reward_zero_std: mean(sampled.map((g) => (g.stats.zeroSpread ? 1 : 0))),
      kl: update?.stats.kl ?? 0,
      "clip_ratio/low_mean": update?.stats.clipLow ?? 0,
      "clip_ratio/high_mean": update?.stats.clipHigh ?? 0,
      "clip_ratio/region_mean": update?.stats.clipFraction ?? 0,
      entropy: mean(entropies),
      "completions/mean_length": mean(lengths),
      accuracy: mean(all.map((r) => (r.correct ? 1 : 0))),
      format_rate: mean(sampled.flatMap((g) => g.scores.map((x) => (x.formatOk ? 1 : 0)))),
      groups_sampled: sampled.length,
      groups_kept: kept.length,
      gold_reward: mean(sampled.flatMap((g) => g.gold)),
    };
    if (this.step % c.evalEvery === 0 || this.done) {
      const h = await this.heldoutScores();
      record.heldout_accuracy = h.accuracy;
      record.heldout_format_rate = h.format_rate;
    }
    return record;
  }

  /**
   * μ optimisation steps on the kept groups. Returns the last step's loss and
   * gradient norm, and the stats averaged over the μ steps.
   */
  private async update(groups: readonly SampledGroup[], lr: number): Promise<{ loss: number; gradNorm: number; stats: GrpoStats }> {
    const e = this.engine;
    const c = this.config;
    const prompts = groups.flatMap((g) => g.completions.map(() => g.promptIds));
    const completions = groups.flatMap((g) => g.completions);
    const packed = packRollouts(prompts, completions, groups.flatMap((g) => g.advantages));
    // log π_old at every completion position, from the sampler
    const oldLogp = new Float32Array(packed.B * packed.T);
    const logprobs = groups.flatMap((g) => g.logprobs);
    for (let b = 0; b < packed.B; b++) {
      const first = prompts[b]!.length - 1; // the position that predicts the first completion token
      logprobs[b]!.forEach((lp, j) => (oldLogp[b * packed.T + first + j] = lp));
    }
    const N = packed.B * packed.T;
    const ids = e.tensor(packed.ids, [packed.B, packed.T], "i32");
    const targets = e.tensor(packed.targets, [N], "i32");
    const inputs = {
      oldLogp: e.tensor(oldLogp, [N]),
      advantages: e.tensor(packed.advantages, [N]),
      mask: e.tensor(packed.mask, [N]),
      seqIds: e.tensor(packed.seqIds, [N], "i32"),
      numSequences: packed.B,
      refLogp: e.scope(() => e.noGrad(() => this.logProbs(this.reference, ids, targets))),
    };
    // the completion tokens, [B, T]: what an MoE layer's balance loss and loads count
    const tokenMask = e.reshape(inputs.mask, [packed.B, packed.T]);
    const opts = { eps: c.eps, epsHigh: c.epsHigh, beta: c.beta, normalisation: c.normalisation, constant: packed.B * c.maxNewTokens };
    const stats: GrpoStats[] = [];
    let last = { loss: 0, gradNorm: 0 };
    try {
      for (let k = 0; k < c.updatesPerBatch; k++) {
        let statsTensor: Tensor | null = null;
        const pending = trainStep(e, this.optimizer, () => {
          const out = grpoLoss(e, { ...inputs, logp: this.logProbs(this.policy, ids, targets, tokenMask) }, opts);
          statsTensor = e.keep(out.stats);
          // an MoE policy also minimises its balance loss (a dense model has none)
          const { balanceLoss } = this.policy.moeAux();
          return balanceLoss ? e.add(out.loss, balanceLoss) : out.loss;
        }, lr, this.step);
        last = await pending;
        await routerBalanceStep(this.policy); // MoE: the aux-loss-free bias update; nothing for a dense model
        stats.push(await readGrpoStats(statsTensor!));
        this.updates++;
      }
    } finally {
      for (const t of [ids, targets, inputs.oldLogp, inputs.advantages, tokenMask, inputs.mask, inputs.seqIds, inputs.refLogp]) t.dispose();
    }
    const avg = (k: keyof GrpoStats) => mean(stats.map((x) => x[k]));
    return { ...last, stats: { kl: avg("kl"), clipFraction: avg("clipFraction"), ratio: avg("ratio"), clipLow: avg("clipLow"), clipHigh: avg("clipHigh") } };
  }

  /** log π(target) at every position, at the sampling temperature: f32 [B·T] */
  private logProbs(model: GPT, ids: Tensor, targets: Tensor, tokenMask: Tensor | null = null): Tensor {
    const e = this.engine;
    const logits = model.forward(ids, undefined, 0, undefined, tokenMask);
    const t = this.config.temperature;
    return tokenLogProbs(e, t === 1 ? logits : e.scale(logits, 1 / t), targets);
  }

  /** the held-out problems of the periodic evaluation (the same at every evaluation) */
  heldoutProblems(): Problem[] {
    return this.config.levels.flatMap((level) => evalProblems({ split: "heldout", problemsPerLevel: this.config.evalProblemsPerLevel, seed: 1 }, level));
  }

  /** greedy held-out accuracy and format rate in the run's style */
  async heldoutScores(): Promise<{ accuracy: number; format_rate: number; mean_completion_tokens: number }> {
    const greedy: StyledSampling = { samples: 1, temperature: 0, topP: 1, seed: 1, batchSize: 128, maxNewTokens: this.config.maxNewTokens };
    return greedyScores(await sampleGraded(this.policy, this.heldoutProblems(), answerStyle(this.config.style), greedy));
  }

  async checkpoint(): Promise<{ model: TensorMap; optimizer: TensorMap; reference: TensorMap }> {
    return {
      model: await modelTensors(this.policy),
      optimizer: await optimizerTensors(this.policy, this.optimizer),
      reference: await modelTensors(this.reference),
    };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.policy.dispose();
    this.reference.dispose();
  }
}

