// Forward semantics of CpuBackend against naive reference loops written here,
// on awkward shapes, in both float32 and float64 storage; plus error handling,
// memory (reshape / free) and stats.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import {
  type BinaryOp, type RawTensor, type Shape, type UnaryOp,
  BINARY_OPS, DTypeError, FreedTensorError, ShapeError, UNARY_OPS, shapeSize,
} from "../../src/tensor/backend.js";
import { type Tolerance, assertClose } from "./helpers/assert-close.js";
import { f32, ints, mulberry32, uniform } from "./helpers/random.js";

const PRECISIONS = ["f32", "f64"] as const;
/** inputs are rounded to float32 first, so f32 mode only adds output rounding (and f64 accumulation order) */
const TOL: Record<(typeof PRECISIONS)[number], Tolerance> = {
  f32: { atol: 1e-6, rtol: 1e-6 },
  f64: { atol: 1e-12, rtol: 1e-12 },
};

function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    idx[a] = i % shape[a]!;
    i = Math.floor(i / shape[a]!);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: Shape): number {
  let o = 0;
  for (let a = 0; a < shape.length; a++) o = o * shape[a]! + idx[a]!;
  return o;
}

function setup(precision: "f32" | "f64", seed = 1) {
  const be = new CpuBackend({ precision });
  const rng = mulberry32(seed);
  const up = (data: number[], shape: Shape): RawTensor => be.upload(data, shape, "f32");
  const upi = (data: number[], shape: Shape): RawTensor => be.upload(data, shape, "i32");
  const rd = (t: RawTensor): number[] => Array.from(be.readSync(t));
  const rand = (shape: Shape, lo = -1, hi = 1): number[] => f32(uniform(rng, shapeSize(shape), lo, hi));
  return { be, rng, up, upi, rd, rand, tol: TOL[precision] };
}

// ---- naive references ---------------------------------------------------------------

function naiveMatmul(
  a: number[], aShape: Shape, b: number[], bShape: Shape, transA: boolean, transB: boolean,
): { out: number[]; shape: number[] } {
  const ar = aShape.length;
  const br = bShape.length;
  const M = transA ? aShape[ar - 1]! : aShape[ar - 2]!;
  const K = transA ? aShape[ar - 2]! : aShape[ar - 1]!;
  const N = transB ? bShape[br - 2]! : bShape[br - 1]!;
  const batch = ar > 2 ? aShape.slice(0, -2) : bShape.slice(0, -2);
  const nb = shapeSize(batch);
  const out: number[] = [];
  for (let p = 0; p < nb; p++) {
    const ao = ar > 2 ? p * M * K : 0;
    const bo = br > 2 ? p * K * N : 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[ao + k * M + i]! : a[ao + i * K + k]!;
          const bv = transB ? b[bo + j * K + k]! : b[bo + k * N + j]!;
          s += av * bv;
        }
        out.push(s);
      }
    }
  }
  return { out, shape: [...batch, M, N] };
}

function naiveBinary(op: BinaryOp, a: number[], aShape: Shape, b: number[], bShape: Shape) {
  const r = Math.max(aShape.length, bShape.length);
  const pa = [...new Array<number>(r - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(r - bShape.length).fill(1), ...bShape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const out: number[] = [];
  for (let i = 0; i < shapeSize(shape); i++) {
    const idx = unravel(i, shape);
    const x = a[ravel(idx.map((v, k) => (pa[k] === 1 ? 0 : v)), pa)]!;
    const y = b[ravel(idx.map((v, k) => (pb[k] === 1 ? 0 : v)), pb)]!;
    out.push(naiveScalar(op, x, y));
  }
  return { out, shape };
}

function naiveScalar(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case "add": return x + y;
    case "sub": return x - y;
    case "mul": return x * y;
    case "div": return x / y;
    case "min": return x <= y || Number.isNaN(x) ? x : y;
    case "max": return x >= y || Number.isNaN(x) ? x : y;
    case "ge": return x >= y ? 1 : 0;
  }
}

function naiveUnary(op: UnaryOp, x: number): number {
  switch (op) {
    case "neg": return -x;
    case "exp": return Math.exp(x);
    case "log": return Math.log(x);
    case "tanh": return Math.tanh(x);
    case "sigmoid": return 1 / (1 + Math.exp(-x));
    case "silu": return x / (1 + Math.exp(-x));
    case "gelu": return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case "relu": return Math.max(0, x);
    case "sqrt": return Math.sqrt(x);
    case "rsqrt": return 1 / Math.sqrt(x);
    case "square": return x * x;
  }
}

function naiveAttention(
  q: number[], k: number[], v: number[],
  [B, Tq, Hq, D]: number[], [, Tk, Hkv]: number[], Dv: number,
  scale: number, causal: boolean, kvLen: number,
) {
  const out = new Array<number>(B * Tq * Hq * Dv).fill(0);
  const lse = new Array<number>(B * Tq * Hq).fill(0);
  const group = Hq / Hkv;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      for (let h = 0; h < Hq; h++) {
        const hk = Math.floor(h / group);
        const pos = kvLen - Tq + i;
        const s: number[] = [];
        for (let j = 0; j < kvLen; j++) {
          if (causal && j > pos) {
            s.push(-Infinity);
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((b * Tq + i) * Hq + h) * D + d]! * k[((b * Tk + j) * Hkv + hk) * D + d]!;
          s.push(scale * dot);
        }
        const m = Math.max(...s);
        const z = s.reduce((acc, x) => acc + Math.exp(x - m), 0);
        lse[(b * Tq + i) * Hq + h] = m + Math.log(z);
        for (let j = 0; j < kvLen; j++) {
          const p = Math.exp(s[j]! - m) / z;
          for (let d = 0; d < Dv; d++) out[((b * Tq + i) * Hq + h) * Dv + d] += p * v[((b * Tk + j) * Hkv + hk) * Dv + d]!;
        }
      }
    }
  }
  return { out, lse };
}

