// Named configurations. `ci` finishes in minutes on a software adapter (tests
// use it); `default` is what the lesson pages run.
import type { EvalConfig } from "../eval/evaluate.js";
import { DEFAULT_EVAL_CONFIG } from "../eval/evaluate.js";
import type { GPTConfig } from "../nn/gpt.js";
import type { StyledEvalConfig } from "../eval/styled.js";
import type { GrpoConfig } from "./grpo.js";
import type { SftConfig } from "./sft.js";
import type { DistillConfig } from "./distill.js";
import type { RejectionConfig } from "./rejection.js";
import type { OptimSettings } from "./step.js";
import type { PolicyReportOptions } from "../eval/preference.js";
import type { PairsConfig } from "./preferences.js";
import type { RmConfig } from "./rm.js";
import type { DpoConfig } from "./dpo.js";
import { vocabSize } from "../tasks/index.js";

export interface PretrainConfig extends OptimSettings {
  model: GPTConfig;
  /** context length of a training window */
  seqLen: number;
  /** evaluate validation loss every this many steps (and at the end) */
  evalEvery: number;
  /** cap on validation batches per evaluation; the presets' caps cover the whole validation stream (tested) */
  evalBatches: number;
  /** held-out direct questions to score at the end */
  heldoutQuestions: number;
}

export const PRESET_NAMES = ["ci", "default"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRETRAIN_PRESETS: Record<PresetName, PretrainConfig> = {
  ci: {
    model: { vocabSize, dModel: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 64, maxSeqLen: 64, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 },
    batchSize: 8, seqLen: 64, steps: 300, lr: 3e-3, warmupSteps: 20, minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
    evalEvery: 100, evalBatches: 64, heldoutQuestions: 20,
  },
  default: {
    model: { vocabSize, dModel: 64, nLayers: 3, nHeads: 4, nKvHeads: 2, dFF: 160, maxSeqLen: 128, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 },
    // windows as long as the context: the longest cold-start trace (steps, level 5) is 103 tokens
    batchSize: 16, seqLen: 128, steps: 1500, lr: 3e-3, warmupSteps: 100, minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
    evalEvery: 100, evalBatches: 32, heldoutQuestions: 100,
  },
};

/** how an MoE model keeps its experts busy: not at all, DeepSeek-V2's auxiliary loss, or V3's bias */
export const BALANCE_CHOICES = ["none", "aux", "bias"] as const;
export type Balance = (typeof BALANCE_CHOICES)[number];

/** the balance-loss weight α of `--balance aux` (Switch Transformer's 0.01; DeepSeek-V2's α₁ is 0.003 at 160 experts) */
export const AUX_ALPHA = 0.01;
/**
 * the bias update speed γ of `--balance bias`. DeepSeek-V3 uses 0.001 over hundreds of
 * thousands of steps; a run here has hundreds, so the bias gets 10× the speed.
 */
export const BIAS_GAMMA = 0.01;

/**
 * A preset's model with DeepSeekMoE feed-forward layers at EQUAL ACTIVE PARAMETERS:
 * every block's SwiGLU of width dFF becomes 1 shared + 3 of 8 routed experts of width
 * dFF/4, so a token runs 4 experts of width dFF/4 = one FFN of width dFF (plus the
 * router, dModel·8 weights per layer), while the layer holds 9 experts' weights.
 * V3-style sigmoid router; the balancing is `balance`.
 */
export function moeVariant(config: PretrainConfig, balance: Balance): PretrainConfig {
  const dFF = config.model.dFF;
  if (dFF % 4 !== 0) throw new Error(`moeVariant: dFF ${dFF} must be divisible by 4`);
  const out = structuredClone(config);
  out.model.mlp = {
    kind: "moe", nShared: 1, nRouted: 8, topK: 3, expertDim: dFF / 4, scoring: "sigmoid", routeScale: 1,
    balanceAlpha: balance === "aux" ? AUX_ALPHA : 0,
    biasUpdateSpeed: balance === "bias" ? BIAS_GAMMA : 0, dispatch: "dense",
  };
  return out;
}

export function pretrainPreset(name: string): PretrainConfig {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown preset "${name}" (choose ${PRESET_NAMES.join(" or ")})`);
  return structuredClone(PRETRAIN_PRESETS[name as PresetName]);
}

/** SFT: the loop's settings, and the final evaluation that goes into summary.json. */
export interface SftPreset {
  sft: SftConfig;
  eval: EvalConfig;
}

export const SFT_PRESETS: Record<PresetName, SftPreset> = {
  // levels 1–2 only: the ci base model's context (64) holds nothing longer
  ci: {
    sft: {
      granularity: "steps", perLevel: [200, 200], dataSeed: 1, valPerLevel: 16,
      batchSize: 16, steps: 200, lr: 3e-3, warmupSteps: 10, minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
      evalEvery: 40, evalProblemsPerLevel: 8,
    },
    eval: { ...DEFAULT_EVAL_CONFIG, levels: [1, 2], problemsPerLevel: 10, ks: [1, 4] },
  },
  // the cold start of data/traces/cold-start-steps.jsonl: 400 traces of each level, read 32 times
  // (800 steps of 32 at lr 1e-3 fixed the format but left held-out accuracy at 2%)
  default: {
    sft: {
      granularity: "steps", perLevel: [400, 400, 400, 400, 400], dataSeed: 1, valPerLevel: 40,
      batchSize: 64, steps: 1000, lr: 3e-3, warmupSteps: 100, minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
      evalEvery: 250, evalProblemsPerLevel: 20,
    },
    eval: { ...DEFAULT_EVAL_CONFIG },
  },
};

export function sftPreset(name: string): SftPreset {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown preset "${name}" (choose ${PRESET_NAMES.join(" or ")})`);
  return structuredClone(SFT_PRESETS[name as PresetName]);
}

