// The WebAssembly SIMD CPU engine against the TypeScript reference engine: every op
// it implements, forward and backward, on awkward shapes (1, odd sizes, sizes that
// are not a multiple of 4, large K, broadcasts, left padding), on a heap that fills
// every block it hands out with NaN, so an output element a kernel forgets to write
// shows up. Then a training run step by step, memory over 500 steps, the heap itself,
// and the backend choice the CLI and pages use.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { WasmHeap, sizeClass } from "../../src/cpu/wasm/heap.js";
import {
  type AttentionOptions, type Backend, type RawTensor, type Shape, BINARY_OPS, UNARY_OPS, shapeSize,
} from "../../src/tensor/backend.js";
import { createBackendWithReport } from "../../src/tensor/create.js";
import { compareEngines } from "../../src/harness/checks.js";
import { Engine } from "../../src/tensor/engine.js";
import { GPT } from "../../src/nn/gpt.js";
import { AdamW } from "../../src/optim/adamw.js";
import { trainStep } from "../../src/train/step.js";
import { Rng } from "../../src/tensor/random.js";
import { PRETRAIN_PRESETS } from "../../src/train/presets.js";
import { countingBatch } from "./helpers/batches.js";
import { assertClose, type Tolerance } from "./helpers/assert-close.js";
import { f32, ints, mulberry32, uniform } from "./helpers/random.js";

/** float32 arithmetic in a different order than the reference's float64 sums */
const TOL: Tolerance = { atol: 2e-6, rtol: 2e-5 };

function pair() {
  const ref = new CpuBackend();
  const wasm = new CpuBackend({ wasm: createWasmEngineSync({ poison: true }) });
  const rng = mulberry32(7);
  const rand = (shape: Shape, lo = -1, hi = 1) => f32(uniform(rng, shapeSize(shape), lo, hi));
  /** the same data uploaded to both engines */
  const up = (data: number[], shape: Shape, dtype: "f32" | "i32" = "f32") =>
    [ref.upload(data, shape, dtype), wasm.upload(data, shape, dtype)] as const;
  const close = (r: RawTensor, w: RawTensor, label: string, tol: Tolerance = TOL) => {
    assert.deepEqual(w.shape, r.shape, `${label}: shape`);
    assertClose(wasm.readSync(w), ref.readSync(r), tol, label);
  };
  return { ref, wasm, rng, rand, up, close };
}