// ---- memory, stats ----------------------------------------------------------------------

describe("cpu backend: memory and stats", () => {
  test("upload/read round trip, fill, description", async () => {
    for (const precision of PRECISIONS) {
      const { be, up, upi } = setup(precision);
      assert.equal(be.description, precision === "f32" ? "CPU (float32)" : "CPU (float64)");
      assert.equal(be.name, "cpu");
      const t = up([1.5, -2, 3], [3]);
      const r = await be.read(t);
      assert.ok(precision === "f32" ? r instanceof Float32Array : r instanceof Float64Array);
      assert.deepEqual(Array.from(r), [1.5, -2, 3]);
      const i = upi([1, -7, 2147483647], [3, 1]);
      const ri = await be.read(i);
      assert.ok(ri instanceof Int32Array);
      assert.deepEqual(Array.from(ri), [1, -7, 2147483647]);
      assert.deepEqual(Array.from(await be.read(be.fill([2, 2], 0.25, "f32"))), [0.25, 0.25, 0.25, 0.25]);
      assert.deepEqual(Array.from(await be.read(be.fill([3], 4, "i32"))), [4, 4, 4]);
      // read returns a copy
      r[0] = 99;
      assert.equal((await be.read(t))[0], 1.5);
      assert.throws(() => be.upload([1, 2], [3], "f32"), ShapeError);
      assert.throws(() => be.upload([1.5], [1], "i32"), DTypeError);
      assert.throws(() => be.fill([1, 1, 1, 1, 1, 1, 1], 0, "f32"), ShapeError);
    }
  });

  test("reshape shares storage; free releases one reference; use after free throws", () => {
    const { be, up, rd } = setup("f32");
    const base = be.stats().liveBytes;
    const a = up([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.equal(be.stats().liveBytes - base, 24);
    const v = be.reshape(a, [3, 2]);
    assert.deepEqual(v.shape, [3, 2]);
    assert.equal(be.stats().liveBytes - base, 24, "a view holds no new bytes");
    // writes through one view are seen by the other
    be.writeSlice(v, up([10, 20], [1, 2]), 0, 1);
    assert.deepEqual(rd(a), [1, 2, 10, 20, 5, 6]);
    be.free(a);
    assert.equal(a.freed, true);
    assert.equal(v.freed, false);
    assert.deepEqual(rd(v), [1, 2, 10, 20, 5, 6], "the view still reads after the original is freed");
    assert.throws(() => be.unary("exp", a), FreedTensorError);
    assert.throws(() => rd(a), FreedTensorError);
    assert.throws(() => be.free(a), FreedTensorError);
    assert.throws(() => be.reshape(v, [4]), ShapeError);
    const before = be.stats().liveBytes;
    be.free(v);
    assert.equal(before - be.stats().liveBytes, 24, "freeing the last view releases the storage");
    assert.throws(() => be.binary("add", v, v), /after it was freed/);
  });

  test("stats count dispatches, uploads, readbacks and flops", () => {
    const { be, up, rd } = setup("f32");
    be.resetStats();
    const a = up(new Array(6).fill(1), [2, 3]);
    const b = up(new Array(12).fill(1), [3, 4]);
    const c = be.matmul(a, b);
    const d = be.unary("exp", c);
    rd(d);
    be.flush();
    const s = be.stats();
    assert.equal(s.uploads, 2);
    assert.equal(s.readbacks, 1);
    assert.equal(s.dispatches, 2);
    assert.equal(s.submits, 0);
    assert.equal(s.flops, 2 * 2 * 4 * 3 + 8);
    assert.equal(s.liveBytes, (6 + 12 + 8 + 8) * 4);
    be.destroy();
    assert.equal(be.stats().liveBytes, 0);
    assert.ok(a.freed && d.freed);
    assert.throws(() => be.unary("exp", a), /destroyed/);
    assert.throws(() => be.upload([1], [1], "f32"), /destroyed/);
  });
});

// ---- dense math -----------------------------------------------------------------------------

describe("cpu backend: dense math", () => {
  test("matmul: every transpose combination, batch broadcasting, awkward and blocked sizes", () => {
    const cases: [number, number, number][] = [[1, 1, 1], [3, 17, 5], [17, 65, 3], [65, 1, 33]];
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      for (const [M, K, N] of cases) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const [ba, bb] of [[[], []], [[2, 3], [2, 3]], [[3], []], [[], [2, 1]]] as [number[], number[]][]) {
              const aShape = [...ba, ...(transA ? [K, M] : [M, K])];
              const bShape = [...bb, ...(transB ? [N, K] : [K, N])];
              const a = rand(aShape);
              const b = rand(bShape);
              const got = be.matmul(up(a, aShape), up(b, bShape), { transA, transB });
              const want = naiveMatmul(a, aShape, b, bShape, transA, transB);
              assert.deepEqual(got.shape, want.shape);
              assertClose(rd(got), want.out, tol, `matmul ${precision} a${JSON.stringify(aShape)} b${JSON.stringify(bShape)} tA=${transA} tB=${transB}`);
            }
          }
        }
      }
    }
    // sizes that cross the column blocks of the kernel (K = 130 → 252 columns per block),
    // with an odd row count and a column count that is not a multiple of 4
    const { be, up, rd, rand } = setup("f64");
    const [M, K, N] = [231, 130, 301];
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const aShape = transA ? [K, M] : [M, K];
        const bShape = transB ? [N, K] : [K, N];
        const a = rand(aShape);
        const b = rand(bShape);
        const got = be.matmul(up(a, aShape), up(b, bShape), { transA, transB });
        assertClose(rd(got), naiveMatmul(a, aShape, b, bShape, transA, transB).out, { atol: 1e-12 }, `matmul big tA=${transA} tB=${transB}`);
      }
    }
  });

  test("binary ops with numpy broadcasting", () => {
    const pairs: [number[], number[]][] = [
      [[3, 17], [17]], [[3, 1, 5], [4, 1]], [[1], [2, 3]], [[65], [65]], [[2, 3, 4], [2, 1, 4]],
      [[], [3]], [[2, 1, 3, 1], [1, 5, 1, 7]], [[4, 1], [4, 1]], [[17, 3], [17, 1]],
    ];
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      for (const op of BINARY_OPS) {
        for (const [sa, sb] of pairs) {
          for (const [x, y] of [[sa, sb], [sb, sa]] as const) {
            const a = rand(x);
            const b = op === "div" ? rand(y, 0.5, 2) : rand(y);
            const got = be.binary(op, up(a, x), up(b, y));
            const want = naiveBinary(op, a, x, b, y);
            assert.deepEqual(got.shape, want.shape);
            assertClose(rd(got), want.out, tol, `${op} ${precision} ${JSON.stringify(x)} ${JSON.stringify(y)}`);
          }
        }
      }
    }
  });

  test("affine and every unary op", () => {
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      const shape = [3, 17];
      const x = rand(shape, -3, 3);
      assertClose(rd(be.affine(up(x, shape), -1.5, 0.25)), x.map((v) => -1.5 * v + 0.25), tol, "affine");
      for (const op of UNARY_OPS) {
        const positive = op === "log" || op === "sqrt" || op === "rsqrt";
        const xs = positive ? rand(shape, 0.1, 4) : [...rand([47], -6, 6), 0, 30, -30];
        const sh = positive ? shape : [50];
        assertClose(rd(be.unary(op, up(xs, sh))), xs.map((v) => naiveUnary(op, v)), tol, `${op} ${precision}`);
      }
      // relu'(0) = 0
      assert.deepEqual(rd(be.unaryBackward("relu", up([0, 1, -1], [3]), up([5, 5, 5], [3]))), [0, 5, 0]);
    }
  });

  test("reduce sum/mean/max over every axis keeps the axis", () => {
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      const shape = [3, 17, 5];
      const x = rand(shape);
      const xt = up(x, shape);
      for (const op of ["sum", "mean", "max"] as const) {
        for (const axis of [0, 1, 2, -1]) {
          const ax = axis < 0 ? axis + 3 : axis;
          const outShape = shape.map((d, i) => (i === ax ? 1 : d));
          const want: number[] = [];
          for (let o = 0; o < shapeSize(outShape); o++) {
            const idx = unravel(o, outShape);
            const vals: number[] = [];
            for (let j = 0; j < shape[ax]!; j++) {
              idx[ax] = j;
              vals.push(x[ravel(idx, shape)]!);
            }
            const s = vals.reduce((p, c) => p + c, 0);
            want.push(op === "sum" ? s : op === "mean" ? s / vals.length : Math.max(...vals));
          }
          const got = be.reduce(op, xt, axis);
          assert.deepEqual(got.shape, outShape);
          assertClose(rd(got), want, tol, `reduce ${op} axis ${axis} ${precision}`);
        }
      }
    }
  });

  test("sumTo sums over broadcast axes", () => {
    const { be, up, rd, rand, tol } = setup("f64");
    const xShape = [2, 3, 4];
    const x = rand(xShape);
    for (const to of [[3, 1], [1, 3, 4], [4], [2, 1, 1], [2, 3, 4], [1], [], [1, 1, 1]]) {
      const got = be.sumTo(up(x, xShape), to);
      assert.deepEqual(got.shape, to);
      const r = xShape.length;
      const padded = [...new Array<number>(r - to.length).fill(1), ...to];
      const want = new Array<number>(shapeSize(to)).fill(0);
      for (let i = 0; i < x.length; i++) {
        const idx = unravel(i, xShape).map((v, k) => (padded[k] === 1 ? 0 : v));
        want[ravel(idx, padded)] += x[i]!;
      }
      assertClose(rd(got), want, tol, `sumTo ${JSON.stringify(to)}`);
    }
    assert.throws(() => be.sumTo(up(x, xShape), [2, 4]), /sumTo.*\[2, 3, 4\].*\[2, 4\]/);
    assert.throws(() => be.sumTo(up(x, xShape), [1, 2, 3, 4]), ShapeError);
  });
});