/** GRPO: the loop's settings (the style is chosen by the starting checkpoint), and the before/after evaluation. */
export interface GrpoPreset {
  grpo: Omit<GrpoConfig, "style">;
  eval: StyledEvalConfig;
}

/** pass@k for k = 1 … 64, the curve Yue et al. (2025) plot before and after RL */
export const PASS_AT_K_KS = [1, 2, 4, 8, 16, 32, 64];

export const GRPO_PRESETS: Record<PresetName, GrpoPreset> = {
  // levels 1–2 (the ci models' context is 64 tokens), a few steps: checks the machinery, not the claim
  ci: {
    grpo: {
      batchSize: 8, groupSize: 4, updatesPerBatch: 2, steps: 6, lr: 5e-5, warmupSteps: 2, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1,
      temperature: 1, topP: 1, maxNewTokens: 48, beta: 0.01, eps: 0.2, epsHigh: 0.28, normalisation: "token", scaleByStd: true,
      rewards: { accuracy: 1, format: 0.1 }, levels: [1, 2], curriculum: "adaptive", dynamicSampling: true, maxSamplingRounds: 2,
      evalEvery: 3, evalProblemsPerLevel: 8,
    },
    eval: { levels: [1, 2], problemsPerLevel: 10, passAtKProblemsPerLevel: 4, ks: [1, 2, 4, 8], temperature: 0.6, topP: 0.95, seed: 1, batchSize: 64, maxNewTokens: 256 },
  },
  default: {
    grpo: {
      batchSize: 16, groupSize: 8, updatesPerBatch: 2, steps: 200, lr: 5e-5, warmupSteps: 10, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1,
      temperature: 1, topP: 1, maxNewTokens: 120, beta: 0.01, eps: 0.2, epsHigh: 0.28, normalisation: "token", scaleByStd: true,
      rewards: { accuracy: 1, format: 0.1 }, levels: [1, 2, 3, 4, 5], curriculum: "adaptive", dynamicSampling: true, maxSamplingRounds: 3,
      evalEvery: 25, evalProblemsPerLevel: 20,
    },
    // the held-out problems of the SFT lesson's evaluation (50 per level, seed 1), sampled as R1 is evaluated
    eval: { levels: [1, 2, 3, 4, 5], problemsPerLevel: 50, passAtKProblemsPerLevel: 20, ks: PASS_AT_K_KS, temperature: 0.6, topP: 0.95, seed: 1, batchSize: 128, maxNewTokens: 256 },
  },
};