describe("WebAssembly engine = reference engine, op by op", () => {
  test("the backend says which engine it runs", () => {
    const { ref, wasm } = pair();
    assert.equal(ref.engine, "reference");
    assert.equal(wasm.engine, "wasm-simd");
    assert.match(wasm.description, /WebAssembly SIMD/);
    assert.throws(() => new CpuBackend({ precision: "f64", wasm: createWasmEngineSync() }), /float32 only/);
  });

  test("matmul: A·B, A·Bᵀ, Aᵀ·B, Aᵀ·Bᵀ, batched and shared operands, awkward sizes and large K", () => {
    const { ref, wasm, rand, up, close } = pair();
    const sizes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 8, 8], [5, 130, 9], [17, 4, 33], [9, 1000, 6], [64, 257, 8]];
    for (const [M, K, N] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const aShape = transA ? [K, M] : [M, K];
          const bShape = transB ? [N, K] : [K, N];
          const [ra, wa] = up(rand(aShape), aShape);
          const [rb, wb] = up(rand(bShape), bShape);
          const opts = { transA, transB };
          // float32 sums over K terms in order: the error grows like √K
          const tol = { atol: 2e-6 * Math.sqrt(K), rtol: 2e-5 };
          close(ref.matmul(ra, rb, opts), wasm.matmul(wa, wb, opts), `matmul ${M}×${K}×${N} ${JSON.stringify(opts)}`, tol);
        }
      }
    }
    // batched: [3, M, K]·[3, K, N]; a shared B [K, N]; a shared A [M, K]
    const [ra, wa] = up(rand([3, 6, 11]), [3, 6, 11]);
    const [rb, wb] = up(rand([3, 11, 5]), [3, 11, 5]);
    const [rs, ws] = up(rand([11, 5]), [11, 5]);
    const [rsa, wsa] = up(rand([6, 11]), [6, 11]);
    close(ref.matmul(ra, rb), wasm.matmul(wa, wb), "batched matmul");
    close(ref.matmul(ra, rs), wasm.matmul(wa, ws), "batched matmul, shared B");
    close(ref.matmul(rsa, rb), wasm.matmul(wsa, wb), "batched matmul, shared A");
    // K = 0: a sum of nothing is 0
    const [rz, wz] = up([], [4, 0]);
    const [rz2, wz2] = up([], [0, 3]);
    close(ref.matmul(rz, rz2), wasm.matmul(wz, wz2), "matmul with K = 0");
  });

  test("binary ops: same shape, rows and columns broadcast either way, scalars, and a general broadcast", () => {
    const { ref, wasm, rand, up, close } = pair();
    const cases: [Shape, Shape][] = [
      [[13], [13]], [[5, 7], [7]], [[7], [5, 7]], [[5, 7], [5, 1]], [[5, 1], [5, 7]], [[6, 9], [1]], [[1], [6, 9]],
      [[2, 1, 3], [1, 4, 1]], [[2, 3, 5], [3, 1]], [[1], [1]],
    ];
    for (const op of BINARY_OPS) {
      for (const [sa, sb] of cases) {
        const da = rand(sa);
        const db = op === "div" ? rand(sb, 0.5, 2) : rand(sb);
        if (op === "min" || op === "max" || op === "ge") { da[0] = NaN; if (db.length > 1) db[1] = da[1]!; } // NaN and ties
        const [ra, wa] = up(da, sa);
        const [rb, wb] = up(db, sb);
        close(ref.binary(op, ra, rb), wasm.binary(op, wa, wb), `${op} ${JSON.stringify(sa)} ∘ ${JSON.stringify(sb)}`);
      }
    }
  });

  test("unary ops and their derivatives, every op, on 1, 7 and 13 elements (and affine)", () => {
    const { ref, wasm, rand, up, close } = pair();
    for (const op of UNARY_OPS) {
      const positive = op === "log" || op === "sqrt" || op === "rsqrt";
      for (const n of [1, 7, 13]) {
        const x = positive ? rand([n], 0.1, 4) : rand([n], -6, 6);
        if (!positive && n > 1) x[1] = 0; // relu's kink, sigmoid's midpoint
        const [rx, wx] = up(x, [n]);
        const [rg, wg] = up(rand([n]), [n]);
        close(ref.unary(op, rx), wasm.unary(op, wx), `${op} (${n})`);
        close(ref.unaryBackward(op, rx, rg), wasm.unaryBackward(op, wx, wg), `${op}' (${n})`);
      }
    }
    const [rx, wx] = up(rand([11]), [11]);
    close(ref.affine(rx, -1.5, 0.25), wasm.affine(wx, -1.5, 0.25), "affine");
    // exp at the edges of float32: overflow to Infinity, underflow to 0, NaN stays NaN
    const edges = [-Infinity, -200, -87, 0, 1e-30, 80, 88, 200, Infinity, NaN];
    const [re, we] = up(edges, [edges.length]);
    close(ref.unary("exp", re), wasm.unary("exp", we), "exp at the edges", { atol: 1e-37, rtol: 2e-6 });
  });

  test("softmax, log-softmax and their backward rules, rows of 1, 3, 8 and 101", () => {
    const { ref, wasm, rand, up, close } = pair();
    for (const n of [1, 3, 8, 101]) {
      const shape = [4, n];
      const [rx, wx] = up(rand(shape, -8, 8), shape);
      const [rg, wg] = up(rand(shape), shape);
      const ry = ref.softmax(rx), wy = wasm.softmax(wx);
      close(ry, wy, `softmax ${n}`);
      close(ref.softmaxBackward(ry, rg), wasm.softmaxBackward(wy, wg), `softmax' ${n}`);
      const rl = ref.logSoftmax(rx), wl = wasm.logSoftmax(wx);
      close(rl, wl, `logSoftmax ${n}`);
      close(ref.logSoftmaxBackward(rl, rg), wasm.logSoftmaxBackward(wl, wg), `logSoftmax' ${n}`);
    }
  });

  test("cross-entropy forward and backward, with and without a mask", () => {
    const { ref, wasm, rng, rand, up, close } = pair();
    for (const [rows, V] of [[1, 1], [7, 5], [9, 101]] as const) {
      const [rx, wx] = up(rand([rows, V], -5, 5), [rows, V]);
      const [rt, wt] = up(ints(rng, rows, V), [rows], "i32");
      const [rm, wm] = up(Array.from({ length: rows }, (_, i) => (i % 3 === 1 ? 0 : 1)), [rows]);
      const [rd, wd] = up(rand([rows]), [rows]);
      for (const masked of [false, true]) {
        const r = ref.crossEntropy(rx, rt, masked ? rm : null);
        const w = wasm.crossEntropy(wx, wt, masked ? wm : null);
        close(r.loss, w.loss, `CE loss ${rows}×${V} mask=${masked}`);
        close(r.lse, w.lse, `CE lse ${rows}×${V}`);
        close(ref.crossEntropyBackward(rx, rt, masked ? rm : null, r.lse, rd),
          wasm.crossEntropyBackward(wx, wt, masked ? wm : null, w.lse, wd), `CE' ${rows}×${V} mask=${masked}`);
      }
    }
  });

  test("RMSNorm forward and backward, D = 1, 5, 16, 33", () => {
    const { ref, wasm, rand, up, close } = pair();
    for (const D of [1, 5, 16, 33]) {
      const shape = [2, 3, D];
      const [rx, wx] = up(rand(shape, -3, 3), shape);
      const [rw, ww] = up(rand([D], 0.5, 1.5), [D]);
      const [rg, wg] = up(rand(shape), shape);
      const r = ref.rmsnorm(rx, rw, 1e-5), w = wasm.rmsnorm(wx, ww, 1e-5);
      close(r.y, w.y, `rmsnorm y D=${D}`);
      close(r.rstd, w.rstd, `rmsnorm rstd D=${D}`);
      const rb = ref.rmsnormBackward(rx, rw, r.rstd, rg), wb = wasm.rmsnormBackward(wx, ww, w.rstd, wg);
      close(rb.dx, wb.dx, `rmsnorm dx D=${D}`);
      close(rb.dw, wb.dw, `rmsnorm dw D=${D}`);
    }
  });

  test("attention forward and backward: causal or not, GQA, odd head sizes, a KV cache, left padding, one query", () => {
    const { ref, wasm, rand, up, close } = pair();
    interface Case { B: number; Tq: number; Tk: number; Hq: number; Hkv: number; D: number; Dv: number; causal: boolean; kvLen?: number; keyStart?: number[] }
    const cases: Case[] = [
      { B: 2, Tq: 7, Tk: 7, Hq: 4, Hkv: 2, D: 16, Dv: 16, causal: true },
      { B: 1, Tq: 5, Tk: 5, Hq: 3, Hkv: 3, D: 6, Dv: 5, causal: false },
      { B: 3, Tq: 9, Tk: 9, Hq: 2, Hkv: 1, D: 7, Dv: 9, causal: true, keyStart: [0, 4, 20] },
      { B: 2, Tq: 1, Tk: 12, Hq: 4, Hkv: 1, D: 8, Dv: 8, causal: true, kvLen: 6, keyStart: [2, 0] }, // one decoding step
      { B: 1, Tq: 3, Tk: 10, Hq: 2, Hkv: 2, D: 4, Dv: 3, causal: false, kvLen: 7 },
    ];
    for (const c of cases) {
      const label = JSON.stringify(c);
      const [rq, wq] = up(rand([c.B, c.Tq, c.Hq, c.D], -2, 2), [c.B, c.Tq, c.Hq, c.D]);
      const [rk, wk] = up(rand([c.B, c.Tk, c.Hkv, c.D], -2, 2), [c.B, c.Tk, c.Hkv, c.D]);
      const [rv, wv] = up(rand([c.B, c.Tk, c.Hkv, c.Dv]), [c.B, c.Tk, c.Hkv, c.Dv]);
      const [rg, wg] = up(rand([c.B, c.Tq, c.Hq, c.Dv]), [c.B, c.Tq, c.Hq, c.Dv]);
      const ks = c.keyStart ? up(c.keyStart, [c.B], "i32") : null;
      const opts = (i: 0 | 1): AttentionOptions => ({
        scale: 1 / Math.sqrt(c.D), causal: c.causal,
        ...(c.kvLen ? { kvLen: c.kvLen } : {}), ...(ks ? { keyStart: ks[i] } : {}),
      });
      const r = ref.attention(rq, rk, rv, opts(0)), w = wasm.attention(wq, wk, wv, opts(1));
      close(r.out, w.out, `attention out ${label}`);
      close(r.lse, w.lse, `attention lse ${label}`);
      const rb = ref.attentionBackward(rq, rk, rv, r.out, r.lse, rg, opts(0));
      const wb = wasm.attentionBackward(wq, wk, wv, w.out, w.lse, wg, opts(1));
      close(rb.dq, wb.dq, `attention dq ${label}`);
      close(rb.dk, wb.dk, `attention dk ${label}`);
      close(rb.dv, wb.dv, `attention dv ${label}`);
    }
  });

  test("RoPE and its inverse, head sizes 2, 6 and 16, from position 0 and from 37", () => {
    const { ref, wasm, rand, up, close } = pair();
    for (const D of [2, 6, 16]) {
      for (const pos0 of [0, 37]) {
        for (const inverse of [false, true]) {
          const shape = [2, 5, 3, D];
          const [rx, wx] = up(rand(shape, -2, 2), shape);
          const opts = { pos0, theta: 10000, inverse };
          close(ref.rope(rx, opts), wasm.rope(wx, opts), `rope D=${D} ${JSON.stringify(opts)}`);
        }
      }
    }
  });

  test("attention: a left-padded sequence gets exactly the bits it gets alone, forward and backward", () => {
    const { wasm, rand } = pair();
    const [T, pad, H, D] = [9, 3, 2, 8];
    const alone = { q: rand([1, T, H, D]), k: rand([1, T, H, D]), v: rand([1, T, H, D]), g: rand([1, T, H, D]) };
    const padded = (x: number[]) => [...rand([1, pad, H, D]), ...x]; // garbage in the padding
    const run = (data: typeof alone, Tk: number, keyStart: number | null) => {
      const up = (x: number[]) => wasm.upload(x, [1, Tk, H, D], "f32");
      const [q, k, v, g] = [up(data.q), up(data.k), up(data.v), up(data.g)];
      const opts: AttentionOptions = { scale: 0.3, causal: true, ...(keyStart === null ? {} : { keyStart: wasm.upload([keyStart], [1], "i32") }) };
      const { out, lse } = wasm.attention(q, k, v, opts);
      const b = wasm.attentionBackward(q, k, v, out, lse, g, opts);
      const tail = (t: RawTensor) => Array.from(wasm.readSync(t)).slice((Tk - T) * H * D);
      return { out: tail(out), dq: tail(b.dq), dk: tail(b.dk), dv: tail(b.dv) };
    };
    const a = run(alone, T, null);
    const p = run({ q: padded(alone.q), k: padded(alone.k), v: padded(alone.v), g: padded(alone.g) }, T + pad, pad);
    assert.deepEqual(p, a);
  });

  test("sum of squares and the fused AdamW step (and coef 0 changes nothing)", () => {
    const { ref, wasm, rand, up, close } = pair();
    const shapes: Shape[] = [[1], [7], [3, 13], [64]];
    const rs = shapes.map((s) => up(rand(s), s));
    close(ref.sumSquares(rs.map((p) => p[0])), wasm.sumSquares(rs.map((p) => p[1])), "sumSquares");
    for (const coef of [0.5, 0]) {
      const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3 };
      const shape = [3, 7];
      const [rp, wp] = up(rand(shape), shape);
      const [rg, wg] = up(rand(shape), shape);
      const [rm, wm] = up(rand(shape, -0.1, 0.1), shape);
      const [rv, wv] = up(rand(shape, 0, 0.1), shape);
      const [rc, wc] = up([coef], [1]);
      const before = wasm.readSync(wp);
      ref.adamw(rp, rg, rm, rv, hyper, rc);
      wasm.adamw(wp, wg, wm, wv, hyper, wc);
      close(rp, wp, `adamw param coef=${coef}`);
      close(rm, wm, `adamw m coef=${coef}`);
      close(rv, wv, `adamw v coef=${coef}`);
      if (coef === 0) assert.deepEqual(wasm.readSync(wp), before, "coef 0 leaves the parameter unchanged");
    }
  });
});

