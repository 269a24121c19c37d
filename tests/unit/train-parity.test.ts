// The same model, the same seed, the same data: 50 AdamW steps on WebGPU and on
// the CPU engine give the same loss curve (float32 on both; differences come only
// from the order of floating-point sums, so they stay tiny).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { createBackend } from "../../src/tensor/create.js";
import type { Backend } from "../../src/tensor/backend.js";
import { Engine } from "../../src/tensor/engine.js";
import { MLP } from "../../src/nn/layers.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { AdamW } from "../../src/optim/adamw.js";
import { Rng } from "../../src/tensor/random.js";
import { trainStep } from "../../src/train/step.js";
import { countingBatch } from "./helpers/batches.js";

const STEPS = 50;
// Per-step tolerance on the loss: |gpu − cpu| ≤ ATOL + RTOL·|cpu|.
const ATOL = 1e-4;
const RTOL = 2e-3;

async function mlpCurve(backend: Backend): Promise<number[]> {
  const engine = new Engine(backend);
  const rng = new Rng(5);
  const model = new MLP(engine, 5, 17, 3, rng);
  // 33 points, label = which of three linear scores is largest
  const N = 33;
  const xs = rng.normals(N * 5, 1);
  const ys = Array.from({ length: N }, (_, n) => {
    const s = [xs[n * 5]! + xs[n * 5 + 1]!, xs[n * 5 + 2]! - xs[n * 5 + 3]!, xs[n * 5 + 4]!];
    return s.indexOf(Math.max(...s));
  });
  const x = engine.tensor(xs, [N, 5]);
  const y = engine.tensor(ys, [N], "i32");
  const opt = new AdamW(engine, model.parameters().map((p) => p.tensor), { lr: 0.02, weightDecay: 0.01, maxGradNorm: 1 });
  const curve: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    curve.push((await trainStep(engine, opt, () => engine.meanCrossEntropy(model.forward(x), y), 0.02, s)).loss);
  }
  opt.dispose();
  model.dispose();
  return curve;
}

const ATTENTION_GPT: GPTConfig = {
  vocabSize: 13, dModel: 16, nLayers: 1, nHeads: 4, nKvHeads: 2, dFF: 24,
  maxSeqLen: 9, ropeTheta: 10000, tiedHead: true, normEps: 1e-5,
};
/** the same block with Multi-head Latent Attention (a query latent too) */
const MLA_GPT: GPTConfig = { ...ATTENTION_GPT, nKvHeads: 4, attention: { kind: "mla", dC: 8, dCq: 8, dR: 4 } };

async function attentionCurve(backend: Backend, config = ATTENTION_GPT): Promise<number[]> {
  const engine = new Engine(backend);
  const model = new GPT(engine, config, 7);
  const rng = new Rng(9);
  const B = 3, T = 9;
  const { ids, targets } = countingBatch(engine, rng, B, T, 13);
  const opt = new AdamW(engine, model.parameters().map((p) => p.tensor), { lr: 0.01, maxGradNorm: 1 });
  const curve: number[] = [];
  for (let s = 0; s < STEPS; s++) curve.push((await trainStep(engine, opt, () => model.loss(ids, targets), 0.01, s)).loss);
  opt.dispose();
  model.dispose();
  return curve;
}

const runs: [string, (backend: Backend) => Promise<number[]>][] = [
  ["2-layer MLP", mlpCurve],
  ["attention block (1-layer GPT, GQA)", (b) => attentionCurve(b)],
  ["MLA block (1-layer GPT, Multi-head Latent Attention)", (b) => attentionCurve(b, MLA_GPT)],
];
for (const [name, run] of runs) {
  test(`${name}: 50 steps on WebGPU match the CPU engine`, async (t) => {
    const cpu = await run(new CpuBackend());
    // the WebAssembly engine (what --backend cpu runs) follows the same curve
    const wasm = await run(new CpuBackend({ wasm: createWasmEngineSync() }));
    for (let s = 0; s < STEPS; s++) {
      assert.ok(Math.abs(wasm[s]! - cpu[s]!) <= ATOL + RTOL * Math.abs(cpu[s]!), `step ${s}: wasm ${wasm[s]} vs reference ${cpu[s]}`);
    }
    const gpuBackend = await createBackend("webgpu");
    let gpu: number[];
    try {
      gpu = await run(gpuBackend);
    } finally {
      gpuBackend.destroy();
    }
    assert.ok(cpu[STEPS - 1]! < 0.7 * cpu[0]!, `the model learns (loss ${cpu[0]} → ${cpu[STEPS - 1]})`);
    let worst = 0;
    for (let s = 0; s < STEPS; s++) {
      const diff = Math.abs(gpu[s]! - cpu[s]!);
      worst = Math.max(worst, diff);
      assert.ok(diff <= ATOL + RTOL * Math.abs(cpu[s]!), `step ${s}: webgpu ${gpu[s]} vs cpu ${cpu[s]} (|diff| ${diff})`);
    }
    t.diagnostic(`loss ${cpu[0]!.toFixed(4)} → ${cpu[STEPS - 1]!.toFixed(4)} (cpu); largest |webgpu − cpu| ${worst.toExponential(2)}`);
  });
}