export function grpoPreset(name: string): GrpoPreset {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown preset "${name}" (choose ${PRESET_NAMES.join(" or ")})`);
  return structuredClone(GRPO_PRESETS[name as PresetName]);
}

/**
 * The attention of a pretrain model, chosen by name (`r1-lab train pretrain --attention`,
 * the MLA lesson). The presets' own models are GQA (2 KV heads of 4).
 * - mha: every head has its own keys and values (nKvHeads = nHeads);
 * - gqa: heads share them in pairs (nKvHeads = nHeads / 2);
 * - mqa: all heads share one key/value head (nKvHeads = 1);
 * - mla: Multi-head Latent Attention with a KV latent of dC = 2·d_h and a rotary key of
 *   dR = d_h / 2 (V2 uses 4·d_h and d_h / 2; with 4 heads rather than 128, 2·d_h keeps the
 *   cache under half of MHA's), and full-rank queries (dCq = 0: a query latent saves training memory, not cache).
 *   Its attention parameters then come within a few percent of MHA's.
 */
export const ATTENTION_KINDS = ["mha", "gqa", "mqa", "mla"] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

export function withAttention(model: GPTConfig, kind: AttentionKind): GPTConfig {
  const { attention: _dropped, ...plain } = model;
  const dH = model.dModel / model.nHeads;
  switch (kind) {
    case "mha":
      return { ...plain, nKvHeads: model.nHeads };
    case "gqa":
      return { ...plain, nKvHeads: Math.max(1, model.nHeads / 2) };
    case "mqa":
      return { ...plain, nKvHeads: 1 };
    case "mla":
      return { ...plain, nKvHeads: model.nHeads, attention: { kind: "mla", dC: 2 * dH, dCq: 0, dR: dH / 2 } };
  }
}

/** Rejection sampling (R1's stage 3): how many prompts, replies per prompt, at what temperature. */
export const REJECTION_PRESETS: Record<PresetName, RejectionConfig> = {
  // levels 1–2: what a ci student's 64-token context holds
  ci: {
    levels: [1, 2], promptsPerLevel: 48, samplesPerPrompt: 4, temperature: 1, topP: 1, maxNewTokens: 60,
    maxCompletionTokens: 0, dedupe: true, seed: 1, batchSize: 128,
  },
  // the GRPO teacher's own sampling settings (temperature 1), all five levels
  default: {
    levels: [1, 2, 3, 4, 5], promptsPerLevel: 300, samplesPerPrompt: 4, temperature: 1, topP: 1, maxNewTokens: 120,
    maxCompletionTokens: 0, dedupe: true, seed: 1, batchSize: 128,
  },
};

export function rejectionPreset(name: string): RejectionConfig {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown preset "${name}" (choose ${PRESET_NAMES.join(" or ")})`);
  return structuredClone(REJECTION_PRESETS[name as PresetName]);
}

/**
 * The students (r1-lab train pretrain --arch student): smaller than the teacher of the
 * same preset in depth and width, with the same context, since the traces must fit it.
 *   default  2 layers of width 48 instead of 3 of width 64: 55,776 parameters against
 *            the teacher's 135,936 (41%), 43% of its FLOPs per token; 128 tokens of
 *            context, as the level-5 traces take up to 103.
 *   ci       2 layers of width 16 instead of 2 of width 32: 7,840 against 21,824 (36%);
 *            64 tokens (levels 1–2).
 * Fewer layers and a narrower width both shrink it; R1-Distill's students (1.5B–70B
 * against R1's 671B) were smaller in both as well.
 */
export const STUDENT_MODELS: Record<PresetName, GPTConfig> = {
  ci: { vocabSize, dModel: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, dFF: 48, maxSeqLen: 64, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 },
  default: { vocabSize, dModel: 48, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 128, maxSeqLen: 128, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 },
};

/**
 * A larger student, for the same comparison where the student can learn more: the
 * teacher's depth (3 layers) at the student's width (48), 81,216 parameters (60% of
 * the teacher's) at default; at ci, 2 layers of width 24 (15,216). (r1-lab train pretrain --arch
 * student-large; r1-lab pipeline --student student-large)
 */
export const LARGE_STUDENT_MODELS: Record<PresetName, GPTConfig> = {
  ci: { vocabSize, dModel: 24, nLayers: 2, nHeads: 2, nKvHeads: 1, dFF: 64, maxSeqLen: 64, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 },
  default: { vocabSize, dModel: 48, nLayers: 3, nHeads: 4, nKvHeads: 2, dFF: 128, maxSeqLen: 128, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 },
};

export const STUDENT_ARCHS = ["student", "student-large"] as const;
export type StudentArch = (typeof STUDENT_ARCHS)[number];

export function studentModel(arch: StudentArch, preset: PresetName): GPTConfig {
  return structuredClone(arch === "student" ? STUDENT_MODELS[preset] : LARGE_STUDENT_MODELS[preset]);
}

/** Distillation: the student's SFT on the kept traces (and optionally the teacher's logits), and its evaluation. */
export interface DistillPreset {
  distill: DistillConfig;
  eval: StyledEvalConfig;
}

