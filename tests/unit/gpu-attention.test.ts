// WebGPU rope and fused attention (forward and backward) against the CPU twin:
// causal and not, grouped-query attention, Dv ≠ D (as in Multi-head Latent
// Attention), KV-cached decoding (kvLen < Tk), head sizes above the kernels' 64-wide
// chunks (up to 256), and sizes of 1. Outputs come from a pool filled with NaN first,
// and key/value rows past kvLen hold NaN (a KV cache's unused tail may hold anything).
// Left padding (keyStart) is covered with starts of 0, inside the sequence, at or past
// its end (every query then sees only itself) and negative.
//
// Attention has two sets of kernels (src/gpu/ops/attention.ts): ones generated for
// the exact head size (D, Dv ≤ SPECIALISED_MAX_HEAD) and general ones for any size.
// Every case with small enough heads runs on both, so the general kernels stay tested
// on the awkward shapes too; wider heads only have the general path.
//
// Tolerances (inputs ~ N(0, 1), scale 1/√D): the CPU accumulates in float64; the
// GPU in float32, with exp/log from the GPU's math library.
//   rope:            atol 5e-6 (positions < 40; the f32 angle pos·freq loses ~6e-8·pos)
//   out, lse:        atol 1e-5, rtol 1e-5
//   dq, dk, dv:      atol 2e-5, rtol 2e-5
// (SwiftShader's worst errors are ~2e-6, so this leaves room for other GPUs' exp/log.)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import {
  type AttentionOptions, type Backend, type RawTensor, type RopeOptions, type Shape,
  DTypeError, ShapeError, shapeSize,
} from "../../src/tensor/backend.js";
import { createBackend } from "../../src/tensor/create.js";
import { attentionKernelChoice, attentionPlan, SPECIALISED_MAX_HEAD } from "../../src/gpu/ops/attention.js";
import { assertClose } from "./helpers/assert-close.js";
import { poisonPool } from "./helpers/gpu.js";
import { f32, mulberry32, normal } from "./helpers/random.js";

const TOL_ROPE = { atol: 5e-6 };
const TOL_FWD = { atol: 1e-5, rtol: 1e-5 };
const TOL_BWD = { atol: 2e-5, rtol: 2e-5 };

let cpu: Backend;
let gpu: Backend;
const rng = mulberry32(11);

before(async () => {
  cpu = new CpuBackend();
  gpu = await createBackend("webgpu");
});
after(() => {
  cpu?.destroy();
  gpu?.destroy();
});


const randn = (shape: Shape) => f32(normal(rng, shapeSize(shape)));

describe("gpu rope", () => {
  const cases: [Shape, RopeOptions][] = [
    [[2, 3, 2, 6], { pos0: 0, theta: 10000, inverse: false }],
    [[2, 3, 2, 6], { pos0: 5, theta: 10000, inverse: true }],
    [[1, 17, 3, 2], { pos0: 0, theta: 10000, inverse: false }],
    [[1, 1, 1, 8], { pos0: 37, theta: 500, inverse: false }],
  ];
  for (const [shape, opts] of cases) {
    test(`${JSON.stringify(shape)} ${JSON.stringify(opts)}`, async () => {
      const x = randn(shape);
      const want = cpu.rope(cpu.upload(x, shape, "f32"), opts);
      const gx = gpu.upload(x, shape, "f32");
      poisonPool(gpu, x.length);
      const got = gpu.rope(gx, opts);
      assertClose(await gpu.read(got), await cpu.read(want), TOL_ROPE, "rope");
    });
  }

  test("inverse undoes forward", async () => {
    const shape = [1, 5, 2, 4];
    const x = randn(shape);
    const gx = gpu.upload(x, shape, "f32");
    const y = gpu.rope(gx, { pos0: 3, theta: 10000, inverse: false });
    const back = gpu.rope(y, { pos0: 3, theta: 10000, inverse: true });
    assertClose(await gpu.read(back), x, { atol: 1e-5 }, "rope round trip");
  });

  test("odd head size is a ShapeError", () => {
    const x = gpu.upload(new Float32Array(6), [1, 1, 2, 3], "f32");
    assert.throws(() => gpu.rope(x, { pos0: 0, theta: 10000, inverse: false }), (e: Error) => e instanceof ShapeError && /rope/.test(e.message) && e.message.includes("[1, 1, 2, 3]"));
  });
});

