// Dense vs sparse MoE dispatch on the same model: FLOPs per token and the measured
// time of a training step (forward, backward, AdamW, and the step's readback), so
// the lesson can show what sparse dispatch buys on the learner's own machine and
// data/results/moe-dispatch.json can record it for this one (scripts/bench-moe.ts).

import { GPT, type GPTConfig } from "../nn/gpt.js";
import type { Dispatch } from "../nn/moe.js";
import { AdamW } from "../optim/adamw.js";
import type { Engine } from "../tensor/engine.js";
import { Rng } from "../tensor/random.js";
import { trainStep } from "./step.js";

export interface DispatchTiming {
  dispatch: Dispatch;
  /** median wall time of one training step, in milliseconds */
  ms_per_step: number;
  /** forward FLOPs per token as this dispatch runs the model */
  flops_per_token: number;
  steps: number;
}

/**
 * Time `steps` training steps (after `warmup` untimed ones) of a model with MoE
 * layers, run with the given dispatch, on batches of B random token sequences of
 * length T. The same seed gives the same weights and batches for both dispatches.
 */
export async function timeDispatch(
  engine: Engine, model: GPTConfig, dispatch: Dispatch, opts: { B: number; T: number; steps: number; warmup: number; seed?: number },
): Promise<DispatchTiming> {
  if (!model.mlp) throw new Error("timeDispatch: the model has no MoE layers (its config has no mlp field)");
  const seed = opts.seed ?? 1;
  const gpt = new GPT(engine, { ...model, mlp: { ...model.mlp, dispatch } }, seed);
  const opt = new AdamW(engine, gpt.parameters().map((p) => p.tensor), { lr: 1e-3, weightDecay: 0, maxGradNorm: 1 });
  const rng = new Rng(seed + 1);
  const n = opts.B * opts.T;
  const ids = engine.tensor(Array.from({ length: n }, () => rng.int(model.vocabSize)), [opts.B, opts.T], "i32");
  const targets = engine.tensor(Array.from({ length: n }, () => rng.int(model.vocabSize)), [opts.B, opts.T], "i32");
  const times: number[] = [];
  try {
    for (let s = 0; s < opts.warmup + opts.steps; s++) {
      const start = performance.now();
      await trainStep(engine, opt, () => gpt.trainingLoss(ids, targets), 1e-3, s);
      if (s >= opts.warmup) times.push(performance.now() - start);
    }
  } finally {
    ids.dispose();
    targets.dispose();
    opt.dispose();
    gpt.dispose();
  }
  times.sort((a, b) => a - b);
  return { dispatch, ms_per_step: times[Math.floor(times.length / 2)]!, flops_per_token: gpt.dispatchFlopsPerToken(opts.T, dispatch), steps: opts.steps };
}
