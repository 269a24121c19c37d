// Multi-head Latent Attention (src/nn/mla.ts): the naive and absorbed paths compute
// the same attention; the cache holds only the latent and the rotary key; cached
// decoding (also left-padded) equals recomputation; every parameter's gradient
// passes a float64 finite-difference check and WebGPU's match the CPU's; the
// GPT's cache size and FLOP count are right for every attention kind; bad
// configs are refused with a message that says what to fix; cached decoding gives the
// logits of recomputation token by token; the absorbed decode copies nothing that grows
// with the context.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { createBackend } from "../../src/tensor/create.js";
import type { Backend } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { Rng } from "../../src/tensor/random.js";
import { GPT, validateGPTConfig, type GPTConfig, type MLAOptions } from "../../src/nn/gpt.js";
import { MultiHeadLatentAttention, type MLAConfig, type MLAPath } from "../../src/nn/mla.js";
import { generate, generateWithoutCache, type GenerateOptions } from "../../src/sample/generate.js";
import { numericGradOf } from "./helpers/finite-diff.js";
import { assertClose, type Tolerance } from "./helpers/assert-close.js";
import { checkLeftPaddedDecoding } from "./helpers/left-padding.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.js";
import { loadModelTensors, modelTensors } from "../../src/train/checkpoint.js";

/** dH ≠ dModel / nHeads and dC ≠ dH on purpose, so a mixed-up size cannot pass */
const LOW_RANK: MLAConfig = { dModel: 8, nHeads: 2, dC: 5, dCq: 4, dR: 4, dH: 3, ropeTheta: 10000, normEps: 1e-5 };
const FULL_RANK: MLAConfig = { ...LOW_RANK, dCq: 0 };

const MLA: MLAOptions = { kind: "mla", dC: 6, dCq: 5, dR: 4 };
const base = {
  vocabSize: 17, dModel: 16, nLayers: 2, nHeads: 4, dFF: 20, maxSeqLen: 16, ropeTheta: 10000, tiedHead: false, normEps: 1e-5,
};
const mlaGPT: GPTConfig = { ...base, nKvHeads: 4, attention: MLA };

const KINDS = ["cpu", "webgpu"] as const;
const open = (kind: (typeof KINDS)[number], precision: "f32" | "f64" = "f32"): Promise<Backend> =>
  kind === "cpu" ? Promise.resolve(new CpuBackend({ precision })) : createBackend("webgpu");
/** float64 on the CPU is exact to round-off; WebGPU computes in float32 */
const forwardTol = (kind: (typeof KINDS)[number]): Tolerance => (kind === "cpu" ? { atol: 1e-12 } : { atol: 1e-5, rtol: 1e-5 });

/** x [B, T, d] run through the layer in pieces (a prefill of 3, then one position at a time) with a cache */
function cachedForward(m: MultiHeadLatentAttention, x: Tensor, keyStart: Tensor, path: MLAPath): Tensor {
  const e = m.engine;
  const [B, T] = x.shape as [number, number, number];
  const cache = m.newCache(B, T);
  try {
    const outs = [m.forward(e.slice(x, 1, 0, 3), cache, 0, keyStart, path)];
    for (let t = 3; t < T; t++) outs.push(m.forward(e.slice(x, 1, t, t + 1), cache, t, keyStart, path));
    return e.concat(outs, 1);
  } finally {
    e.backend.free(cache.latentRope);
  }
}

for (const kind of KINDS) {
  test(`${kind}: naive and absorbed paths agree, with and without a cache, with left padding`, async () => {
    const backend = await open(kind, "f64");
    const e = new Engine(backend);
    try {
      for (const cfg of [LOW_RANK, FULL_RANK]) {
        const m = new MultiHeadLatentAttention(e, cfg, new Rng(3));
        const B = 2, T = 7;
        const x = e.tensor(new Rng(4).normals(B * T * cfg.dModel, 1), [B, T, cfg.dModel]);
        const keyStart = e.tensor([2, 0], [B], "i32"); // row 0 starts with two padding positions
        const label = `dCq ${cfg.dCq}`;
        const naive = await e.noGrad(() => m.forward(x, undefined, 0, keyStart, "naive")).data();
        const absorbed = await e.noGrad(() => m.forward(x, undefined, 0, keyStart, "absorbed")).data();
        assert.ok(naive.every(Number.isFinite), `${label}: finite outputs`);
        assertClose(absorbed, naive, forwardTol(kind), `${label}: absorbed vs naive`);
        for (const path of ["naive", "absorbed"] as const) {
          const cached = await e.noGrad(() => cachedForward(m, x, keyStart, path)).data();
          assertClose(cached, naive, forwardTol(kind), `${label}: ${path} with a cache vs naive without`);
        }
        m.dispose();
      }
    } finally {
      backend.destroy();
    }
  });
}

