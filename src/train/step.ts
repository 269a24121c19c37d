// One optimisation step, the way every training loop in the kit takes it:
// forward + backward inside a scope (so nothing leaks), one AdamW update, one
// submit, and the two scalars we log (loss and gradient norm) fetched in a single
// readback that the caller may await later, while the next step is encoded.

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