// ---- rows --------------------------------------------------------------------------------------

describe("cpu backend: row ops", () => {
  test("softmax and logSoftmax are stable and match the formula", () => {
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      for (const shape of [[3, 17], [65], [2, 3, 1]]) {
        const x = rand(shape, -5, 5);
        x[0] = 1000; // stability: exp(1000) overflows without the max shift
        const n = shape[shape.length - 1]!;
        const want: number[] = [];
        const wantLog: number[] = [];
        for (let r = 0; r < x.length / n; r++) {
          const row = x.slice(r * n, (r + 1) * n);
          const m = Math.max(...row);
          const z = row.reduce((p, v) => p + Math.exp(v - m), 0);
          for (const v of row) {
            want.push(Math.exp(v - m) / z);
            wantLog.push(v - m - Math.log(z));
          }
        }
        assertClose(rd(be.softmax(up(x, shape))), want, tol, `softmax ${precision} ${JSON.stringify(shape)}`);
        assertClose(rd(be.logSoftmax(up(x, shape))), wantLog, tol, `logSoftmax ${precision} ${JSON.stringify(shape)}`);
      }
    }
  });

  test("crossEntropy with and without a mask; target range is checked", () => {
    for (const precision of PRECISIONS) {
      const { be, rng, up, upi, rd, rand, tol } = setup(precision);
      const [N, V] = [7, 17];
      const logits = rand([N, V], -4, 4);
      const targets = ints(rng, N, V);
      const mask = [1, 0, 1, 1, 0.5, 0, 1];
      for (const m of [mask, null]) {
        const { loss, lse } = be.crossEntropy(up(logits, [N, V]), upi(targets, [N]), m ? up(m, [N]) : null);
        assert.deepEqual(loss.shape, [N]);
        assert.deepEqual(lse.shape, [N]);
        const wantLse: number[] = [];
        const wantLoss: number[] = [];
        for (let n = 0; n < N; n++) {
          const row = logits.slice(n * V, (n + 1) * V);
          const l = Math.log(row.reduce((p, v) => p + Math.exp(v), 0));
          wantLse.push(l);
          wantLoss.push((m ? m[n]! : 1) * (l - row[targets[n]!]!));
        }
        assertClose(rd(lse), wantLse, tol, `ce lse ${precision}`);
        assertClose(rd(loss), wantLoss, tol, `ce loss ${precision} mask=${m !== null}`);
      }
      const bad = [...targets];
      bad[4] = V;
      assert.throws(() => be.crossEntropy(up(logits, [N, V]), upi(bad, [N]), null), /crossEntropy: target 17 of row 4 is out of range/);
      assert.throws(() => be.crossEntropy(up(logits, [N, V]), upi(targets.slice(1), [N - 1]), null), /crossEntropy.*\[7, 17\].*\[6\]/);
      assert.throws(() => be.crossEntropy(up(logits, [N, V]), up(targets, [N]), null), DTypeError);
    }
  });

  test("rmsnorm", () => {
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      for (const shape of [[3, 17], [2, 5, 65], [1]]) {
        const D = shape[shape.length - 1]!;
        const x = rand(shape, -2, 2);
        const w = rand([D], 0.5, 1.5);
        const eps = 1e-5;
        const { y, rstd } = be.rmsnorm(up(x, shape), up(w, [D]), eps);
        assert.deepEqual(rstd.shape, shape.slice(0, -1));
        const wantY: number[] = [];
        const wantR: number[] = [];
        for (let r = 0; r < x.length / D; r++) {
          const row = x.slice(r * D, (r + 1) * D);
          const rs = 1 / Math.sqrt(row.reduce((p, v) => p + v * v, 0) / D + eps);
          wantR.push(rs);
          row.forEach((v, d) => wantY.push(v * rs * w[d]!));
        }
        assertClose(rd(y), wantY, tol, `rmsnorm y ${precision}`);
        assertClose(rd(rstd), wantR, tol, `rmsnorm rstd ${precision}`);
      }
    }
  });
});

