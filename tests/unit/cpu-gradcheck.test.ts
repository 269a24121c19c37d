// Every backward rule of CpuBackend against central finite differences of its
// forward, in float64 storage. Objective: L = Σ w ⊙ f(x) with random w, so the
// analytic gradient is the backward rule applied to dy = w. The last block checks
// the engine's own rules built from several primitives (minimum, maximum, clamp,
// gatherRows, scatterAddRows) the same way, through Engine.backward.
//
// Tolerances: central differences with eps = 1e-6 have truncation error
// ~eps²·|f'''| ≈ 1e-12 and round-off ~|L|·1e-16/eps ≈ 1e-10·|L|; we accept
// |analytic − numeric| ≤ atol + rtol·|numeric| with the values in TOL below
// (per check where it differs), several orders of magnitude above that noise
// but far below any real error in a rule.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import { type BinaryOp, type RawTensor, type Shape, BINARY_OPS, UNARY_OPS, shapeSize } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { type Tolerance, assertClose } from "./helpers/assert-close.js";
import { ints, mulberry32, normal, uniform } from "./helpers/random.js";

const EPS = 1e-6;
const TOL: Tolerance = { atol: 1e-8, rtol: 1e-6 };

const be = new CpuBackend({ precision: "f64" });
const rng = mulberry32(20240601);
const up = (data: number[], shape: Shape): RawTensor => be.upload(data, shape, "f32");
const upi = (data: number[], shape: Shape): RawTensor => be.upload(data, shape, "i32");
const rd = (t: RawTensor): number[] => Array.from(be.readSync(t));

/** Σ w ⊙ t, then free t */
function weighted(t: RawTensor, w: number[]): number {
  const d = be.readSync(t);
  assert.equal(d.length, w.length, "weights and output differ in size");
  let s = 0;
  for (let i = 0; i < d.length; i++) s += w[i]! * d[i]!;
  be.free(t);
  return s;
}

/**
 * n multiples of 1/8 in [−2, 2], shifted by 1/32 when `offset`. A shifted value never
 * ties with an unshifted one (|a − b| ≥ 1/32 ≫ EPS), so no finite difference of min,
 * max or clamp (with bounds on multiples of 1/8) crosses a kink.
 */
function grid(n: number, offset: boolean): number[] {
  return ints(rng, n, 33).map((k) => (k - 16) / 8 + (offset ? 1 / 32 : 0));
}

/** central differences of L at x */
function numericGrad(x: number[], L: (x: number[]) => number): number[] {
  const g = new Array<number>(x.length);
  const xp = [...x];
  for (let i = 0; i < x.length; i++) {
    xp[i] = x[i]! + EPS;
    const lp = L(xp);
    xp[i] = x[i]! - EPS;
    const lm = L(xp);
    xp[i] = x[i]!;
    g[i] = (lp - lm) / (2 * EPS);
  }
  return g;
}

function gradcheck(label: string, x: number[], L: (x: number[]) => number, analytic: RawTensor | number[], tol = TOL): void {
  const a = Array.isArray(analytic) ? analytic : rd(analytic);
  const n = numericGrad(x, L);
  // guard against a vacuous check (all-zero gradients)
  assert.ok(n.some((v) => Math.abs(v) > 1e-6), `${label}: numeric gradient is all zero`);
  assertClose(a, n, tol, label);
}

