// Multi-head Latent Attention against an independent host reference
// (tests/unit/helpers/mla-host.ts: DeepSeek-V2's equations in plain float64 loops).
// Both paths of src/nn/mla.ts — naive and absorbed, without a cache and decoding from
// one — must give the reference's outputs, forward and backward, on the CPU engine
// and on WebGPU. The reference with another scale (1/sqrt(d_h), the common mistake)
// or without the rotary part must NOT match, so these tests can fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { createBackend } from "../../src/tensor/create.js";
import type { Backend } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { Rng } from "../../src/tensor/random.js";
import { MultiHeadLatentAttention, type MLAConfig, type MLAPath } from "../../src/nn/mla.js";
import { hostMLA, hostMLAGrad, type HostMLAWeights } from "./helpers/mla-host.js";
import { assertClose, type Tolerance } from "./helpers/assert-close.js";

/** dH ≠ dModel / nHeads, dC ≠ dH, dR ≠ dH, on purpose, so a mixed-up size cannot pass */
const LOW_RANK: MLAConfig = { dModel: 8, nHeads: 2, dC: 5, dCq: 4, dR: 4, dH: 3, ropeTheta: 10000, normEps: 1e-5 };
const FULL_RANK: MLAConfig = { ...LOW_RANK, dCq: 0, nHeads: 3, dR: 2 };
const B = 2, T = 6;
const KEY_START = [2, 0]; // row 0 starts with two padding positions

const KINDS = ["cpu", "webgpu"] as const;
type Kind = (typeof KINDS)[number];
const open = (kind: Kind): Promise<Backend> => (kind === "cpu" ? Promise.resolve(new CpuBackend({ precision: "f64" })) : createBackend("webgpu"));
/** float64 on the CPU agrees with the reference to round-off; WebGPU computes in float32 */
const forwardTol = (kind: Kind): Tolerance => (kind === "cpu" ? { atol: 1e-12 } : { atol: 2e-6, rtol: 1e-5 });

/** a layer with random weights, its RMSNorm gains moved away from 1 so they matter too */
async function layer(e: Engine, cfg: MLAConfig, seed: number): Promise<{ m: MultiHeadLatentAttention; w: HostMLAWeights }> {
  const m = new MultiHeadLatentAttention(e, cfg, new Rng(seed));
  const rng = new Rng(seed + 100);
  for (const norm of [m.kvNorm, m.qNorm]) {
    if (norm) e.assign(norm.weight, Array.from(rng.normals(norm.weight.size, 0.3), (z) => 1 + z));
  }
  // larger weights than the init gives, so the softmax is far from uniform and the scale matters
  for (const lin of [m.wq, m.wqr, m.wuk, m.wkr]) e.assign(lin.weight, Array.from(await lin.weight.data(), (v) => 3 * v));
  const host = async (t: Tensor) => Array.from(await t.data());
  const w: HostMLAWeights = {
    wq: await host(m.wq.weight), wqr: await host(m.wqr.weight), wdkv: await host(m.wdkv.weight), kvNorm: await host(m.kvNorm.weight),
    wuk: await host(m.wuk.weight), wuv: await host(m.wuv.weight), wkr: await host(m.wkr.weight), wo: await host(m.wo.weight),
    ...(m.wdq && m.qNorm ? { wdq: await host(m.wdq.weight), qNorm: await host(m.qNorm.weight) } : {}),
  };
  return { m, w };
}