// ---- transformer ops -----------------------------------------------------------------------------

describe("cpu backend: transformer ops", () => {
  test("rope matches the half-split formula; inverse ∘ rope = identity", () => {
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      for (const [shape, pos0, theta] of [[[2, 5, 3, 8], 0, 10000], [[1, 3, 2, 2], 7, 500], [[3, 1, 1, 34], 17, 10000]] as const) {
        const [B, T, H, D] = shape;
        const x = rand(shape);
        const want = new Array<number>(x.length);
        for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) {
          const base = ((b * T + t) * H + h) * D;
          for (let i = 0; i < D / 2; i++) {
            const ang = (pos0 + t) * Math.pow(theta, (-2 * i) / D);
            const x1 = x[base + i]!;
            const x2 = x[base + i + D / 2]!;
            want[base + i] = x1 * Math.cos(ang) - x2 * Math.sin(ang);
            want[base + i + D / 2] = x1 * Math.sin(ang) + x2 * Math.cos(ang);
          }
        }
        const y = be.rope(up(x, shape), { pos0, theta, inverse: false });
        assertClose(rd(y), want, tol, `rope ${precision} ${JSON.stringify(shape)}`);
        const back = be.rope(y, { pos0, theta, inverse: true });
        assertClose(rd(back), x, precision === "f64" ? { atol: 1e-12 } : { atol: 1e-6 }, `rope inverse ${precision}`);
      }
      assert.throws(() => be.rope(up([1, 2, 3], [1, 1, 1, 3]), { pos0: 0, theta: 1e4, inverse: false }), /rope.*even/);
    }
  });

  test("attention vs naive softmax(QKᵀ)V: GQA, causal, kvLen < Tk, Dv ≠ D", () => {
    // [B, Tq, Tk, Hq, Hkv, D, Dv, causal, kvLen]
    const cases: [number, number, number, number, number, number, number, boolean, number | undefined][] = [
      [2, 5, 5, 4, 2, 6, 3, true, undefined],
      [2, 5, 5, 4, 2, 6, 3, false, undefined],
      [1, 3, 7, 3, 3, 17, 17, false, undefined],
      [1, 1, 9, 6, 1, 8, 5, true, 6], // decoding: one query at position 5 of a 9-slot cache
      [2, 3, 9, 4, 2, 4, 7, true, 7],
      [1, 4, 9, 2, 1, 5, 2, false, 4],
      [1, 1, 1, 1, 1, 1, 1, true, undefined],
    ];
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      for (const [B, Tq, Tk, Hq, Hkv, D, Dv, causal, kvLen] of cases) {
        const qS = [B, Tq, Hq, D];
        const kS = [B, Tk, Hkv, D];
        const vS = [B, Tk, Hkv, Dv];
        const q = rand(qS, -2, 2);
        const k = rand(kS, -2, 2);
        const v = rand(vS);
        const scale = 1 / Math.sqrt(D);
        const opts = kvLen === undefined ? { scale, causal } : { scale, causal, kvLen };
        const { out, lse } = be.attention(up(q, qS), up(k, kS), up(v, vS), opts);
        assert.deepEqual(out.shape, [B, Tq, Hq, Dv]);
        assert.deepEqual(lse.shape, [B, Tq, Hq]);
        const want = naiveAttention(q, k, v, qS, kS, Dv, scale, causal, kvLen ?? Tk);
        const label = `attention ${precision} ${JSON.stringify([B, Tq, Tk, Hq, Hkv, D, Dv, causal, kvLen])}`;
        assertClose(rd(out), want.out, tol, label);
        assertClose(rd(lse), want.lse, tol, `${label} lse`);
      }
      const q = up(rand([1, 3, 2, 4]), [1, 3, 2, 4]);
      const k = up(rand([1, 3, 2, 4]), [1, 3, 2, 4]);
      assert.throws(() => be.attention(q, k, up(rand([1, 3, 3, 4]), [1, 3, 3, 4]), { scale: 1, causal: false }), ShapeError);
      assert.throws(() => be.attention(q, k, k, { scale: 1, causal: true, kvLen: 2 }), /causal attention needs Tq/);
    }
  });
});