test("the cache holds (dC + dR) floats per token per layer: measured from the cache tensors, against MHA/GQA/MQA", async (t) => {
  const backend = new CpuBackend();
  const e = new Engine(backend);
  const B = 3;
  const rows: string[] = [];
  const kinds: [string, GPTConfig, number][] = [
    ["MHA (4 KV heads)", { ...base, nKvHeads: 4 }, 2 * 4 * 4],
    ["GQA (2 KV heads)", { ...base, nKvHeads: 2 }, 2 * 2 * 4],
    ["MQA (1 KV head)", { ...base, nKvHeads: 1 }, 2 * 1 * 4],
    [`MLA (dC ${MLA.dC}, dR ${MLA.dR})`, mlaGPT, MLA.dC + MLA.dR],
  ];
  for (const [name, config, perLayer] of kinds) {
    const model = new GPT(e, config, 1);
    const cache = model.newCache(B);
    assert.equal(cache.length, config.nLayers);
    let floats = 0;
    for (const layer of cache) {
      if ("latentRope" in layer) {
        assert.deepEqual(layer.latentRope.shape, [B, config.maxSeqLen, MLA.dC + MLA.dR], "rows [c^KV; k^R]");
        floats += layer.latentRope.size;
      } else {
        floats += layer.k.size + layer.v.size;
      }
    }
    const perToken = floats / (B * config.maxSeqLen);
    assert.equal(perToken, config.nLayers * perLayer, `${name}: floats per token`);
    assert.equal(model.kvCacheFloatsPerToken(), perToken, `${name}: kvCacheFloatsPerToken()`);
    rows.push(`${name}: ${perToken / config.nLayers} floats per token per layer, ${perToken} for ${config.nLayers} layers`);
    model.freeCache(cache);
    model.dispose();
  }
  for (const r of rows) t.diagnostic(r);
  backend.destroy();
});

test("flopsPerToken: 2 FLOPs per weight of every matrix a token meets, plus the scores and weighted sums over T", () => {
  const e = new Engine(new CpuBackend());
  const T = 11;
  const configs: [GPTConfig, number][] = [
    [{ ...base, nKvHeads: 4 }, 4 * T * base.dModel],
    [{ ...base, nKvHeads: 1 }, 4 * T * base.dModel],
    [mlaGPT, 2 * T * 4 * (4 + MLA.dR) + 2 * T * 4 * 4], // H = 4, dH = 16 / 4
    [{ ...mlaGPT, attention: { ...MLA, dCq: 0, dH: 3 } }, 2 * T * 4 * (3 + MLA.dR) + 2 * T * 4 * 3],
  ];
  for (const [config, attendPerLayer] of configs) {
    const model = new GPT(e, config, 1);
    // every block matrix is used once per token (norm gains are not matrices)
    const matrices = model.parameters()
      .filter((p) => p.name.startsWith("blocks.") && p.tensor.shape.length === 2)
      .reduce((s, p) => s + p.tensor.size, 0);
    const expected = 2 * matrices + config.nLayers * attendPerLayer + 2 * config.dModel * config.vocabSize;
    assert.equal(model.flopsPerToken(T), expected, JSON.stringify(config.attention ?? { nKvHeads: config.nKvHeads }));
    model.dispose();
  }
});

for (const kind of KINDS) {
  test(`${kind}: MLA with a KV cache (absorbed) decodes exactly as full recomputation, greedy`, async () => {
    const backend = await open(kind);
    const model = new GPT(new Engine(backend), mlaGPT, 4);
    try {
      const prompts = [[1, 5, 9], [2, 2, 3], [16, 0, 7]];
      const opts: GenerateOptions = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 12, stopTokens: [], seed: 3 };
      const cached = await generate(model, prompts, opts);
      const full = await generateWithoutCache(model, prompts, opts);
      assert.deepEqual(cached.tokens, full.tokens);
      assert.equal(cached.tokens[0]!.length, 12);
    } finally {
      model.dispose();
      backend.destroy();
    }
  });

  test(`${kind}: MLA, a left-padded batch of prompts of different lengths decodes each as it would alone`, async () => {
    const backend = await open(kind);
    const engine = new Engine(backend);
    const model = new GPT(engine, mlaGPT, 4);
    try {
      await checkLeftPaddedDecoding(model);
    } finally {
      model.dispose();
      backend.destroy();
    }
  });
}