/** the layer run with a cache: a prefill of 3 positions, then one position at a time */
function cachedForward(m: MultiHeadLatentAttention, x: Tensor, keyStart: Tensor, path: MLAPath): Tensor {
  const e = m.engine;
  const cache = m.newCache(B, T);
  try {
    const outs = [m.forward(e.slice(x, 1, 0, 3), cache, 0, keyStart, path)];
    for (let t = 3; t < T; t++) outs.push(m.forward(e.slice(x, 1, t, t + 1), cache, t, keyStart, path));
    return e.concat(outs, 1);
  } finally {
    e.backend.free(cache.latentRope);
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

for (const kind of KINDS) {
  test(`${kind}: naive and absorbed, with and without a cache, equal the host reference (left padding, both query ranks)`, async () => {
    const backend = await open(kind);
    const e = new Engine(backend);
    try {
      for (const cfg of [LOW_RANK, FULL_RANK]) {
        const { m, w } = await layer(e, cfg, 3);
        const xs = Array.from(new Rng(4).normals(B * T * cfg.dModel, 1));
        const x = e.tensor(xs, [B, T, cfg.dModel]);
        const keyStart = e.tensor(KEY_START, [B], "i32");
        const want = hostMLA(cfg, w, xs, B, T, KEY_START);
        const label = `dCq ${cfg.dCq}`;
        for (const path of ["naive", "absorbed"] as const) {
          const got = await e.noGrad(() => m.forward(x, undefined, 0, keyStart, path)).data();
          assertClose(got, want, forwardTol(kind), `${label}, ${path}, no cache`);
          const cached = await e.noGrad(() => cachedForward(m, x, keyStart, path)).data();
          assertClose(cached, want, forwardTol(kind), `${label}, ${path}, decoding from a cache`);
        }
        // the counter-examples: these references are wrong, and the layer must not match them
        const got = await e.noGrad(() => m.forward(x, undefined, 0, keyStart, "absorbed")).data();
        const wrongScale = hostMLA(cfg, w, xs, B, T, KEY_START, 1 / Math.sqrt(cfg.dH));
        assert.ok(maxAbsDiff(got, wrongScale) > 1e-3, `${label}: a scale of 1/sqrt(dH) would be caught (${maxAbsDiff(got, wrongScale)})`);
        const noRope = hostMLA(cfg, { ...w, wkr: new Array<number>(w.wkr.length).fill(0) }, xs, B, T, KEY_START);
        assert.ok(maxAbsDiff(got, noRope) > 1e-3, `${label}: leaving out the rotary key would be caught`);
        const noPadding = hostMLA(cfg, w, xs, B, T, [0, 0]);
        assert.ok(maxAbsDiff(got, noPadding) > 1e-3, `${label}: ignoring the left padding would be caught`);
        m.dispose();
      }
    } finally {
      backend.destroy();
    }
  });

  // The reference's gradient is taken by central differences of the reference itself
  // (float64, eps 1e-6: truncation ~1e-12, round-off ~1e-10), so nothing of the engine's
  // autograd is shared with it.
  test(`${kind}: gradients of both paths equal the host reference's (every weight and the input)`, async () => {
    const backend = await open(kind);
    const e = new Engine(backend);
    try {
      for (const cfg of [LOW_RANK, FULL_RANK]) {
        const { m, w } = await layer(e, cfg, 11);
        const rng = new Rng(12);
        const xs = Array.from(rng.normals(B * T * cfg.dModel, 1));
        const wOut = Array.from(rng.normals(B * T * cfg.dModel, 1));
        const keyStart = e.tensor(KEY_START, [B], "i32");
        const names: [keyof HostMLAWeights, Tensor][] = [
          ["wq", m.wq.weight], ["wqr", m.wqr.weight], ["wdkv", m.wdkv.weight], ["kvNorm", m.kvNorm.weight],
          ["wuk", m.wuk.weight], ["wuv", m.wuv.weight], ["wkr", m.wkr.weight], ["wo", m.wo.weight],
        ];
        if (m.wdq && m.qNorm) names.push(["wdq", m.wdq.weight], ["qNorm", m.qNorm.weight]);
        const want = new Map<string, number[]>(names.map(([n]) => [n, hostMLAGrad(cfg, w, xs, B, T, KEY_START, wOut, n)]));
        want.set("x", hostMLAGrad(cfg, w, xs, B, T, KEY_START, wOut, "x"));
        for (const path of ["naive", "absorbed"] as const) {
          const x = e.parameter(xs, [B, T, cfg.dModel]);
          const leaves: [string, Tensor][] = [...names, ["x", x]];
          e.scope(() => e.backward(e.sumAll(e.mul(m.forward(x, undefined, 0, keyStart, path), e.tensor(wOut, [B, T, cfg.dModel])))));
          for (const [name, t] of leaves) {
            const g = want.get(name)!;
            const scale = Math.max(...g.map(Math.abs));
            assert.ok(scale > 1e-3, `${name}: a gradient to compare`);
            const tol: Tolerance = kind === "cpu" ? { atol: 1e-7, rtol: 1e-6 } : { atol: 2e-5 * scale, rtol: 1e-4 };
            assertClose(await t.grad!.data(), g, tol, `dCq ${cfg.dCq}, ${path}: d/d${name}`);
          }
          e.zeroGrad(leaves.map(([, t]) => t));
          x.dispose();
        }
        m.dispose();
      }
    } finally {
      backend.destroy();
    }
  });
}
