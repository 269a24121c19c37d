// Autograd on the CPU engine in float64: every parameter gradient of a small
// transformer agrees with central finite differences, and scopes free what they
// should. (Per-op rules are checked one by one in cpu-gradcheck.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { FreedTensorError } from "../../src/tensor/backend.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { MLP } from "../../src/nn/layers.js";
import { Rng } from "../../src/tensor/random.js";

const tiny: GPTConfig = {
  vocabSize: 7, dModel: 8, nLayers: 2, nHeads: 2, nKvHeads: 1, dFF: 12,
  maxSeqLen: 8, ropeTheta: 10000, tiedHead: false, normEps: 1e-5,
};

async function lossValue(engine: Engine, f: () => import("../../src/tensor/engine.js").Tensor): Promise<number> {
  return engine.scope(() => engine.noGrad(f)).item();
}

test("GPT parameter gradients match finite differences (float64, GQA, untied head)", async () => {
  const engine = new Engine(new CpuBackend({ precision: "f64" }));
  const model = new GPT(engine, tiny, 3);
  const B = 2, T = 5;
  const rng = new Rng(11);
  const ids = engine.tensor(Array.from({ length: B * T }, () => rng.int(tiny.vocabSize)), [B, T], "i32");
  const targets = engine.tensor(Array.from({ length: B * T }, () => rng.int(tiny.vocabSize)), [B, T], "i32");
  const mask = engine.tensor(Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? 0 : 1)), [B, T]);
  const count = 7; // mask ones: 10 - 3 zeros
  const f = () => model.loss(ids, targets, mask, count);

  engine.scope(() => engine.backward(f()));
  const eps = 1e-6;
  let checked = 0;
  for (const { name, tensor } of model.parameters()) {
    const analytic = await tensor.grad!.data();
    const base = Float64Array.from(await tensor.data());
    // a few elements of every parameter, spread across it
    for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
      const plus = Float64Array.from(base); plus[i]! += eps;
      engine.assign(tensor, plus);
      const lp = await lossValue(engine, f);
      const minus = Float64Array.from(base); minus[i]! -= eps;
      engine.assign(tensor, minus);
      const lm = await lossValue(engine, f);
      engine.assign(tensor, base);
      const numeric = (lp - lm) / (2 * eps);
      const a = analytic[i]!;
      assert.ok(Math.abs(a - numeric) <= 1e-7 + 1e-5 * Math.abs(numeric), `${name}[${i}]: analytic ${a} vs numeric ${numeric}`);
      checked++;
    }
  }
  assert.ok(checked >= 3 * 20, `checked ${checked} gradient entries`);
  engine.backend.destroy();
});

test("gradients accumulate over backward calls until zeroGrad", async () => {
  const engine = new Engine(new CpuBackend({ precision: "f64" }));
  const w = engine.parameter([1, 2, 3], [3]);
  const x = engine.tensor([4, 5, 6], [3]);
  engine.scope(() => engine.backward(engine.sumAll(engine.mul(w, x))));
  engine.scope(() => engine.backward(engine.sumAll(engine.mul(w, x))));
  assert.deepEqual(Array.from(await w.grad!.data()), [8, 10, 12]);
  engine.zeroGrad([w]);
  assert.equal(w.grad, null);
});

test("noGrad records nothing; scopes free intermediates and drop their tape", async () => {
  const backend = new CpuBackend();
  const engine = new Engine(backend);
  const mlp = new MLP(engine, 3, 5, 2, new Rng(1));
  const x = engine.tensor(new Float32Array(6).fill(0.5), [2, 3]);
  const before = backend.stats().liveBytes;
  engine.noGrad(() => engine.scope(() => { mlp.forward(x); }));
  assert.equal(engine.tapeLength, 0);
  const kept = engine.scope(() => {
    const y = mlp.forward(x);
    assert.ok(engine.tapeLength > 0);
    return engine.sumAll(y);
  });
  assert.equal(engine.tapeLength, 0, "the scope dropped its tape entries");
  assert.equal(backend.stats().liveBytes, before + 4, "only the returned scalar is still alive");
  kept.dispose();
  assert.equal(backend.stats().liveBytes, before);
});

test("using a disposed tensor is an error that says so", async () => {
  const engine = new Engine(new CpuBackend());
  const t = engine.tensor([1, 2], [2]);
  t.dispose();
  assert.throws(() => engine.add(t, t), FreedTensorError);
  assert.throws(() => engine.add(t, t), /disposed/);
});

test("max over an axis sends its gradient to the first maximum", async () => {
  const engine = new Engine(new CpuBackend({ precision: "f64" }));
  const x = engine.parameter([1, 5, 5, 2, 0, -1], [2, 3]);
  engine.scope(() => engine.backward(engine.sumAll(engine.max(x, 1))));
  assert.deepEqual(Array.from(await x.grad!.data()), [0, 1, 0, 1, 0, 0]);
  engine.zeroGrad([x]);
  engine.scope(() => engine.backward(engine.sumAll(engine.max(x, 0))));
  assert.deepEqual(Array.from(await x.grad!.data()), [0, 1, 1, 1, 0, 0]);
});