// Float64 central differences of L = Σ w ⊙ MLA(x) against Engine.backward, for
// every element of every parameter and of x, through both paths, with and
// without the query latent, with left padding. eps = 1e-6: truncation ~1e-12 and
// round-off ~1e-10·|L|, far below the tolerance.
test("cpu float64: every MLA gradient (both paths, both query ranks) passes a finite-difference check", async () => {
  const e = new Engine(new CpuBackend({ precision: "f64" }));
  const EPS = 1e-6;
  const B = 2, T = 5;
  for (const cfg of [LOW_RANK, FULL_RANK]) {
    for (const path of ["naive", "absorbed"] as const) {
      const m = new MultiHeadLatentAttention(e, cfg, new Rng(11));
      const rng = new Rng(12);
      const xData = Array.from(rng.normals(B * T * cfg.dModel, 1));
      const w = e.tensor(rng.normals(B * T * cfg.dModel, 1), [B, T, cfg.dModel]);
      const keyStart = e.tensor([1, 0], [B], "i32");
      const x = e.parameter(xData, [B, T, cfg.dModel]);
      const lossOf = (input: Tensor) => e.sumAll(e.mul(m.forward(input, undefined, 0, keyStart, path), w));
      const L = async () => e.noGrad(() => e.scope(async () => (await lossOf(x).data())[0]!));
      const leaves = [...m.parameters(), { name: "x", tensor: x, decay: false }];
      e.scope(() => e.backward(lossOf(x)));
      for (const p of leaves) {
        const analytic = await p.tensor.grad!.data();
        const numeric = await numericGradOf(e, p.tensor, L, EPS);
        const label = `dCq ${cfg.dCq}, ${path}: ${p.name}`;
        assert.ok(numeric.some((g) => Math.abs(g) > 1e-4), `${label}: the numeric gradient is not all zero`);
        assertClose(analytic, numeric, { atol: 1e-7, rtol: 1e-6 }, label);
      }
      e.zeroGrad(leaves.map((p) => p.tensor));
      m.dispose();
      x.dispose();
    }
  }
});

test("webgpu: gradients of a tiny GPT with MLA match the CPU engine's (float64)", async () => {
  const B = 2, T = 6;
  const config: GPTConfig = { ...mlaGPT, nLayers: 1, maxSeqLen: T };
  const rng = new Rng(21);
  const ids = Array.from({ length: B * T }, () => rng.int(config.vocabSize));
  const targets = Array.from({ length: B * T }, () => rng.int(config.vocabSize));
  async function grads(backend: Backend): Promise<Map<string, Float32Array | Float64Array>> {
    const e = new Engine(backend);
    const model = new GPT(e, config, 5);
    e.scope(() => e.backward(model.loss(e.tensor(ids, [B, T], "i32"), e.tensor(targets, [B, T], "i32"))));
    const out = new Map<string, Float32Array | Float64Array>();
    for (const p of model.parameters()) out.set(p.name, (await p.tensor.grad!.data()) as Float32Array | Float64Array);
    model.dispose();
    return out;
  }
  const cpu = new CpuBackend({ precision: "f64" });
  const gpu = await createBackend("webgpu");
  try {
    const ref = await grads(cpu);
    const got = await grads(gpu);
    const mlaNames = [...ref.keys()].filter((n) => n.includes(".attn."));
    assert.deepEqual(mlaNames.map((n) => n.replace("blocks.0.attn.", "")).sort(),
      ["kv_norm.weight", "q_norm.weight", "wdkv.weight", "wdq.weight", "wkr.weight", "wo.weight", "wqr.weight", "wuk.weight", "wuq.weight", "wuv.weight"]);
    for (const [name, g] of ref) {
      const scale = Math.max(...Array.from(g, Math.abs));
      assert.ok(scale > 0, `${name}: a gradient to compare`);
      // float32 vs float64, measured on SwiftShader: |diff| ≤ 4e-7·scale, 25× inside this
      assertClose(got.get(name)!, g, { atol: 1e-5 * scale, rtol: 1e-4 }, name);
    }
  } finally {
    cpu.destroy();
    gpu.destroy();
  }
});

