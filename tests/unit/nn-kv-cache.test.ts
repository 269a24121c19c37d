// The calculator's formulas (src/nn/kv-cache.ts) against the kit's real caches, counted
// from the tensors GPT.newCache allocates, and against DeepSeek-V2's published figures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { GPT } from "../../src/nn/gpt.js";
import { CACHE_KINDS, DEEPSEEK_DIMS, cacheBytes, cacheValuesPerTokenPerLayer, type CacheDims } from "../../src/nn/kv-cache.js";
import { measureCacheSize } from "../../src/sample/decode-speed.js";
import { pretrainPreset, withAttention } from "../../src/train/presets.js";

test("the formulas give what the learner's models really cache (both presets, every kind)", () => {
  const e = new Engine(new CpuBackend());
  for (const preset of ["ci", "default"] as const) {
    const base = pretrainPreset(preset).model;
    const dH = base.dModel / base.nHeads;
    for (const kind of CACHE_KINDS) {
      const config = withAttention(base, kind);
      const dims: CacheDims = {
        nLayers: config.nLayers, nHeads: config.nHeads, dH, nGroups: config.nKvHeads,
        dC: config.attention?.dC ?? 0, dR: config.attention?.dR ?? 0,
      };
      const model = new GPT(e, config, 1);
      const measured = measureCacheSize(model);
      assert.equal(cacheValuesPerTokenPerLayer(kind, dims), measured.elementsPerTokenPerLayer, `${preset} ${kind}`);
      assert.equal(cacheBytes(kind, dims, 1, 4), measured.bytesPerToken, `${preset} ${kind}: bytes per token`);
      model.dispose();
    }
  }
});

test("DeepSeek-V2: MLA caches 576 values per token per layer against MHA's 32,768; at 128K tokens and 2 bytes, 9.06 GB against 515 GB", () => {
  const v2 = DEEPSEEK_DIMS["DeepSeek-V2"];
  assert.equal(cacheValuesPerTokenPerLayer("mla", v2), 576);
  assert.equal(cacheValuesPerTokenPerLayer("mha", v2), 32_768);
  assert.equal(cacheValuesPerTokenPerLayer("mla", v2), 4.5 * v2.dH, "V2: d_c = 4·d_h, d_h^R = d_h/2, so 4.5·d_h");
  assert.equal((cacheBytes("mla", v2, 131_072, 2) / 1e9).toFixed(2), "9.06");
  assert.equal((cacheBytes("mha", v2, 131_072, 2) / 1e9).toFixed(0), "515");
});
