// A step whose loss or gradient norm is not finite stops the run with a message
// naming the step, and leaves the weights as they were (on both backends).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { createBackend } from "../../src/tensor/create.js";
import { Engine } from "../../src/tensor/engine.js";
import { MLP } from "../../src/nn/layers.js";
import { AdamW } from "../../src/optim/adamw.js";
import { Rng } from "../../src/tensor/random.js";
import { trainStep } from "../../src/train/step.js";
import { NonFiniteError } from "../../src/train/guard.js";
import { learningRate } from "../../src/optim/schedule.js";

for (const kind of ["cpu", "webgpu"] as const) {
  test(`${kind}: a NaN in the data stops training at that step and changes no weight`, async () => {
    const backend = kind === "cpu" ? new CpuBackend() : await createBackend("webgpu");
    try {
      const e = new Engine(backend);
      const model = new MLP(e, 3, 4, 2, new Rng(1));
      const params = model.parameters().map((p) => p.tensor);
      const opt = new AdamW(e, params, { lr: 0.1 });
      const y = e.tensor([0, 1], [2], "i32");
      const good = e.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const bad = e.tensor([1, 2, NaN, 4, 5, 6], [2, 3]);
      await trainStep(e, opt, () => e.meanCrossEntropy(model.forward(good), y), 0.1, 0);
      const before = await Promise.all(params.map((p) => p.data()));
      await assert.rejects(
        trainStep(e, opt, () => e.meanCrossEntropy(model.forward(bad), y), 0.1, 1),
        (err: unknown) => err instanceof NonFiniteError && err.step === 1 && /step 1: loss is NaN/.test(err.message),
      );
      const after = await Promise.all(params.map((p) => p.data()));
      after.forEach((a, i) => assert.deepEqual(Array.from(a), Array.from(before[i]!), `parameter ${i} unchanged`));
      opt.dispose();
      model.dispose();
    } finally {
      backend.destroy();
    }
  });
}

test("warmup + cosine schedule: linear ramp, peak, cosine floor", () => {
  const c = { peak: 1e-3, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
  assert.ok(Math.abs(learningRate(0, c) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(9, c) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(10, c) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(60, c) - 0.55e-3) < 1e-12, "half way down the cosine: (1 + 0.1) / 2 · peak");
  assert.ok(Math.abs(learningRate(110, c) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(500, c) - 1e-4) < 1e-12, "stays at the floor");
});