interface AttnCase {
  name: string;
  B: number;
  Tq: number;
  Tk: number;
  Hq: number;
  Hkv: number;
  D: number;
  Dv: number;
  causal: boolean;
  kvLen?: number;
  /** left padding: each batch row's first real position */
  keyStart?: number[];
}

const CASES: AttnCase[] = [
  { name: "causal self-attention", B: 2, Tq: 5, Tk: 5, Hq: 2, Hkv: 2, D: 8, Dv: 8, causal: true },
  { name: "GQA, not causal, Tq ≠ Tk", B: 1, Tq: 3, Tk: 7, Hq: 4, Hkv: 2, D: 6, Dv: 6, causal: false },
  { name: "MLA-style Dv ≠ D, GQA group 3", B: 2, Tq: 4, Tk: 4, Hq: 3, Hkv: 1, D: 24, Dv: 17, causal: true },
  { name: "KV cache: one new query", B: 2, Tq: 1, Tk: 9, Hq: 2, Hkv: 1, D: 8, Dv: 8, causal: true, kvLen: 6 },
  { name: "KV cache: three new queries", B: 1, Tq: 3, Tk: 9, Hq: 2, Hkv: 2, D: 4, Dv: 5, causal: true, kvLen: 6 },
  { name: "KV cache, not causal", B: 1, Tq: 2, Tk: 5, Hq: 1, Hkv: 1, D: 4, Dv: 4, causal: false, kvLen: 3 },
  { name: "wide heads (several 64-column chunks)", B: 1, Tq: 3, Tk: 3, Hq: 1, Hkv: 1, D: 130, Dv: 70, causal: true },
  { name: "D = Dv = 256", B: 1, Tq: 2, Tk: 2, Hq: 2, Hkv: 1, D: 256, Dv: 256, causal: false },
  { name: "all sizes 1", B: 1, Tq: 1, Tk: 1, Hq: 1, Hkv: 1, D: 1, Dv: 1, causal: true },
  { name: "17 positions", B: 1, Tq: 17, Tk: 17, Hq: 1, Hkv: 1, D: 3, Dv: 2, causal: true },
  // awkward shapes for the specialised kernels: positions 1, 3, 17, 65; heads read as
  // vec4 (16, 20, 64), vec2 (2, 6) and f32 (3, 17); GQA groups of 2, 3, 4, 6; Tk not a
  // multiple of the keys per dk/dv thread; kvLen inside such a thread's keys
  { name: "65 positions, GQA 2, D = Dv = 16 (the default GPT)", B: 1, Tq: 65, Tk: 65, Hq: 4, Hkv: 2, D: 16, Dv: 16, causal: true },
  { name: "65 positions, not causal, D 64, Dv 20", B: 1, Tq: 65, Tk: 65, Hq: 2, Hkv: 1, D: 64, Dv: 20, causal: false },
  { name: "3 positions, GQA 4, D 2, Dv 6", B: 2, Tq: 3, Tk: 3, Hq: 4, Hkv: 1, D: 2, Dv: 6, causal: true },
  { name: "GQA 6, D = Dv = 6", B: 1, Tq: 5, Tk: 5, Hq: 6, Hkv: 1, D: 6, Dv: 6, causal: true },
  { name: "KV cache: 4 queries, kvLen 13 of 17, GQA 3, D 20, Dv 16", B: 2, Tq: 4, Tk: 17, Hq: 3, Hkv: 1, D: 20, Dv: 16, causal: true, kvLen: 13 },
  { name: "KV cache: 1 query, kvLen 40 of 65, D 6, Dv 2", B: 1, Tq: 1, Tk: 65, Hq: 2, Hkv: 2, D: 6, Dv: 2, causal: true, kvLen: 40 },
  { name: "not causal, Tq 17 > kvLen 3, D 16, Dv 20", B: 1, Tq: 17, Tk: 5, Hq: 2, Hkv: 1, D: 16, Dv: 20, causal: false, kvLen: 3 },
  { name: "1 position, D = Dv = 64", B: 3, Tq: 1, Tk: 1, Hq: 1, Hkv: 1, D: 64, Dv: 64, causal: true },
  { name: "17 positions, D 17, Dv 3", B: 1, Tq: 17, Tk: 17, Hq: 2, Hkv: 1, D: 17, Dv: 3, causal: true },
  { name: "D 65: wider than the specialised kernels", B: 1, Tq: 3, Tk: 3, Hq: 2, Hkv: 1, D: 65, Dv: 16, causal: true },
  // left padding
  { name: "left padding: starts 0, 3, 7 (all padding), −2", B: 4, Tq: 7, Tk: 7, Hq: 2, Hkv: 1, D: 8, Dv: 8, causal: true, keyStart: [0, 3, 7, -2] },
  { name: "left padding, KV cache: one new query", B: 2, Tq: 1, Tk: 9, Hq: 2, Hkv: 1, D: 8, Dv: 8, causal: true, kvLen: 6, keyStart: [2, 5] },
  { name: "left padding, 17 positions, GQA 2, D = Dv = 16", B: 2, Tq: 17, Tk: 17, Hq: 4, Hkv: 2, D: 16, Dv: 16, causal: true, keyStart: [16, 5] },
  { name: "left padding, not causal, kvLen 5 of 6", B: 2, Tq: 3, Tk: 6, Hq: 1, Hkv: 1, D: 4, Dv: 6, causal: false, kvLen: 5, keyStart: [1, 5] },
  { name: "left padding, wide heads", B: 2, Tq: 3, Tk: 3, Hq: 1, Hkv: 1, D: 130, Dv: 70, causal: true, keyStart: [1, 2] },
];