describe("cpu gradcheck: elementwise", () => {
  test("unaryBackward for every op (away from kinks; log/sqrt/rsqrt on positive inputs)", () => {
    const shape = [3, 7];
    for (const op of UNARY_OPS) {
      const positive = op === "log" || op === "sqrt" || op === "rsqrt";
      let x = positive ? uniform(rng, 21, 0.3, 3) : uniform(rng, 21, -3, 3);
      if (op === "relu") x = x.map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
      const w = normal(rng, 21);
      const L = (xs: number[]) => weighted(be.unary(op, up(xs, shape)), w);
      gradcheck(`unaryBackward(${op})`, x, L, be.unaryBackward(op, up(x, shape), up(w, shape)));
    }
  });

  test("sumTo is the gradient of broadcasting binary ops", () => {
    const pairs: [number[], number[]][] = [[[2, 3, 4], [3, 1]], [[5], [2, 1, 5]], [[3, 1], [1, 4]], [[2, 3], [2, 3]]];
    for (const op of BINARY_OPS) {
      if (op === "ge") continue; // a step function: no gradient (min and max use it as a mask)
      const minMax = op === "min" || op === "max";
      for (const [sa, sb] of pairs) {
        const a = minMax ? grid(shapeSize(sa), true) : uniform(rng, shapeSize(sa), -2, 2);
        const b = op === "div" ? uniform(rng, shapeSize(sb), 0.5, 2) : minMax ? grid(shapeSize(sb), false) : uniform(rng, shapeSize(sb), -2, 2);
        const outShape = be.binary(op, up(a, sa), up(b, sb)).shape;
        const w = normal(rng, shapeSize(outShape));
        const W = up(w, outShape);
        const A = up(a, sa);
        const B = up(b, sb);
        const neg = (t: RawTensor) => be.affine(t, -1, 0);
        // W where a was picked (mask = ge), and the rest of W for b
        const picked = (mask: RawTensor): [RawTensor, RawTensor] => {
          const toA = be.binary("mul", W, mask);
          return [toA, be.binary("sub", W, toA)];
        };
        // ∂(a∘b)/∂a and ∂(a∘b)/∂b times W, at the broadcast shape
        const grads: Record<Exclude<BinaryOp, "ge">, () => [RawTensor, RawTensor]> = {
          add: () => [W, W],
          sub: () => [W, neg(W)],
          mul: () => [be.binary("mul", W, B), be.binary("mul", W, A)],
          div: () => [be.binary("div", W, B), neg(be.binary("div", be.binary("mul", W, A), be.binary("mul", B, B)))],
          min: () => picked(be.binary("ge", B, A)),
          max: () => picked(be.binary("ge", A, B)),
        };
        const [ga, gb] = grads[op]();
        const label = `${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`;
        gradcheck(`${label} d/da`, a, (xs) => weighted(be.binary(op, up(xs, sa), B), w), be.sumTo(ga, sa));
        gradcheck(`${label} d/db`, b, (xs) => weighted(be.binary(op, A, up(xs, sb)), w), be.sumTo(gb, sb));
      }
    }
  });

  test("matmul gradients via the transposed matmuls (dA = dC·Bᵀ, dB = Aᵀ·dC), incl. a shared B", () => {
    for (const [aShape, bShape] of [[[3, 5], [5, 4]], [[2, 3, 5], [2, 5, 1]], [[2, 3, 5], [5, 4]]] as [number[], number[]][]) {
      const a = normal(rng, shapeSize(aShape));
      const b = normal(rng, shapeSize(bShape));
      const C = be.matmul(up(a, aShape), up(b, bShape));
      const w = normal(rng, C.size);
      const W = up(w, C.shape);
      const dA = be.matmul(W, up(b, bShape), { transB: true });
      const dBfull = be.matmul(up(a, aShape), W, { transA: true });
      const dB = be.sumTo(dBfull, bShape); // sums over the batch when B is shared
      const label = `matmul ${JSON.stringify(aShape)}·${JSON.stringify(bShape)}`;
      gradcheck(`${label} dA`, a, (xs) => weighted(be.matmul(up(xs, aShape), up(b, bShape)), w), dA);
      gradcheck(`${label} dB`, b, (xs) => weighted(be.matmul(up(a, aShape), up(xs, bShape)), w), dB);
    }
    // transposed forward C = Aᵀ·Bᵀ (A [K, M], B [N, K]): dA = (W·B)ᵀ = Bᵀ·Wᵀ and dB = (A·W)ᵀ = Wᵀ·Aᵀ
    const [M, K, N] = [3, 4, 2];
    const a = normal(rng, K * M);
    const b = normal(rng, N * K);
    const w = normal(rng, M * N);
    const W = up(w, [M, N]);
    const dA = be.matmul(up(b, [N, K]), W, { transA: true, transB: true }); // [K, M] = Bᵀ·Wᵀ
    const dB = be.matmul(W, up(a, [K, M]), { transA: true, transB: true }); // [N, K] = Wᵀ·Aᵀ
    const opts = { transA: true, transB: true };
    gradcheck("matmul (aᵀ bᵀ) dA", a, (xs) => weighted(be.matmul(up(xs, [K, M]), up(b, [N, K]), opts), w), dA);
    gradcheck("matmul (aᵀ bᵀ) dB", b, (xs) => weighted(be.matmul(up(a, [K, M]), up(xs, [N, K]), opts), w), dB);
  });
});

