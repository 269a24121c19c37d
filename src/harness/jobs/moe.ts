// The MoE lesson's run: pretraining on the textbook with DeepSeekMoE feed-forward
// layers (or the dense model they replace, at equal active parameters), with one of
// three balancing choices. A thin wrapper over src/train/pretrain.ts, the loop the
// CLI runs as `r1-lab train pretrain --mlp moe --balance B`.
//
// Records: one per step, `{step, loss, grad_norm, lr, ms_per_step, load_imbalance?,
// val_loss?}` (`step` counts steps done; load_imbalance is max ÷ mean expert load,
// averaged over the MoE layers, as in the CLI's metrics.jsonl).
//
// Views (only when a page listens):
//   "info"     at the start: parameters, active parameters, FLOPs per token of both dispatches
//   "load"     after every step of an MoE model: tokens per expert, one row per MoE layer
//   "weights"  every `weightsEvery` steps and at the end: the weights, so the page can
//              route a prompt the learner types through its own copy of the model
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import type { GPTConfig } from "../../nn/gpt.js";
import type { Dispatch } from "../../nn/moe.js";
import type { TensorMap } from "../../io/safetensors.js";
import { modelTensors } from "../../train/checkpoint.js";
import { PretrainRun } from "../../train/pretrain.js";
import { AUX_ALPHA, BALANCE_CHOICES, BIAS_GAMMA, moeVariant, pretrainPreset, type Balance } from "../../train/presets.js";
import type { PretrainConfig } from "../../train/presets.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";

export const MODEL_CHOICES = ["moe", "dense"] as const;
export const DISPATCH_CHOICES = ["dense", "sparse"] as const;

export interface MoEJobConfig extends JobConfig {
  /** DeepSeekMoE layers, or the dense SwiGLU model with the same active parameters */
  model: (typeof MODEL_CHOICES)[number];
  balance: Balance;
  /** the balance loss's weight α when balance = "aux" */
  alpha: number;
  /** the bias update speed γ when balance = "bias" */
  gamma: number;
  nRouted: number;
  topK: number;
  dispatch: Dispatch;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  evalEvery: number;
  evalBatches: number;
  /** steps between weight snapshots for the prompt-routing picture (0: only at the end) */
  weightsEvery: number;
}

/** the CLI's ci preset: `r1-lab train pretrain --preset ci --mlp moe --balance B` */
const CLI = pretrainPreset("ci");

function fromCli(extra: Partial<MoEJobConfig> = {}): MoEJobConfig {
  return {
    seed: 1, steps: CLI.steps, model: "moe", balance: "bias", alpha: AUX_ALPHA, gamma: BIAS_GAMMA, nRouted: 8, topK: 3,
    dispatch: "dense", batchSize: CLI.batchSize, lr: CLI.lr, warmupSteps: CLI.warmupSteps, evalEvery: CLI.evalEvery,
    evalBatches: CLI.evalBatches, weightsEvery: 50, ...extra,
  };
}

export const MOE_JOB_PRESETS: Record<string, MoEJobConfig> = {
  /** exactly `r1-lab train pretrain --preset ci --mlp moe --balance bias --seed 1` (data/results/moe.json "bias") */
  default: fromCli(),
  /** 20 steps with a short validation: seconds, for tests on a software adapter */
  ci: fromCli({ steps: 20, warmupSteps: 10, evalEvery: 10, evalBatches: 4, weightsEvery: 10 }),
  /** `--balance none`: watch the router collapse */
  "no balancing": fromCli({ balance: "none" }),
  /** `--balance aux`: DeepSeek-V2's expert-level balance loss */
  "balance loss": fromCli({ balance: "aux" }),
  /** the dense model the MoE replaces: the same active parameters per token (CLI: no --mlp) */
  "dense model": fromCli({ model: "dense" }),
  /** the default run with sparse dispatch: the same run, each expert on its own tokens */
  "sparse dispatch": fromCli({ dispatch: "sparse" }),
};

/** The PretrainRun config for a job config: the ci preset, made MoE as the CLI does it, then the page's settings. */
export function moeJobPretrainConfig(c: MoEJobConfig): PretrainConfig {
  const base = c.model === "moe" ? moeVariant(CLI, c.balance) : structuredClone(CLI);
  const mlp = base.model.mlp;
  if (mlp) {
    mlp.nRouted = c.nRouted;
    mlp.topK = c.topK;
    mlp.dispatch = c.dispatch;
    mlp.balanceAlpha = c.balance === "aux" ? c.alpha : 0;
    mlp.biasUpdateSpeed = c.balance === "bias" ? c.gamma : 0;
  }
  return {
    ...base, steps: c.steps, batchSize: c.batchSize, lr: c.lr, warmupSteps: c.warmupSteps,
    evalEvery: c.evalEvery, evalBatches: c.evalBatches, heldoutQuestions: 0,
  };
}

export interface MoEInfoView {
  model: "moe" | "dense";
  params: number;
  activeParams: number;
  /** forward FLOPs per token as a sparse MoE runs it (k experts) */
  flopsPerToken: number;
  /** the same with dense dispatch (all E experts) */
  denseDispatchFlopsPerToken: number;
  nRouted: number;
  topK: number;
  layers: number;
  tokensPerStep: number;
  steps: number;
}