async function readAll(be: Backend, ts: RawTensor[]) {
  const out = [];
  for (const t of ts) out.push(await be.read(t));
  return out;
}

/** Runs one case forward and backward on both backends and compares every output. */
async function checkCase(c: AttnCase): Promise<void> {
  const qShape = [c.B, c.Tq, c.Hq, c.D];
  const kShape = [c.B, c.Tk, c.Hkv, c.D];
  const vShape = [c.B, c.Tk, c.Hkv, c.Dv];
  const oShape = [c.B, c.Tq, c.Hq, c.Dv];
  const optsFor = (be: Backend): AttentionOptions => ({
    scale: 1 / Math.sqrt(c.D),
    causal: c.causal,
    ...(c.kvLen ? { kvLen: c.kvLen } : {}),
    ...(c.keyStart ? { keyStart: be.upload(c.keyStart, [c.B], "i32") } : {}),
  });
  const data = { q: randn(qShape), k: randn(kShape), v: randn(vShape), dout: randn(oShape) };
  if (c.kvLen !== undefined) {
    // the rows past kvLen are never read: NaN there must not reach any output
    for (let b = 0; b < c.B; b++) {
      data.k.fill(NaN, (b * c.Tk + c.kvLen) * c.Hkv * c.D, (b + 1) * c.Tk * c.Hkv * c.D);
      data.v.fill(NaN, (b * c.Tk + c.kvLen) * c.Hkv * c.Dv, (b + 1) * c.Tk * c.Hkv * c.Dv);
    }
  }

  const run = (be: Backend, poisonFirst: boolean) => {
    const opts = optsFor(be);
    const q = be.upload(data.q, qShape, "f32");
    const k = be.upload(data.k, kShape, "f32");
    const v = be.upload(data.v, vShape, "f32");
    const dout = be.upload(data.dout, oShape, "f32");
    if (poisonFirst) poisonPool(be, Math.max(shapeSize(qShape), shapeSize(kShape), shapeSize(vShape), shapeSize(oShape)));
    const { out, lse } = be.attention(q, k, v, opts);
    if (poisonFirst) poisonPool(be, Math.max(shapeSize(qShape), shapeSize(kShape), shapeSize(vShape)));
    const { dq, dk, dv } = be.attentionBackward(q, k, v, out, lse, dout, opts);
    for (const t of [q, k, v, dout, ...(opts.keyStart ? [opts.keyStart] : [])]) be.free(t);
    return { out, lse, dq, dk, dv };
  };

  cpu.resetStats();
  gpu.resetStats();
  const want = run(cpu, false);
  const got = run(gpu, true);
  assert.equal(gpu.stats().flops, cpu.stats().flops, "flop counts match the CPU twin");
  const [wo, wl, wq, wk, wv] = await readAll(cpu, [want.out, want.lse, want.dq, want.dk, want.dv]);
  const [go, gl, gq, gk, gv] = await readAll(gpu, [got.out, got.lse, got.dq, got.dk, got.dv]);
  for (const x of [wo, wl, wq, wk, wv]) assert.ok(x!.every(Number.isFinite), `${c.name}: the CPU twin's outputs are finite`);
  assertClose(go!, wo!, TOL_FWD, `${c.name}: out`);
  assertClose(gl!, wl!, TOL_FWD, `${c.name}: lse`);
  assertClose(gq!, wq!, TOL_BWD, `${c.name}: dq`);
  assertClose(gk!, wk!, TOL_BWD, `${c.name}: dk`);
  assertClose(gv!, wv!, TOL_BWD, `${c.name}: dv`);
  if (c.kvLen !== undefined) {
    // key/value rows at positions ≥ kvLen get exactly zero gradient
    for (let b = 0; b < c.B; b++) {
      for (let j = c.kvLen; j < c.Tk; j++) {
        const kRow = gk!.subarray((b * c.Tk + j) * c.Hkv * c.D, (b * c.Tk + j + 1) * c.Hkv * c.D);
        const vRow = gv!.subarray((b * c.Tk + j) * c.Hkv * c.Dv, (b * c.Tk + j + 1) * c.Hkv * c.Dv);
        assert.ok(kRow.every((x) => x === 0) && vRow.every((x) => x === 0), `dk/dv at position ${j} ≥ kvLen`);
      }
    }
  }
  for (const t of Object.values(want)) cpu.free(t);
  for (const t of Object.values(got)) gpu.free(t);
}

