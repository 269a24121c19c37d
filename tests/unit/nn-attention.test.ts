// The attention heatmap shows the probabilities the fused kernel really uses:
// rows sum to 1, nothing looks ahead, and P·V reproduces the layer's attention output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { GPT } from "../../src/nn/gpt.js";
import { CausalSelfAttention } from "../../src/nn/attention.js";
import { assertClose } from "./helpers/assert-close.js";

test("attentionMaps: causal, normalised, and consistent with the fused attention (GQA)", async () => {
  const e = new Engine(new CpuBackend({ precision: "f64" }));
  const model = new GPT(e, {
    vocabSize: 9, dModel: 12, nLayers: 2, nHeads: 6, nKvHeads: 2, dFF: 10,
    maxSeqLen: 7, ropeTheta: 10000, tiedHead: true, normEps: 1e-5,
  }, 2);
  const B = 2, T = 7, H = 6, D = 2;
  const ids = e.tensor([1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5], [B, T], "i32");
  const maps = model.attentionMaps(ids);
  assert.equal(maps.length, 2);
  assert.deepEqual(maps[0]!.shape, [B, H, T, T]);
  const p = await maps[0]!.data();
  for (let r = 0; r < B * H * T; r++) {
    const i = r % T;
    let sum = 0;
    for (let j = 0; j < T; j++) {
      const v = p[r * T + j]!;
      if (j > i) assert.ok(v < 1e-12, `row ${r} looks ahead at ${j}: ${v}`);
      sum += v;
    }
    assert.ok(Math.abs(sum - 1) < 1e-12, `row ${r} sums to ${sum}`);
  }
  // P·V of layer 0 equals the fused kernel's output for the same q, k, v
  const attn = model.blocks[0]!.attn;
  assert.ok(attn instanceof CausalSelfAttention);
  const x = e.reshape(model.blocks[0]!.attnNorm.forward(model.embed.forward(ids)), [B * T, 12]);
  const q = e.rope(e.reshape(attn.wq.forward(x), [B, T, H, D]));
  const k = e.rope(e.reshape(attn.wk.forward(x), [B, T, 2, D]));
  const v = e.reshape(attn.wv.forward(x), [B, T, 2, D]);
  const fused = await e.attention(q, k, v, { scale: 1 / Math.sqrt(D), causal: true }).data(); // [B, T, H, D]
  const vh = await e.permute(v, [0, 2, 1, 3]).data(); // [B, 2, T, D]
  const manual = new Float64Array(B * T * H * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let d = 0; d < D; d++) {
    let s = 0;
    for (let j = 0; j < T; j++) s += p[((b * H + h) * T + i) * T + j]! * vh[((b * 2 + Math.floor(h / 3)) * T + j) * D + d]!;
    manual[((b * T + i) * H + h) * D + d] = s;
  }
  assertClose(manual, fused, { atol: 1e-12 }, "P·V vs fused attention");
});
