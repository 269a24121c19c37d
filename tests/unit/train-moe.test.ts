// MoE in the training loops: PretrainRun and SftRun read each step's expert loads
// and, with auxiliary-loss-free balancing (mlp.biasUpdateSpeed γ > 0), move every
// router's bias by γ·sign(mean load − load) before the next step; SFT counts only
// the completion tokens (the loss mask) in those loads; a dense model is untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import type { GPTConfig } from "../../src/nn/gpt.js";
import type { ExpertLoad } from "../../src/nn/moe.js";
import { Engine } from "../../src/tensor/engine.js";
import { BIAS_GAMMA, moeVariant, pretrainPreset, SFT_PRESETS } from "../../src/train/presets.js";
import { PretrainRun } from "../../src/train/pretrain.js";
import { SftRun } from "../../src/train/sft.js";
import { assertClose } from "./helpers/assert-close.js";

/** the rule, on the host: b + γ·sign(mean − load), per expert */
function expectedBias(before: readonly number[], load: ExpertLoad, gamma: number): number[] {
  const mean = load.tokens.reduce((a, b) => a + b, 0) / load.tokens.length;
  return before.map((b, i) => b + gamma * Math.sign(mean - load.tokens[i]!));
}

test("pretraining an MoE model with --balance bias: after every step each router's bias follows b += γ·sign(mean load − load) of that step", async () => {
  const config = moeVariant(pretrainPreset("ci"), "bias");
  config.steps = 50; // no evaluation inside the three steps taken
  const e = new Engine(new CpuBackend());
  const run = new PretrainRun(e, config, 1);
  try {
    const layers = run.model.moeLayers();
    assert.equal(layers.length, config.model.nLayers);
    let before = layers.map((m) => Array.from(m.router.bias));
    assert.ok(before.every((b) => b.every((v) => v === 0)), "biases start at 0");
    const { batchSize: B, seqLen: T } = config;
    let moved = 0;
    for (let s = 0; s < 3; s++) {
      const record = await run.next();
      assert.equal(run.expertLoads.length, layers.length, "one load per MoE layer");
      layers.forEach((m, i) => {
        const load = run.expertLoads[i]!;
        assert.equal(load.tokens.reduce((a, b) => a + b, 0), B * T * 3, "every token counted k = 3 times");
        const want = expectedBias(before[i]!, load, BIAS_GAMMA);
        assertClose(Array.from(m.router.bias), want, { atol: 1e-6 }, `step ${s}, layer ${i}`);
        moved += want.filter((v, j) => v !== before[i]![j]).length;
      });
      assert.ok(Math.abs(record.load_imbalance! - run.expertLoads.reduce((a, l) => a + l.imbalance, 0) / layers.length) < 1e-12, "the record's load_imbalance");
      before = layers.map((m) => Array.from(m.router.bias));
    }
    assert.ok(moved > 0, "the bias moved");
  } finally {
    run.dispose();
  }
});

test("pretraining with --balance none or aux leaves the biases at 0; a dense model has no loads and no load_imbalance", async () => {
  const e = new Engine(new CpuBackend());
  for (const balance of ["none", "aux"] as const) {
    const config = moeVariant(pretrainPreset("ci"), balance);
    config.steps = 50;
    const run = new PretrainRun(e, config, 1);
    const record = await run.next();
    assert.equal(run.expertLoads.length, 2, `${balance}: loads are still read (for metrics.jsonl)`);
    assert.equal(typeof record.load_imbalance, "number");
    assert.ok(run.model.moeLayers().every((m) => m.router.bias.every((b) => b === 0)), `${balance}: no bias`);
    run.dispose();
  }
  const dense = pretrainPreset("ci");
  dense.steps = 50;
  const run = new PretrainRun(e, dense, 1);
  const record = await run.next();
  assert.deepEqual(run.expertLoads, []);
  assert.equal(record.load_imbalance, undefined);
  run.dispose();
});

test("SFT of an MoE model: the loads count the completion tokens only (the loss mask), and the bias follows the rule", async () => {
  const { sft } = SFT_PRESETS.ci;
  const config = { ...sft, steps: 20, perLevel: [40, 40] };
  const model: GPTConfig = moeVariant(pretrainPreset("ci"), "bias").model;
  const e = new Engine(new CpuBackend());
  const run = new SftRun(e, config, 1, model, { step: 0 });
  try {
    const batch = run.batchAt(0);
    assert.ok(batch.count < batch.B * batch.T, "the batch has prompt and padding positions");
    await run.next();
    run.model.moeLayers().forEach((m, i) => {
      const load = run.expertLoads[i]!;
      assert.equal(load.tokens.reduce((a, b) => a + b, 0), batch.count * 3, `layer ${i}: k = 3 choices for each of the ${batch.count} completion tokens`);
      assertClose(Array.from(m.router.bias), expectedBias(new Array<number>(8).fill(0), load, BIAS_GAMMA), { atol: 1e-6 }, `layer ${i} bias`);
    });
  } finally {
    run.dispose();
  }
});