describe("cpu gradcheck: rows", () => {
  test("softmaxBackward and logSoftmaxBackward", () => {
    for (const shape of [[3, 7], [2, 2, 5], [1, 1]]) {
      const n = shapeSize(shape);
      const x = uniform(rng, n, -3, 3);
      const w = normal(rng, n);
      const y = be.softmax(up(x, shape));
      const ly = be.logSoftmax(up(x, shape));
      // a 1-wide row has zero softmax gradient: only check the log-softmax one there
      if (shape[shape.length - 1]! > 1) {
        gradcheck(`softmaxBackward ${JSON.stringify(shape)}`, x, (xs) => weighted(be.softmax(up(xs, shape)), w), be.softmaxBackward(y, up(w, shape)));
        gradcheck(`logSoftmaxBackward ${JSON.stringify(shape)}`, x, (xs) => weighted(be.logSoftmax(up(xs, shape)), w), be.logSoftmaxBackward(ly, up(w, shape)));
      } else {
        assert.deepEqual(rd(be.logSoftmaxBackward(ly, up(w, shape))), [0]);
      }
    }
  });

  test("crossEntropyBackward with a mask", () => {
    const [N, V] = [6, 9];
    const logits = uniform(rng, N * V, -3, 3);
    const targets = upi(ints(rng, N, V), [N]);
    const mask = up([1, 0, 0.5, 1, 1, 0], [N]);
    const w = normal(rng, N);
    for (const m of [mask, null]) {
      const L = (xs: number[]) => weighted(be.crossEntropy(up(xs, [N, V]), targets, m).loss, w);
      const { lse } = be.crossEntropy(up(logits, [N, V]), targets, m);
      const g = be.crossEntropyBackward(up(logits, [N, V]), targets, m, lse, up(w, [N]));
      gradcheck(`crossEntropyBackward mask=${m !== null}`, logits, L, g);
    }
  });

  test("rmsnormBackward: dx and dw", () => {
    for (const shape of [[4, 7], [2, 3, 5]]) {
      const D = shape[shape.length - 1]!;
      const n = shapeSize(shape);
      const x = normal(rng, n);
      const wt = uniform(rng, D, 0.5, 1.5);
      const W = normal(rng, n);
      const eps = 1e-5;
      const { rstd } = be.rmsnorm(up(x, shape), up(wt, [D]), eps);
      const { dx, dw } = be.rmsnormBackward(up(x, shape), up(wt, [D]), rstd, up(W, shape));
      gradcheck(`rmsnorm dx ${JSON.stringify(shape)}`, x, (xs) => weighted(be.rmsnorm(up(xs, shape), up(wt, [D]), eps).y, W), dx);
      gradcheck(`rmsnorm dw ${JSON.stringify(shape)}`, wt, (ws) => weighted(be.rmsnorm(up(x, shape), up(ws, [D]), eps).y, W), dw);
    }
  });
});