/** a few AdamW steps of the ci GPT on a counting batch; returns the losses */
async function trainLosses(backend: Backend, steps: number, onStep?: (i: number) => void): Promise<number[]> {
  const engine = new Engine(backend);
  const cfg = PRETRAIN_PRESETS.ci.model;
  const model = new GPT(engine, cfg, 3);
  const opt = new AdamW(engine, model.parameters().map((p) => p.tensor), { lr: 3e-3, weightDecay: 0.01, maxGradNorm: 1 });
  const { ids, targets } = countingBatch(engine, new Rng(5), 4, 24, cfg.vocabSize);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const s = await trainStep(engine, opt, () => model.loss(ids, targets), 3e-3, i);
    losses.push(s.loss);
    onStep?.(i);
  }
  opt.dispose();
  model.dispose();
  ids.dispose();
  targets.dispose();
  return losses;
}

describe("WebAssembly engine in training", () => {
  test("a training run gives the reference engine's losses, step by step, within float32 tolerance", async () => {
    const ref = await trainLosses(new CpuBackend(), 12);
    const wasm = await trainLosses(new CpuBackend({ wasm: createWasmEngineSync() }), 12);
    assertClose(wasm, ref, { rtol: 1e-4 }, "losses");
    assert.ok(ref[11]! < ref[0]!, "the run learns");
  });

  test("memory stays flat over 500 training steps: after warm-up the heap neither grows nor leaks", async () => {
    const backend = new CpuBackend({ wasm: createWasmEngineSync() });
    const capacity: number[] = [];
    const live: number[] = [];
    await trainLosses(backend, 500, (i) => {
      if (i === 5 || i === 499) {
        capacity.push(backend.stats().pooledBytes);
        live.push(backend.stats().liveBytes);
      }
    });
    assert.equal(capacity[1], capacity[0], `the heap grew after warm-up: ${capacity.join(" → ")} bytes`);
    assert.equal(live[1], live[0], `live bytes changed after warm-up: ${live.join(" → ")}`);
  });
});