// ---- indexing ---------------------------------------------------------------------------------------

describe("cpu backend: indexing", () => {
  test("topk: descending, ties to the lower index, both code paths", () => {
    for (const precision of PRECISIONS) {
      const { be, rng, up, rd } = setup(precision);
      const x = [1, 3, 3, 2, 3, 0, -1, 2, /* row 2 */ 5, 5, 5, 5, 5, 5, 5, 5];
      const r1 = be.topk(up(x, [2, 8]), 3);
      assert.deepEqual(rd(r1.values), [3, 3, 3, 5, 5, 5]);
      assert.deepEqual(rd(r1.indices), [1, 2, 4, 0, 1, 2]);
      assert.equal(r1.indices.dtype, "i32");
      for (const [E, k] of [[40, 20], [40, 3], [17, 17], [1, 1], [65, 1]]) {
        const rows = 3;
        // few distinct values so ties are common
        const xs = ints(rng, rows * E, 7).map((v) => v - 3);
        const { values, indices } = be.topk(up(xs, [rows, E]), k);
        const wantV: number[] = [];
        const wantI: number[] = [];
        for (let r = 0; r < rows; r++) {
          const order = Array.from({ length: E }, (_, i) => i).sort((i, j) => xs[r * E + j]! - xs[r * E + i]! || i - j);
          for (let j = 0; j < k; j++) {
            wantI.push(order[j]!);
            wantV.push(xs[r * E + order[j]!]!);
          }
        }
        assert.deepEqual(rd(values), wantV, `topk values E=${E} k=${k}`);
        assert.deepEqual(rd(indices), wantI, `topk indices E=${E} k=${k}`);
      }
      assert.throws(() => be.topk(up(x, [2, 8]), 9), /topk: k = 9/);
    }
  });

  test("gatherRows / scatterAddRows (with repeated ids)", () => {
    const { be, up, upi, rd, rand, tol } = setup("f32");
    const [V, D] = [5, 3];
    const table = rand([V, D]);
    const ids = [4, 0, 4, 2, 2, 4];
    const g = be.gatherRows(up(table, [V, D]), upi(ids, [2, 3]));
    assert.deepEqual(g.shape, [2, 3, D]);
    assertClose(rd(g), ids.flatMap((i) => table.slice(i * D, (i + 1) * D)), tol, "gatherRows");
    const src = rand([2, 3, D]);
    const s = be.scatterAddRows(up(src, [2, 3, D]), upi(ids, [2, 3]), V);
    assert.deepEqual(s.shape, [V, D]);
    const want = new Array<number>(V * D).fill(0);
    ids.forEach((id, n) => {
      for (let d = 0; d < D; d++) want[id * D + d] += src[n * D + d]!;
    });
    assertClose(rd(s), want, tol, "scatterAddRows");
    assert.throws(() => be.gatherRows(up(table, [V, D]), upi([0, 5], [2])), /gatherRows: index 5 at flat position 1/);
    assert.throws(() => be.gatherRows(up(table, [V, D]), upi([-1], [1])), RangeError);
    assert.throws(() => be.scatterAddRows(up(src, [2, 3, D]), upi(ids, [2, 3]), 4), /scatterAddRows: index 4/);
    assert.throws(() => be.gatherRows(up(table, [V, D]), up([0], [1])), DTypeError);
  });

  test("gatherLast / scatterAddLast", () => {
    const { be, up, upi, rd, rand, tol } = setup("f32");
    const [R1, R2, E, k] = [2, 3, 7, 3];
    const x = rand([R1, R2, E]);
    const idx = [0, 6, 6, 1, 2, 3, 5, 5, 5, 0, 1, 2, 3, 4, 5, 6, 0, 1];
    const g = be.gatherLast(up(x, [R1, R2, E]), upi(idx, [R1, R2, k]));
    assert.deepEqual(g.shape, [R1, R2, k]);
    assertClose(rd(g), idx.map((e, i) => x[Math.floor(i / k) * E + e]!), tol, "gatherLast");
    const src = rand([R1, R2, k]);
    const s = be.scatterAddLast(up(src, [R1, R2, k]), upi(idx, [R1, R2, k]), E);
    assert.deepEqual(s.shape, [R1, R2, E]);
    const want = new Array<number>(R1 * R2 * E).fill(0);
    idx.forEach((e, i) => (want[Math.floor(i / k) * E + e] += src[i]!));
    assertClose(rd(s), want, tol, "scatterAddLast");
    assert.throws(() => be.gatherLast(up(x, [R1, R2, E]), upi(idx.map((v) => v + 1), [R1, R2, k])), /gatherLast: index 7/);
    assert.throws(() => be.gatherLast(up(x, [R1, R2, E]), upi(idx, [R2, R1, k])), ShapeError);
  });
});