describe("cpu gradcheck: indexing and transformer ops", () => {
  test("scatterAddRows is the gradient of gatherRows; scatterAddLast of gatherLast", () => {
    const [V, D] = [5, 3];
    const table = normal(rng, V * D);
    const idx = upi([4, 0, 4, 2, 2, 4, 1], [7]);
    const w = normal(rng, 7 * D);
    gradcheck("gatherRows", table, (xs) => weighted(be.gatherRows(up(xs, [V, D]), idx), w), be.scatterAddRows(up(w, [7, D]), idx, V));
    const [R, E, k] = [4, 6, 3];
    const x = normal(rng, R * E);
    const il = upi([0, 5, 5, 1, 2, 3, 4, 4, 4, 2, 1, 0], [R, k]);
    const wl = normal(rng, R * k);
    gradcheck("gatherLast", x, (xs) => weighted(be.gatherLast(up(xs, [R, E]), il), wl), be.scatterAddLast(up(wl, [R, k]), il, E));
  });

  test("rope with inverse = true is the gradient of rope", () => {
    for (const [shape, pos0] of [[[2, 3, 2, 6], 0], [[1, 4, 1, 4], 11]] as const) {
      const n = shapeSize(shape);
      const x = normal(rng, n);
      const w = normal(rng, n);
      const fwd = { pos0, theta: 10000, inverse: false };
      gradcheck(`rope ${JSON.stringify(shape)} pos0=${pos0}`, x, (xs) => weighted(be.rope(up(xs, shape), fwd), w), be.rope(up(w, shape), { ...fwd, inverse: true }));
    }
  });

  test("attentionBackward: dq, dk, dv (causal / not, GQA, Dv ≠ D, kvLen < Tk)", () => {
    // [B, Tq, Tk, Hq, Hkv, D, Dv, causal, kvLen]
    const cases: [number, number, number, number, number, number, number, boolean, number | undefined][] = [
      [2, 4, 4, 4, 2, 5, 3, true, undefined],
      [1, 3, 5, 2, 2, 4, 6, false, undefined],
      [1, 2, 6, 3, 1, 4, 3, true, 5],
      [1, 3, 6, 2, 1, 3, 2, false, 4],
    ];
    for (const [B, Tq, Tk, Hq, Hkv, D, Dv, causal, kvLen] of cases) {
      const qS = [B, Tq, Hq, D];
      const kS = [B, Tk, Hkv, D];
      const vS = [B, Tk, Hkv, Dv];
      const q = normal(rng, shapeSize(qS));
      const k = normal(rng, shapeSize(kS));
      const v = normal(rng, shapeSize(vS));
      const w = normal(rng, B * Tq * Hq * Dv);
      const scale = 1 / Math.sqrt(D);
      const opts = kvLen === undefined ? { scale, causal } : { scale, causal, kvLen };
      const Q = up(q, qS);
      const K = up(k, kS);
      const Vt = up(v, vS);
      const { out, lse } = be.attention(Q, K, Vt, opts);
      const { dq, dk, dv } = be.attentionBackward(Q, K, Vt, out, lse, up(w, out.shape), opts);
      assert.deepEqual(dk.shape, kS);
      assert.deepEqual(dv.shape, vS);
      const label = `attention ${JSON.stringify([B, Tq, Tk, Hq, Hkv, D, Dv, causal, kvLen])}`;
      gradcheck(`${label} dq`, q, (xs) => weighted(be.attention(up(xs, qS), K, Vt, opts).out, w), dq);
      gradcheck(`${label} dk`, k, (xs) => weighted(be.attention(Q, up(xs, kS), Vt, opts).out, w), dk);
      gradcheck(`${label} dv`, v, (xs) => weighted(be.attention(Q, K, up(xs, vS), opts).out, w), dv);
      if (kvLen !== undefined) {
        // positions ≥ kvLen get exactly zero gradient
        const dkv = rd(dk);
        const dvv = rd(dv);
        for (let b = 0; b < B; b++) for (let j = kvLen; j < Tk; j++) {
          assert.ok(dkv.slice(((b * Tk + j) * Hkv) * D, ((b * Tk + j + 1) * Hkv) * D).every((x) => x === 0), `${label}: dk beyond kvLen`);
          assert.ok(dvv.slice(((b * Tk + j) * Hkv) * Dv, ((b * Tk + j + 1) * Hkv) * Dv).every((x) => x === 0), `${label}: dv beyond kvLen`);
        }
      }
    }
  });
});