export interface LoadView {
  step: number;
  /** tokens per expert, one row per MoE layer */
  loads: number[][];
}

export interface MoEWeightsView {
  step: number;
  config: GPTConfig;
  tensors: TensorMap;
}

async function* runMoE(c: MoEJobConfig, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  const config = moeJobPretrainConfig(c);
  // a saved page run continues from its state (context.resume), as the CLI's --resume does
  const run = new PretrainRun(engine, config, c.seed, context?.resume);
  const model = run.model;
  const tokensPerStep = c.batchSize * config.seqLen;
  context?.saveable?.(async () => ({ step: run.step, ...(await run.checkpoint()) }));
  try {
    const snapshot = async (step: number) => {
      if (context && c.model === "moe") context.emit("weights", { step, config: model.config, tensors: await modelTensors(model) } satisfies MoEWeightsView);
    };
    if (context) {
      context.emit("info", {
        model: c.model, params: model.parameterCount(), activeParams: model.activeParameterCount(),
        flopsPerToken: model.dispatchFlopsPerToken(config.seqLen, "sparse"),
        denseDispatchFlopsPerToken: model.dispatchFlopsPerToken(config.seqLen, "dense"),
        nRouted: c.nRouted, topK: c.topK, layers: model.moeLayers().length, tokensPerStep, steps: c.steps,
      } satisfies MoEInfoView);
      await snapshot(run.step);
    }
    while (!run.done) {
      const r = await run.next();
      const step = run.step;
      const rec: MetricRecord = { step, loss: r.loss, grad_norm: r.grad_norm, lr: r.lr, ms_per_step: (1000 * tokensPerStep) / r.tokens_per_s };
      if (r.load_imbalance !== undefined) rec["load_imbalance"] = r.load_imbalance;
      if (r.val_loss !== undefined) rec["val_loss"] = r.val_loss;
      if (context && run.expertLoads.length > 0) context.emit("load", { step, loads: run.expertLoads.map((l) => l.tokens) } satisfies LoadView);
      if (context && ((c.weightsEvery > 0 && step % c.weightsEvery === 0) || run.done)) await snapshot(step);
      yield rec;
    }
  } finally {
    run.dispose();
  }
}

export function validateMoEJob(c: MoEJobConfig): string | null {
  if (c.topK > c.nRouted) return `experts per token (${c.topK}) cannot exceed routed experts (${c.nRouted})`;
  if (c.model === "dense" && c.dispatch === "sparse") return "a dense model has no experts to dispatch: choose dispatch dense";
  return null;
}

export const moeJob: JobDef<MoEJobConfig> = {
  name: "moe",
  resumable: true,
  title: "Pretrain with DeepSeekMoE layers",
  description: "The Pretrain lesson's small GPT with its feed-forward layers made DeepSeekMoE (1 shared + k of E routed experts), trained on the textbook with no balancing, a balance loss, or DeepSeek-V3's auxiliary-loss-free bias.",
  params: [
    { key: "model", label: "model", kind: "choice", choices: MODEL_CHOICES, help: "MoE, or the dense model with the same active parameters" },
    { key: "balance", label: "balancing", kind: "choice", choices: BALANCE_CHOICES, help: "none · aux: balance loss α·Σ f·P · bias: V3's aux-loss-free bias" },
    { key: "alpha", label: "α (aux)", kind: "float", min: 0, max: 10, help: "balance loss weight, used with balancing = aux" },
    { key: "gamma", label: "γ (bias)", kind: "float", min: 0, max: 1, help: "bias update speed, used with balancing = bias" },
    { key: "nRouted", label: "experts E", kind: "int", min: 1, max: 64, help: "routed experts per layer" },
    { key: "topK", label: "k per token", kind: "int", min: 1, max: 64, help: "routed experts each token uses" },
    { key: "dispatch", label: "dispatch", kind: "choice", choices: DISPATCH_CHOICES, help: "dense: every expert on every token · sparse: each expert on its own tokens" },
    { key: "lr", label: "learning rate", kind: "float", min: 1e-6, max: 1, help: "AdamW peak learning rate" },
    { key: "batchSize", label: "batch", kind: "int", min: 1, max: 64, help: "windows of 64 tokens per step" },
    { key: "warmupSteps", label: "warmup", kind: "int", min: 0, max: 100_000 },
    { key: "evalEvery", label: "val every", kind: "int", min: 1, max: 100_000 },
    { key: "evalBatches", label: "val batches", kind: "int", min: 1, max: 64 },
    { key: "weightsEvery", label: "routing every", kind: "int", min: 0, max: 100_000, help: "steps between updates of the prompt-routing picture" },
  ],
  presets: MOE_JOB_PRESETS,
  charts: [
    { title: "loss (cross-entropy, nats per token)", keys: ["loss", "val_loss"], smoothing: 0.6 },
    { title: "load imbalance (max ÷ mean expert load; 1 = balanced)", keys: ["load_imbalance"], smoothing: 0.3 },
  ],
  validate: validateMoEJob,
  run: runMoE,
};