// ---- layout --------------------------------------------------------------------------------------------

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe("cpu backend: layout", () => {
  test("permute: every permutation of a rank-4 tensor, f32 and i32", () => {
    const { be, up, upi, rd } = setup("f32");
    const shape = [2, 3, 1, 5];
    const x = Array.from({ length: shapeSize(shape) }, (_, i) => i);
    for (const perm of permutations(4)) {
      const outShape = perm.map((p) => shape[p]!);
      const want: number[] = [];
      for (let o = 0; o < x.length; o++) {
        const oi = unravel(o, outShape);
        const ii = new Array<number>(4);
        perm.forEach((p, a) => (ii[p] = oi[a]!));
        want.push(x[ravel(ii, shape)]!);
      }
      const got = be.permute(up(x, shape), perm);
      assert.deepEqual(got.shape, outShape);
      assert.deepEqual(rd(got), want, `permute ${perm}`);
      const gi = be.permute(upi(x, shape), perm);
      assert.equal(gi.dtype, "i32");
      assert.deepEqual(rd(gi), want);
    }
    assert.throws(() => be.permute(up(x, shape), [0, 1, 1, 2]), /permute.*not a permutation/);
  });

  test("slice, concat and writeSlice along every axis", () => {
    const { be, up, rd } = setup("f32");
    const shape = [3, 4, 5];
    const x = Array.from({ length: 60 }, (_, i) => i);
    const xt = up(x, shape);
    for (let ax = 0; ax < 3; ax++) {
      const n = shape[ax]!;
      const [s, e] = [1, n - 1];
      const sl = be.slice(xt, ax, s, e);
      const outShape = shape.map((d, i) => (i === ax ? e - s : d));
      assert.deepEqual(sl.shape, outShape);
      const want: number[] = [];
      for (let o = 0; o < shapeSize(outShape); o++) {
        const idx = unravel(o, outShape);
        idx[ax]! += s;
        want.push(x[ravel(idx, shape)]!);
      }
      assert.deepEqual(rd(sl), want, `slice axis ${ax}`);
      // concat of the three pieces gives x back
      const parts = [be.slice(xt, ax, 0, s), sl, be.slice(xt, ax, e, n)];
      const cat = be.concat(parts, ax);
      assert.deepEqual(cat.shape, shape);
      assert.deepEqual(rd(cat), x, `concat axis ${ax}`);
      // writeSlice: write the middle piece (negated) back into a copy
      const dst = be.affine(xt, 1, 0);
      be.writeSlice(dst, be.affine(sl, -1, 0), ax, s);
      const wantW = [...x];
      for (let o = 0; o < shapeSize(outShape); o++) {
        const idx = unravel(o, outShape);
        idx[ax]! += s;
        wantW[ravel(idx, shape)] = -want[o]!;
      }
      assert.deepEqual(rd(dst), wantW, `writeSlice axis ${ax}`);
    }
    assert.deepEqual(rd(be.concat([up([1, 2], [1, 2]), up([3, 4, 5, 6], [2, 2]), up([7, 8], [1, 2])], -2)), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.throws(() => be.slice(xt, 1, 2, 5), /slice: range 2..5/);
    assert.throws(() => be.concat([xt, up([1], [1, 1, 1])], 0), /concat: shapes \[3, 4, 5\] and \[1, 1, 1\]/);
    assert.throws(() => be.writeSlice(xt, up(new Array(20).fill(0), [1, 4, 5]), 0, 3), /writeSlice.*overruns/);
    assert.throws(() => be.concat([xt, be.upload(new Array(60).fill(0), shape, "i32")], 0), DTypeError);
  });
});

// ---- optimiser -----------------------------------------------------------------------------------------

describe("cpu backend: optimiser ops", () => {
  test("sumSquares and clipCoefficient", () => {
    const { be, up, rd } = setup("f64");
    const s = be.sumSquares([up([1, 2], [2]), up([3], [1, 1]), up([-4, 0, 0], [3])]);
    assert.deepEqual(s.shape, [1]);
    assert.deepEqual(rd(s), [30]);
    const clip = (sum: number, maxNorm: number) => rd(be.clipCoefficient(up([sum], [1]), maxNorm))[0];
    assert.equal(clip(100, 1), 1 / (10 + 1e-6));
    assert.equal(clip(0.25, 1), 1);
    assert.equal(clip(Infinity, 1), 0);
    assert.equal(clip(NaN, 1), 0);
    assert.equal(clip(100, 0), 1);
    assert.equal(clip(NaN, 0), 0);
    assert.equal(clip(100, -1), 1);
  });

  test("adamw matches the decoupled-weight-decay formula; coef 0 changes nothing", () => {
    for (const precision of PRECISIONS) {
      const { be, up, rd, rand, tol } = setup(precision);
      const n = 17;
      let p = rand([n]);
      const g = rand([n]);
      let m = rand([n], -0.1, 0.1);
      let v = rand([n], 0, 0.01);
      const pt = up(p, [n]);
      const mt = up(m, [n]);
      const vt = up(v, [n]);
      const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 };
      for (let step = 1; step <= 3; step++) {
        const coef = 0.5 + step / 10;
        be.adamw(pt, up(g, [n]), mt, vt, { ...hyper, step }, up([coef], [1]));
        const gs = g.map((x) => x * coef);
        m = m.map((mi, i) => 0.9 * mi + 0.1 * gs[i]!);
        v = v.map((vi, i) => 0.95 * vi + 0.05 * gs[i]! ** 2);
        p = p.map((pi, i) => {
          const mh = m[i]! / (1 - 0.9 ** step);
          const vh = v[i]! / (1 - 0.95 ** step);
          return pi - 0.01 * (mh / (Math.sqrt(vh) + 1e-8) + 0.1 * pi);
        });
        assertClose(rd(pt), p, precision === "f32" ? { atol: 1e-5 } : tol, `adamw p step ${step} ${precision}`);
        assertClose(rd(mt), m, precision === "f32" ? { atol: 1e-6 } : tol, `adamw m step ${step}`);
        assertClose(rd(vt), v, precision === "f32" ? { atol: 1e-6 } : tol, `adamw v step ${step}`);
      }
      const before = [rd(pt), rd(mt), rd(vt)];
      be.adamw(pt, up(g, [n]), mt, vt, { ...hyper, step: 4 }, up([0], [1]));
      assert.deepEqual([rd(pt), rd(mt), rd(vt)], before);
      assert.throws(() => be.adamw(pt, up(g.slice(1), [n - 1]), mt, vt, hyper, up([1], [1])), /adamw: grad has shape \[16\].*\[17\]/);
    }
  });
});

