// One optimisation step, the way every training loop in the kit takes it:
// forward + backward inside a scope (so nothing leaks), one AdamW update, one
// submit, and the two scalars we log (loss and gradient norm) fetched in a single
// readback that the caller may await later, while the next step is encoded.

import type { ExpertLoad } from "../nn/moe.js";
import type { GPT } from "../nn/gpt.js";
import type { AdamW } from "../optim/adamw.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { assertFinite } from "./guard.js";

/** The optimisation settings every training loop shares (AdamW, warmup, cosine decay, clipping). */
export interface OptimSettings {
  batchSize: number;
  steps: number;
  /** peak learning rate, reached after warmupSteps */
  lr: number;
  warmupSteps: number;
  /** the learning rate decays by cosine to lr·minLrRatio */
  minLrRatio: number;
  weightDecay: number;
  maxGradNorm: number;
}

/** What every training loop logs each step: one line of metrics.jsonl. */
export interface StepRecord {
  step: number;
  loss: number;
  grad_norm: number;
  lr: number;
  tokens_per_s: number;
  /** present on evaluation steps */
  val_loss?: number;
  [k: string]: number | undefined;
}

export interface StepScalars {
  loss: number;
  gradNorm: number;
}

/**
 * Encode and submit one step. Returns a promise of its scalars: awaiting it is
 * what synchronises with the device, so a loop can await step n's scalars after
 * submitting step n + 1.
 */
export function trainStep(engine: Engine, optimizer: AdamW, lossFn: () => Tensor, lr: number, step: number): Promise<StepScalars> {
  const b = engine.backend;
  const loss = engine.scope(() => {
    const l = lossFn();
    engine.backward(l);
    return l;
  });
  const { gradNormSq } = optimizer.step(lr);
  const lossView = b.reshape(loss.raw, [1]);
  const both = b.concat([lossView, gradNormSq], 0);
  b.free(lossView);
  loss.dispose();
  b.free(gradNormSq);
  // read() submits the step's encoder, then maps the two scalars back
  return b.read(both).then((v) => {
    b.free(both);
    const scalars = { loss: v[0]!, gradNorm: Math.sqrt(v[1]!) };
    assertFinite(step, { loss: scalars.loss, "gradient norm": scalars.gradNorm });
    return scalars;
  });
}

/**
 * What an MoE model does after each training step, in every training loop: read each
 * MoE layer's expert load of the step just taken (one small readback, after the
 * step's own), and, with auxiliary-loss-free balancing (config mlp.biasUpdateSpeed
 * γ > 0), move each router's bias by γ·sign(mean load − load) before the next step.
 * Call it right after awaiting the step, before any other forward pass (a validation
 * pass would replace the loads). A dense model returns [] and does nothing.
 */
export async function routerBalanceStep(model: GPT): Promise<ExpertLoad[]> {
  if (model.moeLayers().length === 0) return [];
  const loads = await model.readExpertLoads();
  const gamma = model.config.mlp?.biasUpdateSpeed ?? 0;
  if (gamma > 0) model.updateRouterBias(loads, gamma);
  return loads;
}

/** one number for a step's balance: max load ÷ mean load, averaged over the MoE layers (1 = balanced) */
export function meanImbalance(loads: readonly ExpertLoad[]): number {
  return loads.reduce((s, l) => s + l.imbalance, 0) / Math.max(1, loads.length);
}