export const DISTILL_PRESETS: Record<PresetName, DistillPreset> = {
  ci: {
    distill: {
      batchSize: 16, steps: 200, lr: 3e-3, warmupSteps: 10, minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
      kdAlpha: 0, kdTemperature: 2, evalEvery: 50, evalProblemsPerLevel: 8, levels: [1, 2],
    },
    eval: { levels: [1, 2], problemsPerLevel: 25, passAtKProblemsPerLevel: 4, ks: [1, 4], temperature: 0.6, topP: 0.95, seed: 1, batchSize: 64, maxNewTokens: 120 },
  },
  // as the default cold start (64 per step, 1000 steps), on the teacher's traces
  default: {
    distill: {
      batchSize: 64, steps: 1000, lr: 3e-3, warmupSteps: 100, minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
      kdAlpha: 0, kdTemperature: 2, evalEvery: 250, evalProblemsPerLevel: 20, levels: [1, 2, 3, 4, 5],
    },
    eval: { levels: [1, 2, 3, 4, 5], problemsPerLevel: 50, passAtKProblemsPerLevel: 10, ks: [1, 4, 16], temperature: 0.6, topP: 0.95, seed: 1, batchSize: 128, maxNewTokens: 120 },
  },
};

export function distillPreset(name: string): DistillPreset {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown preset "${name}" (choose ${PRESET_NAMES.join(" or ")})`);
  return structuredClone(DISTILL_PRESETS[name as PresetName]);
}

/**
 * The RLHF lesson (`r1-lab train rm | rlhf | dpo`), all from the SFT checkpoint:
 * preference pairs sampled from it, a reward model trained on them, RL (GRPO's loop)
 * against the reward model or the rules, and DPO on the same pairs. `report` is the
 * held-out measurement every stage ends with (src/eval/preference.ts).
 */
export interface RlhfPreset {
  pairs: PairsConfig;
  rm: RmConfig;
  /** RL against the learned reward (or, with --reward rules, the rule rewards) */
  rl: Omit<GrpoConfig, "style">;
  dpo: DpoConfig;
  report: PolicyReportOptions & { levels: number[]; problemsPerLevel: number };
}

export const RLHF_PRESETS: Record<PresetName, RlhfPreset> = {
  // levels 1–2, a few steps of each: checks the machinery, not the claims
  ci: {
    pairs: { levels: [1, 2], trainPromptsPerLevel: 48, heldoutPromptsPerLevel: 16, maxNewTokens: 48, noise: 0.1, batchSize: 64 },
    rm: { batchSize: 16, steps: 20, lr: 3e-4, warmupSteps: 4, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1, evalEvery: 10, calibrationBins: 5 },
    rl: {
      batchSize: 4, groupSize: 4, updatesPerBatch: 2, steps: 4, lr: 1e-4, warmupSteps: 1, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1,
      temperature: 1, topP: 1, maxNewTokens: 48, beta: 0.01, eps: 0.2, epsHigh: 0.28, normalisation: "token", scaleByStd: true,
      rewards: { accuracy: 1, format: 0.1 }, levels: [1, 2], curriculum: "uniform", dynamicSampling: false, maxSamplingRounds: 1,
      evalEvery: 2, evalProblemsPerLevel: 4,
    },
    dpo: { batchSize: 8, steps: 6, lr: 1e-4, warmupSteps: 1, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1, beta: 0.1 },
    report: { levels: [1, 2], problemsPerLevel: 8, samples: 2, maxNewTokens: 48, seed: 1, batchSize: 64 },
  },
  default: {
    pairs: { levels: [1, 2, 3], trainPromptsPerLevel: 6000, heldoutPromptsPerLevel: 300, maxNewTokens: 120, noise: 0.1, batchSize: 128 },
    rm: { batchSize: 32, steps: 600, lr: 3e-4, warmupSteps: 20, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1, evalEvery: 50, calibrationBins: 10 },
    rl: {
      batchSize: 8, groupSize: 8, updatesPerBatch: 2, steps: 120, lr: 1e-4, warmupSteps: 5, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1,
      temperature: 1, topP: 1, maxNewTokens: 120, beta: 0.01, eps: 0.2, epsHigh: 0.28, normalisation: "token", scaleByStd: true,
      rewards: { accuracy: 1, format: 0.1 }, levels: [1, 2, 3], curriculum: "uniform", dynamicSampling: false, maxSamplingRounds: 1,
      evalEvery: 10, evalProblemsPerLevel: 10,
    },
    dpo: { batchSize: 32, steps: 100, lr: 1e-4, warmupSteps: 10, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1, beta: 0.1 },
    report: { levels: [1, 2, 3], problemsPerLevel: 30, samples: 2, maxNewTokens: 120, seed: 1, batchSize: 128 },
  },
};

export function rlhfPreset(name: string): RlhfPreset {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown preset "${name}" (choose ${PRESET_NAMES.join(" or ")})`);
  return structuredClone(RLHF_PRESETS[name as PresetName]);
}