describe("gpu attention", () => {
  for (const c of CASES) {
    const fits = c.D <= SPECIALISED_MAX_HEAD && c.Dv <= SPECIALISED_MAX_HEAD;
    for (const path of fits ? ["specialised", "general"] as const : ["general"] as const) {
      test(`${c.name} (${path} kernels)`, async () => {
        attentionKernelChoice.specialise = path === "specialised";
        try {
          assert.equal(attentionPlan(c.D, c.Dv, c.Hq / c.Hkv).kind, path, "the kernels this case means to test");
          await checkCase(c);
        } finally {
          attentionKernelChoice.specialise = true;
        }
      });
    }
  }

  test("a left-padded sequence attends exactly as it would alone (both backends)", async () => {
    // Row 1 of the batch is a 3-position sequence behind 2 positions of padding; the
    // same sequence alone must give the same outputs and gradients at its positions,
    // and with no gradient arriving at the padding the padded keys get none either.
    const [T, pad, H, D] = [5, 2, 2, 4];
    const opts = { scale: 0.5, causal: true };
    const seq = { q: randn([1, T - pad, H, D]), k: randn([1, T - pad, H, D]), v: randn([1, T - pad, H, D]), dout: randn([1, T - pad, H, D]) };
    const row = T * H * D;
    const padded = (x: number[], fillPad: number) => {
      const out = Float32Array.from(normal(rng, 2 * row)); // row 0: an unrelated full-length sequence
      out.fill(fillPad, row, row + pad * H * D);
      out.set(x, row + pad * H * D);
      return out;
    };
    for (const be of [cpu, gpu]) {
      const up = (x: ArrayLike<number>, shape: Shape) => be.upload(x, shape, "f32");
      const alone = [up(seq.q, [1, T - pad, H, D]), up(seq.k, [1, T - pad, H, D]), up(seq.v, [1, T - pad, H, D]), up(seq.dout, [1, T - pad, H, D])] as const;
      const a = be.attention(alone[0], alone[1], alone[2], opts);
      const ag = be.attentionBackward(alone[0], alone[1], alone[2], a.out, a.lse, alone[3], opts);
      const keyStart = be.upload([0, pad], [2], "i32");
      const both = [up(padded(seq.q, 7), [2, T, H, D]), up(padded(seq.k, 7), [2, T, H, D]), up(padded(seq.v, 7), [2, T, H, D]), up(padded(seq.dout, 0), [2, T, H, D])] as const;
      const p = be.attention(both[0], both[1], both[2], { ...opts, keyStart });
      const pg = be.attentionBackward(both[0], both[1], both[2], p.out, p.lse, both[3], { ...opts, keyStart });
      const realPart = async (t: RawTensor) => (await be.read(t)).slice(row + pad * H * D);
      const padPart = async (t: RawTensor) => (await be.read(t)).slice(row, row + pad * H * D);
      const tol = { atol: 1e-6, rtol: 1e-5 };
      assertClose(await realPart(p.out), await be.read(a.out), tol, `${be.name}: out`);
      assertClose(await realPart(pg.dq), await be.read(ag.dq), tol, `${be.name}: dq`);
      assertClose(await realPart(pg.dk), await be.read(ag.dk), tol, `${be.name}: dk`);
      assertClose(await realPart(pg.dv), await be.read(ag.dv), tol, `${be.name}: dv`);
      assert.ok((await padPart(pg.dk)).every((x) => x === 0) && (await padPart(pg.dv)).every((x) => x === 0), `${be.name}: padding gets no gradient`);
      assert.ok((await be.read(p.out)).every(Number.isFinite), `${be.name}: padding queries stay finite`);
      for (const t of [...alone, ...both, a.out, a.lse, ag.dq, ag.dk, ag.dv, keyStart, p.out, p.lse, pg.dq, pg.dk, pg.dv]) be.free(t);
    }
  });

  test("keyStart must be i32 of shape [B]", () => {
    for (const be of [cpu, gpu]) {
      const q = be.upload(new Float32Array(2 * 3 * 1 * 4), [2, 3, 1, 4], "f32");
      const wrongShape = be.upload([0, 1, 2], [3], "i32");
      const wrongType = be.upload([0, 1], [2], "f32");
      assert.throws(() => be.attention(q, q, q, { scale: 1, causal: true, keyStart: wrongShape }), (e: Error) => e instanceof ShapeError && /keyStart/.test(e.message) && e.message.includes("[3]"));
      assert.throws(() => be.attention(q, q, q, { scale: 1, causal: true, keyStart: wrongType }), (e: Error) => e instanceof DTypeError && /keyStart/.test(e.message));
      for (const t of [q, wrongShape, wrongType]) be.free(t);
    }
  });

  test("wide heads take the general kernels", () => {
    assert.equal(attentionPlan(SPECIALISED_MAX_HEAD, SPECIALISED_MAX_HEAD, 2).kind, "specialised");
    assert.equal(attentionPlan(SPECIALISED_MAX_HEAD + 1, 8, 2).kind, "general");
    assert.equal(attentionPlan(8, SPECIALISED_MAX_HEAD + 1, 2).kind, "general");
  });

  test("errors name the op and the shapes", () => {
    const q = gpu.upload(new Float32Array(2 * 3 * 2 * 4), [2, 3, 2, 4], "f32");
    const k = gpu.upload(new Float32Array(2 * 3 * 2 * 5), [2, 3, 2, 5], "f32");
    const v = gpu.upload(new Float32Array(2 * 3 * 2 * 4), [2, 3, 2, 4], "f32");
    const opts = { scale: 0.5, causal: true };
    assert.throws(() => gpu.attention(q, k, v, opts), (e: Error) => e instanceof ShapeError && /attention/.test(e.message) && e.message.includes("[2, 3, 2, 4]") && e.message.includes("[2, 3, 2, 5]"));
    const k3 = gpu.upload(new Float32Array(2 * 3 * 3 * 4), [2, 3, 3, 4], "f32");
    const v3 = gpu.upload(new Float32Array(2 * 3 * 3 * 4), [2, 3, 3, 4], "f32");
    assert.throws(() => gpu.attention(q, k3, v3, opts), (e: Error) => e instanceof ShapeError && /multiple/.test(e.message));
    assert.throws(() => gpu.attention(q, v, v, { ...opts, kvLen: 4 }), (e: Error) => e instanceof ShapeError && /kvLen/.test(e.message));

    const { out, lse } = gpu.attention(q, v, v, opts);
    const badLse = gpu.upload(new Float32Array(6), [2, 3], "f32");
    assert.throws(
      () => gpu.attentionBackward(q, v, v, out, badLse, out, opts),
      (e: Error) => e instanceof ShapeError && /attentionBackward/.test(e.message) && e.message.includes("[2, 3]") && e.message.includes("[2, 3, 2]"),
    );
    const qi = gpu.upload(new Int32Array(2 * 3 * 2 * 4), [2, 3, 2, 4], "i32");
    assert.throws(() => gpu.attention(qi, v, v, opts), (e: Error) => e instanceof DTypeError && /attention/.test(e.message));
    for (const t of [q, k, v, k3, v3, out, lse, badLse, qi]) gpu.free(t);
  });
});