describe("the heap", () => {
  test("size classes waste at most 12.5% and freed blocks are reused", () => {
    for (const bytes of [1, 15, 16, 17, 255, 256, 257, 1000, 4096, 4097, 123456]) {
      const s = sizeClass(bytes);
      assert.ok(s >= bytes && s <= Math.max(16, bytes * 1.125 + 16), `${bytes} → ${s}`);
    }
    const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1 }), 0);
    const a = heap.alloc(1000, true);
    heap.release(a, 1000);
    assert.equal(heap.alloc(990, true), a, "a block of the same class is reused");
    assert.ok(heap.alloc(16, true) >= 1024, "nothing is handed out below 1 KiB (offset 0 means no tensor)");
  });

  test("tensors keep their data when the memory grows under them", () => {
    const be = new CpuBackend({ wasm: createWasmEngineSync() });
    const t = be.upload([1, 2, 3], [3], "f32");
    const cap = be.stats().pooledBytes;
    const big = be.fill([4 << 20], 1, "f32"); // 16 MiB: forces a grow
    assert.ok(be.stats().pooledBytes > cap, "the memory grew");
    assert.deepEqual(Array.from(be.readSync(t)), [1, 2, 3]);
    assert.deepEqual(Array.from(be.readSync(be.binary("add", t, t))), [2, 4, 6]);
    be.free(big);
  });
});