test("attentionMaps works with MLA: causal, normalised, and P·v^C reproduces the layer", async () => {
  const e = new Engine(new CpuBackend({ precision: "f64" }));
  const model = new GPT(e, mlaGPT, 2);
  const B = 2, T = 5, H = 4, dH = 4, C = mlaGPT.dModel;
  const ids = e.tensor([1, 2, 3, 4, 5, 6, 7, 8, 0, 1], [B, T], "i32");
  const maps = model.attentionMaps(ids);
  assert.equal(maps.length, mlaGPT.nLayers);
  assert.deepEqual(maps[0]!.shape, [B, H, T, T]);
  const p = await maps[0]!.data();
  for (let r = 0; r < B * H * T; r++) {
    let sum = 0;
    for (let j = 0; j < T; j++) {
      if (j > r % T) assert.ok(p[r * T + j]! < 1e-12, `row ${r} looks ahead at ${j}`);
      sum += p[r * T + j]!;
    }
    assert.ok(Math.abs(sum - 1) < 1e-12, `row ${r} sums to ${sum}`);
  }
  const attn = model.blocks[0]!.attn;
  assert.ok(attn instanceof MultiHeadLatentAttention);
  const x = model.blocks[0]!.attnNorm.forward(model.embed.forward(ids));
  const latent = attn.kvNorm.forward(attn.wdkv.forward(e.reshape(x, [B * T, C])));
  const v = e.permute(e.reshape(attn.wuv.forward(latent), [B, T, H, dH]), [0, 2, 1, 3]); // [B, H, T, dH]
  const heads = e.reshape(e.permute(e.matmul(maps[0]!, v), [0, 2, 1, 3]), [B * T, H * dH]);
  const manual = await attn.wo.forward(heads).data();
  assertClose(manual, await attn.forward(x).data(), { atol: 1e-12 }, "W^O (P·v^C) vs the layer");
  model.dispose();
});