describe("cpu gradcheck: engine rules (minimum, maximum, clamp, gatherRows, scatterAddRows)", () => {
  const engine = new Engine(be);

  /** Σ w ⊙ f(), through the engine with nothing recorded; f's tensors are freed */
  function engineLoss(f: () => Tensor, w: number[]): number {
    return engine.noGrad(() => engine.scope(() => {
      const y = be.readSync(f().raw);
      assert.equal(y.length, w.length, "weights and output differ in size");
      let s = 0;
      for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!;
      return s;
    }));
  }

  /** ∂(Σ w ⊙ f(p))/∂p by Engine.backward, for a parameter made from `data` */
  function engineGrad(data: number[], shape: Shape, f: (p: Tensor) => Tensor, w: number[]): number[] {
    const p = engine.parameter(data, shape);
    engine.scope(() => {
      const y = f(p);
      engine.backward(engine.sumAll(engine.mul(y, engine.tensor(w, y.shape))));
    });
    const g = rd(p.grad!.raw);
    engine.zeroGrad([p]);
    p.dispose();
    return g;
  }

  test("minimum and maximum, broadcasting both ways (no ties)", () => {
    const pairs: [Shape, Shape][] = [[[3, 4], [3, 4]], [[2, 3, 4], [3, 1]], [[5], [2, 1, 5]], [[3, 1], [1, 4]], [[4], []]];
    for (const name of ["minimum", "maximum"] as const) {
      const op = (x: Tensor, y: Tensor) => engine[name](x, y);
      for (const [sa, sb] of pairs) {
        const a = grid(shapeSize(sa), true);
        const b = grid(shapeSize(sb), false);
        const outShape = be.binary("add", up(a, sa), up(b, sb)).shape;
        const w = normal(rng, shapeSize(outShape));
        const label = `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`;
        const tb = () => engine.tensor(b, sb);
        const ta = () => engine.tensor(a, sa);
        gradcheck(`${label} d/da`, a, (xs) => engineLoss(() => op(engine.tensor(xs, sa), tb()), w), engineGrad(a, sa, (p) => op(p, tb()), w));
        gradcheck(`${label} d/db`, b, (xs) => engineLoss(() => op(ta(), engine.tensor(xs, sb)), w), engineGrad(b, sb, (p) => op(ta(), p), w));
      }
    }
  });

  test("clamp, with values inside and outside the bounds (none on them)", () => {
    const shape = [4, 5];
    // on the grid 1/32 off multiples of 1/8, the bounds ±0.75 are never hit
    const x = grid(20, true);
    assert.ok(x.some((v) => v < -0.75) && x.some((v) => v > 0.75) && x.some((v) => Math.abs(v) < 0.75), "x must cover all three regions");
    const w = normal(rng, 20);
    const f = (t: Tensor) => engine.clamp(t, -0.75, 0.75);
    gradcheck("clamp", x, (xs) => engineLoss(() => f(engine.tensor(xs, shape)), w), engineGrad(x, shape, f, w));
  });

  test("gatherRows and scatterAddRows (repeated and unused indices)", () => {
    const [N, C] = [5, 3];
    const ids = [4, 0, 4, 2, 2, 4, 1]; // row 3 is never picked, row 4 three times
    const idxShapes: Shape[] = [[7], [1, 7]];
    for (const idxShape of idxShapes) {
      const idx = () => engine.tensor(ids, idxShape, "i32");
      const x = normal(rng, N * C);
      const wg = normal(rng, 7 * C);
      const gather = (t: Tensor) => engine.gatherRows(t, idx());
      const label = JSON.stringify(idxShape);
      gradcheck(`gatherRows idx ${label}`, x, (xs) => engineLoss(() => gather(engine.tensor(xs, [N, C])), wg), engineGrad(x, [N, C], gather, wg));
      const srcShape = [...idxShape, C];
      const src = normal(rng, 7 * C);
      const ws = normal(rng, N * C);
      const scatter = (t: Tensor) => engine.scatterAddRows(t, idx(), N);
      gradcheck(`scatterAddRows idx ${label}`, src, (xs) => engineLoss(() => scatter(engine.tensor(xs, srcShape)), ws), engineGrad(src, srcShape, scatter, ws));
    }
  });
});