describe("which CPU engine runs", () => {
  test("--backend cpu is the WebAssembly engine; cpu-reference is the TypeScript one", async () => {
    const fast = await createBackendWithReport("cpu");
    assert.equal((fast.backend as CpuBackend).engine, "wasm-simd");
    assert.equal(fast.kind, "cpu");
    assert.match(fast.adapter, /WebAssembly SIMD/);
    const slow = await createBackendWithReport("cpu-reference");
    assert.equal((slow.backend as CpuBackend).engine, "reference");
    assert.equal(slow.kind, "cpu-reference");
  });
});

describe("the Engine lesson's engine comparison (compareEngines)", () => {
  test("the WebAssembly product agrees with the reference and both are timed; a wrong engine is caught", async () => {
    const ref = new CpuBackend();
    const wasm = new CpuBackend({ wasm: createWasmEngineSync() });
    // an engine whose matmul is off by one part in a thousand
    const wrong = new CpuBackend();
    const matmul = wrong.matmul.bind(wrong);
    wrong.matmul = (a, b, o) => { const c = matmul(a, b, o); const d = wrong.affine(c, 1.001, 0); wrong.free(c); return d; };
    const rows = await compareEngines([
      { label: "plain TypeScript", backend: ref }, { label: "WebAssembly SIMD", backend: wasm }, { label: "wrong", backend: wrong },
    ], 48, 30);
    assert.deepEqual(rows.map((r) => r.pass), [true, true, false]);
    assert.ok(rows[1]!.maxAbsErr > 0 && rows[1]!.maxAbsErr <= rows[1]!.tol, `wasm error ${rows[1]!.maxAbsErr}`);
    for (const r of rows) assert.ok(r.bench.gflops > 0 && r.bench.flops >= 2 * 48 ** 3, `${r.label} was timed`);
  });
});
