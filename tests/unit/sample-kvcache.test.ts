// KV-cached decoding must produce exactly what recomputing the whole sequence
// produces, token by token — greedy and sampled, MHA and GQA, on both backends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { createBackend } from "../../src/tensor/create.js";
import type { Backend } from "../../src/tensor/backend.js";
import { Engine } from "../../src/tensor/engine.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { generate, generateWithoutCache, type GenerateOptions } from "../../src/sample/generate.js";
import { sampleToken } from "../../src/sample/sampling.js";
import { Rng } from "../../src/tensor/random.js";
import { checkLeftPaddedDecoding } from "./helpers/left-padding.js";

const config: GPTConfig = {
  vocabSize: 17, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 20,
  maxSeqLen: 16, ropeTheta: 10000, tiedHead: false, normEps: 1e-5,
};

async function compare(backend: Backend, o: Partial<GenerateOptions>) {
  const engine = new Engine(backend);
  const model = new GPT(engine, config, 4);
  const prompts = [[1, 5, 9], [2, 2, 3], [16, 0, 7]];
  const opts: GenerateOptions = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 12, stopTokens: [], seed: 3, ...o };
  const cached = await generate(model, prompts, opts);
  const full = await generateWithoutCache(model, prompts, opts);
  model.dispose();
  return { cached, full };
}

for (const kind of ["cpu", "webgpu"] as const) {
  test(`${kind}: KV-cached greedy decoding equals full recomputation`, async () => {
    const backend = kind === "cpu" ? new CpuBackend() : await createBackend("webgpu");
    try {
      const { cached, full } = await compare(backend, {});
      assert.deepEqual(cached.tokens, full.tokens);
      assert.equal(cached.tokens[0]!.length, 12);
    } finally {
      backend.destroy();
    }
  });
}

test("cpu: KV-cached sampling (temperature, top-k, top-p) equals full recomputation; stop tokens end a sequence", async () => {
  const backend = new CpuBackend();
  const { cached, full } = await compare(backend, { temperature: 1.3, topK: 8, topP: 0.9, stopTokens: [4, 11] });
  assert.deepEqual(cached.tokens, full.tokens);
  cached.tokens.forEach((seq, i) => {
    const stopAt = seq.findIndex((t) => t === 4 || t === 11);
    if (cached.stopped[i]) assert.equal(stopAt, seq.length - 1, "a stopped sequence ends with its stop token");
    else assert.equal(stopAt, -1);
  });
  backend.destroy();
});

test("sampling: greedy is argmax, top-k 1 is greedy, top-p keeps the nucleus, one seed gives one draw", () => {
  const logits = [0.1, 3, 2.9, -1, 0];
  assert.equal(sampleToken(logits, 0, 5, { temperature: 0, topK: 0, topP: 1 }, new Rng(1)), 1);
  for (let s = 0; s < 20; s++) assert.equal(sampleToken(logits, 0, 5, { temperature: 1, topK: 1, topP: 1 }, new Rng(s)), 1);
  const seen = new Set<number>();
  for (let s = 0; s < 200; s++) seen.add(sampleToken(logits, 0, 5, { temperature: 1, topK: 0, topP: 0.8 }, new Rng(s)));
  assert.deepEqual([...seen].sort(), [1, 2], "p(1)+p(2) ≈ 0.84 ≥ 0.8, so only tokens 1 and 2 remain");
  const a = sampleToken(logits, 0, 5, { temperature: 1, topK: 0, topP: 1 }, new Rng(42));
  assert.equal(sampleToken(logits, 0, 5, { temperature: 1, topK: 0, topP: 1 }, new Rng(42)), a);
});

// Prompts of different lengths share a batch by left padding (src/sample/generate.ts).
// Each must be decoded exactly as it would be alone: the padding is masked out of
// attention, and RoPE scores depend only on distances, so the shift does not matter.
for (const kind of ["cpu", "webgpu"] as const) {
  test(`${kind}: a batch of prompts of different lengths decodes each as it would alone`, async () => {
    const backend = kind === "cpu" ? new CpuBackend() : await createBackend("webgpu");
    const engine = new Engine(backend);
    const model = new GPT(engine, config, 4);
    try {
      await checkLeftPaddedDecoding(model);
    } finally {
      model.dispose();
      backend.destroy();
    }
  });
}