test("bad MLA configs are refused with a message that says what to fix", () => {
  const bad: [Record<string, unknown>, Partial<GPTConfig>, RegExp][] = [
    [{ dR: 3 }, {}, /dR .* positive even integer .*got 3/],
    [{ dR: 0 }, {}, /dR .* positive even integer/],
    [{ dC: 0 }, {}, /dC .* positive integer, got 0/],
    [{ dC: 2.5 }, {}, /dC .* positive integer, got 2.5/],
    [{ dCq: -1 }, {}, /dCq .* integer ≥ 0/],
    [{ dH: 0 }, {}, /dH .* positive integer/],
    [{ kind: "latent" }, {}, /attention must be \{ kind: "mla"/],
    [{}, { nKvHeads: 2 }, /with MLA, nKvHeads must equal nHeads \(4\), got 2/],
    [{}, { dModel: 18 }, /not divisible by nHeads 4; set attention.dH/],
  ];
  for (const [attention, rest, message] of bad) {
    const config = { ...mlaGPT, ...rest, attention: { ...MLA, ...attention } } as GPTConfig;
    assert.throws(() => validateGPTConfig(config), message, JSON.stringify(attention));
    assert.throws(() => new GPT(new Engine(new CpuBackend()), config, 1), message);
  }
  // fine: an explicit head size makes any dModel work; no attention field is MHA/GQA/MQA as before
  validateGPTConfig({ ...mlaGPT, dModel: 18, attention: { ...MLA, dH: 5 } });
  validateGPTConfig({ ...base, nKvHeads: 2 });
  assert.throws(
    () => new MultiHeadLatentAttention(new Engine(new CpuBackend()), { ...LOW_RANK, dR: 5 }, new Rng(1)),
    /MLA config: dR .* positive even integer/,
  );
});

test("an MLA GPT survives a safetensors round trip; a checkpoint of another attention kind is refused by name", async () => {
  const backend = new CpuBackend();
  const e = new Engine(backend);
  try {
    const trained = new GPT(e, mlaGPT, 5);
    const bytes = encodeSafetensors(await modelTensors(trained));
    const loaded = new GPT(e, mlaGPT, 99); // other initial weights, then the file's
    loadModelTensors(loaded, decodeSafetensors(bytes).tensors);
    const ids = e.tensor([1, 5, 9, 2, 2, 3], [1, 6], "i32");
    const want = await e.noGrad(() => trained.forward(ids)).data();
    assert.deepEqual(Array.from(await e.noGrad(() => loaded.forward(ids)).data()), Array.from(want), "same logits after loading");
    const names = trained.parameters().map((p) => p.name);
    for (const n of ["blocks.0.attn.wdkv.weight", "blocks.0.attn.kv_norm.weight", "blocks.1.attn.wkr.weight"]) assert.ok(names.includes(n), `saved as ${n}`);
    // an MHA model's file lacks the MLA tensors: refused, naming one
    const mhaFile = encodeSafetensors(await modelTensors(new GPT(e, { ...base, nKvHeads: 2 }, 5)));
    assert.throws(() => loadModelTensors(loaded, decodeSafetensors(mhaFile).tensors), /blocks\.0\.attn\./);
  } finally {
    backend.destroy();
  }
});

for (const kind of KINDS) test(`${kind}: cached decoding gives the logits of full recomputation, token by token, in a left-padded batch`, async () => {
  const backend = await open(kind, "f64");
  const e = new Engine(backend);
  const model = new GPT(e, mlaGPT, 7);
  const V = mlaGPT.vocabSize;
  // row 0: 3 padding positions, then its prompt; row 1: no padding
  const rows = [[0, 0, 0, 4, 9, 1, 12, 3, 3, 8, 15, 2], [7, 1, 1, 5, 16, 0, 2, 9, 11, 6, 4, 10]];
  const T = rows[0]!.length, B = rows.length, prefill = 5;
  const keyStart = e.tensor([3, 0], [B], "i32");
  const full = await e.noGrad(() => model.forward(e.tensor(rows.flat(), [B, T], "i32"), undefined, 0, keyStart)).data();
  const cache = model.newCache(B);
  try {
    for (let pos = 0; pos < T; pos = pos === 0 ? prefill : pos + 1) {
      const n = pos === 0 ? prefill : 1;
      const ids = e.tensor(rows.flatMap((r) => r.slice(pos, pos + n)), [B, n], "i32");
      const step = await e.noGrad(() => model.forward(ids, cache, pos, keyStart)).data();
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < n; i++) {
          if (b === 0 && pos + i < 3) continue; // padding positions: their outputs are never used
          const want = full.slice((b * T + pos + i) * V, (b * T + pos + i + 1) * V);
          assertClose(step.slice((b * n + i) * V, (b * n + i + 1) * V), want, forwardTol(kind), `row ${b}, position ${pos + i}`);
        }
      }
    }
  } finally {
    model.freeCache(cache);
    model.dispose();
    backend.destroy();
  }
});

test("the absorbed decode reads the cache in place: what a step copies does not grow with the context (the naive path's does)", () => {
  const backend = new CpuBackend();
  const e = new Engine(backend);
  const m = new MultiHeadLatentAttention(e, LOW_RANK, new Rng(5));
  const Tmax = 40;
  const cache = m.newCache(1, Tmax);
  // count the elements every slice and concat produces (the ops that copy)
  let copied = 0;
  const slice = backend.slice.bind(backend), concat = backend.concat.bind(backend);
  backend.slice = (...a: Parameters<typeof slice>) => {
    const out = slice(...a);
    copied += out.size;
    return out;
  };
  backend.concat = (...a: Parameters<typeof concat>) => {
    const out = concat(...a);
    copied += out.size;
    return out;
  };
  const copiesAt = (pos: number, path: MLAPath): number => {
    copied = 0;
    e.scope(() => e.noGrad(() => m.forward(e.tensor(new Rng(pos).normals(LOW_RANK.dModel, 1), [1, 1, LOW_RANK.dModel]), cache, pos, undefined, path)));
    return copied;
  };
  const early = copiesAt(3, "absorbed"), late = copiesAt(35, "absorbed");
  assert.equal(late, early, `absorbed: ${early} elements copied at position 3, ${late} at 35`);
  assert.ok(early < 3 * (LOW_RANK.dC + LOW_RANK.dR) * LOW_RANK.nHeads, `absorbed: only this token's rows are copied (${early})`);
  const naiveEarly = copiesAt(3, "naive"), naiveLate = copiesAt(35, "naive");
  assert.ok(naiveLate > naiveEarly + 30 * LOW_RANK.dC, `naive: copies grow with the context (${naiveEarly} → ${naiveLate})`);
  backend.free(cache.latentRope);
  m.dispose();
  backend.destroy();
});
