// R1 Lab's training step, set up the way src/train/pretrain.ts sets it up: the GPT of
// src/nn/gpt.ts, AdamW with global-norm clipping (no weight decay on norm gains), and
// trainStep(): forward, backward and update encoded into one submit with one readback.
// Works on either backend, so the same code times the WebGPU and the CPU engine.

import type { Backend } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { GPT } from "../../src/nn/gpt.js";
import { AdamW } from "../../src/optim/adamw.js";
import { trainStep, type StepScalars } from "../../src/train/step.js";
import { tokenBatch, type TrainSpec } from "./common.js";

export interface R1Trainer {
  readonly params: number;
  /** parameter names that get no weight decay (RMSNorm gains) */
  readonly noDecay: ReadonlySet<string>;
  /** the current weights by checkpoint name (read back from the device) */
  weights(): Promise<Map<string, Float32Array>>;
  /** one full step; resolves when its loss and gradient norm are on the host */
  step(): Promise<StepScalars>;
  dispose(): void;
}

export function r1Trainer(backend: Backend, spec: TrainSpec): R1Trainer {
  const engine = new Engine(backend);
  const model = new GPT(engine, spec.model, spec.seed);
  const named = model.parameters();
  const noDecayIdx = new Set(named.flatMap((p, i) => (p.decay ? [] : [i])));
  const opt = new AdamW(engine, named.map((p) => p.tensor), {
    lr: spec.lr, beta1: spec.beta1, beta2: spec.beta2, eps: spec.eps,
    weightDecay: spec.weightDecay, maxGradNorm: spec.maxGradNorm,
  }, noDecayIdx);
  const { ids: hostIds, targets: hostTargets } = tokenBatch(spec);
  const ids: Tensor = engine.tensor(hostIds, [spec.batch, spec.seqLen], "i32");
  const targets: Tensor = engine.tensor(hostTargets, [spec.batch, spec.seqLen], "i32");
  let stepNo = 0;
  return {
    params: model.parameterCount(),
    noDecay: new Set(named.filter((p) => !p.decay).map((p) => p.name)),
    async weights() {
      const out = new Map<string, Float32Array>();
      for (const p of named) out.set(p.name, Float32Array.from(await p.tensor.data()));
      return out;
    },
    step() {
      return trainStep(engine, opt, () => model.loss(ids, targets), spec.lr, stepNo++);
    },
    dispose() {
      opt.dispose();
      model.dispose();
      ids.dispose();
      targets.dispose();
    },
  };
}
