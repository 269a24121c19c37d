// 1,000 training steps must not grow GPU memory: the pool's live bytes after the
// last step equal those after the first, and the pool itself stops growing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createBackend } from "../../src/tensor/create.js";
import { Engine } from "../../src/tensor/engine.js";
import { GPT } from "../../src/nn/gpt.js";
import { AdamW } from "../../src/optim/adamw.js";
import { Rng } from "../../src/tensor/random.js";
import { trainStep } from "../../src/train/step.js";

test("1,000 steps of a small transformer leave live GPU bytes flat", async () => {
  const backend = await createBackend("webgpu");
  try {
    const engine = new Engine(backend);
    const model = new GPT(engine, {
      vocabSize: 11, dModel: 8, nLayers: 1, nHeads: 2, nKvHeads: 2, dFF: 8,
      maxSeqLen: 4, ropeTheta: 10000, tiedHead: true, normEps: 1e-5,
    }, 1);
    const rng = new Rng(2);
    const ids = engine.tensor(Array.from({ length: 8 }, () => rng.int(11)), [2, 4], "i32");
    const targets = engine.tensor(Array.from({ length: 8 }, () => rng.int(11)), [2, 4], "i32");
    const opt = new AdamW(engine, model.parameters().map((p) => p.tensor), { lr: 1e-3 });
    const live: number[] = [];
    const pooled: number[] = [];
    let pending: Promise<unknown> | null = null;
    for (let s = 0; s < 1000; s++) {
      // keep one step in flight, as a real loop does
      const next = trainStep(engine, opt, () => model.loss(ids, targets), 1e-3, s);
      if (pending) await pending;
      pending = next;
      if (s === 1 || s % 100 === 99) {
        // measure with nothing in flight, so the in-flight readback buffer is not counted
        await pending;
        live.push(backend.stats().liveBytes);
        pooled.push(backend.stats().pooledBytes);
      }
    }
    await pending;
    assert.equal(new Set(live).size, 1, `live bytes changed over the run: ${live.join(", ")}`);
    assert.equal(pooled[pooled.length - 1], pooled[1], `the pool grew after warm-up: ${pooled.join(", ")}`);
    opt.dispose();
    model.dispose();
  } finally {
    backend.destroy();
  }
});