// ---- errors --------------------------------------------------------------------------------------------

describe("cpu backend: errors name the op and the shapes", () => {
  test("shape mismatches, dtypes, freed tensors", () => {
    const { be, up, upi } = setup("f32");
    const a = up(new Array(6).fill(1), [2, 3]);
    const b = up(new Array(8).fill(1), [2, 4]);
    assert.throws(() => be.binary("add", a, b), (e: unknown) => e instanceof ShapeError && /add/.test(e.message) && e.message.includes("[2, 3]") && e.message.includes("[2, 4]"));
    assert.throws(() => be.matmul(a, b), (e: unknown) => e instanceof ShapeError && /matmul/.test(e.message) && e.message.includes("[2, 3]") && e.message.includes("[2, 4]"));
    assert.throws(() => be.matmul(up(new Array(12).fill(1), [2, 2, 3]), up(new Array(27).fill(1), [3, 3, 3])), /matmul.*batch/);
    assert.throws(() => be.unaryBackward("exp", a, b), (e: unknown) => e instanceof ShapeError && /unaryBackward\(exp\)/.test(e.message) && e.message.includes("[2, 3]") && e.message.includes("[2, 4]"));
    assert.throws(() => be.softmaxBackward(a, b), (e: unknown) => e instanceof ShapeError && /softmaxBackward/.test(e.message) && e.message.includes("[2, 4]"));
    assert.throws(() => be.rmsnorm(a, up([1, 1], [2]), 1e-5), (e: unknown) => e instanceof ShapeError && /rmsnorm/.test(e.message) && e.message.includes("[2, 3]") && e.message.includes("[2]"));
    assert.throws(() => be.reduce("sum", a, 2), /reduce\(sum\): axis 2 is out of range/);
    const i = upi([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.throws(() => be.unary("exp", i), (e: unknown) => e instanceof DTypeError && /exp/.test(e.message) && /i32/.test(e.message));
    assert.throws(() => be.binary("mul", a, i), DTypeError);
    assert.throws(() => be.matmul(i, a, { transA: true }), DTypeError);
    const f = up([1], [1]);
    be.free(f);
    assert.throws(() => be.affine(f, 1, 1), (e: unknown) => e instanceof FreedTensorError && /affine/.test(e.message));
    assert.throws(() => be.sumSquares([a, f]), FreedTensorError);
    const other = new CpuBackend();
    assert.throws(() => be.unary("exp", other.upload([1], [1], "f32")), /another backend/);
  });
});
