// WebGPU optimiser ops against the CPU twin: the global sum of squares over many
// tensors, the clip coefficient (including non-finite norms), and the fused AdamW
// step (several steps, clipping, coef = 0 leaves everything untouched), chained on
// the GPU without a readback.
//
// Tolerances (per element, |gpu − cpu| ≤ atol + rtol·|cpu|):
//   sumSquares: rtol 1e-5 (float32 partial sums in tree order vs the CPU's float64)
//   clipCoefficient: rtol 1e-6
//   adamw (param, m, v after 1–5 steps): atol 1e-6, rtol 1e-5

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AdamWHyper, DTypeError, type RawTensor, type Shape, ShapeError, shapeSize } from "../../src/tensor/backend.js";
import {
  type Backends, type Pair, checkGpuErrors, countDispatches, expectClose, freePairs, openBackends, poison, upload,
} from "./helpers/gpu.js";
import { f32, mulberry32, normal, uniform } from "./helpers/random.js";

const SUMSQ = { atol: 0, rtol: 1e-5 };
const CLIP = { atol: 0, rtol: 1e-6 };
const ADAM = { atol: 1e-6, rtol: 1e-5 };

let b: Backends;
const rng = mulberry32(31);
const randn = (shape: Shape, std = 1) => f32(normal(rng, shapeSize(shape), std));

before(async () => {
  b = await openBackends();
});
after(() => b?.close());

describe("gpu sumSquares", () => {
  const SETS: Shape[][] = [
    [[1]], [[17]], [[3, 65]], [[3], [17], [1], [0], [4, 5]], // 5 tensors: two dispatch groups
    [[70000], [2, 3], [129, 33], [65], [7], [1, 1, 3], [300, 5], [11], [2]], // 9 tensors, one big
    [],
  ];
  test("matches the CPU on sets of awkward tensors", async () => {
    for (const shapes of SETS) {
      const xs = shapes.map((s) => upload(b, randn(s), s));
      poison(b);
      let g: RawTensor | null = null;
      const n = countDispatches(b, () => { g = b.gpu.sumSquares(xs.map((x) => x.gpu)); });
      assert.equal(n, shapes.length === 0 ? 1 : Math.ceil(shapes.length / 4) + 1, `dispatches for ${shapes.length} tensors`);
      const c = b.cpu.sumSquares(xs.map((x) => x.cpu));
      await expectClose(b, g!, c, SUMSQ, `sumSquares ${JSON.stringify(shapes)}`);
      b.gpu.free(g!);
      b.cpu.free(c);
      freePairs(b, ...xs);
    }
    await checkGpuErrors(b);
  });

  test("errors", () => {
    assert.throws(() => b.gpu.sumSquares([b.gpu.fill([2], 1, "f32"), b.gpu.fill([2], 1, "i32")]), DTypeError);
  });
});

describe("gpu clipCoefficient", () => {
  test("finite, no clipping, and non-finite norms", async () => {
    const cases: [number, number][] = [
      [4, 1], [0.25, 1], [100, 3], [0, 1], [9, 0], [9, -1], [Infinity, 1], [NaN, 1], [NaN, 0], [1e30, 1], [2, Infinity],
    ];
    for (const [s, maxNorm] of cases) {
      const x = upload(b, [s], [1]);
      poison(b);
      let g: RawTensor | null = null;
      assert.equal(countDispatches(b, () => { g = b.gpu.clipCoefficient(x.gpu, maxNorm); }), 1);
      const c = b.cpu.clipCoefficient(x.cpu, maxNorm);
      await expectClose(b, g!, c, CLIP, `clipCoefficient(Σg² = ${s}, maxNorm = ${maxNorm})`);
      b.gpu.free(g!);
      b.cpu.free(c);
      freePairs(b, x);
    }
    assert.throws(() => b.gpu.clipCoefficient(b.gpu.fill([2], 1, "f32"), 1), /clipCoefficient: sumSq must hold one value/);
    await checkGpuErrors(b);
  });
});

describe("gpu adamw", () => {
  const hyper = (step: number): AdamWHyper => ({ lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step });

  interface State {
    p: Pair;
    m: Pair;
    v: Pair;
  }
  function state(shape: Shape): State {
    return {
      p: upload(b, randn(shape), shape),
      m: upload(b, f32(uniform(rng, shapeSize(shape), -0.1, 0.1)), shape),
      v: upload(b, f32(uniform(rng, shapeSize(shape), 0, 0.01)), shape),
    };
  }
  async function expectState(s: State, label: string): Promise<void> {
    await expectClose(b, s.p.gpu, s.p.cpu, ADAM, `${label}: param`);
    await expectClose(b, s.m.gpu, s.m.cpu, ADAM, `${label}: m`);
    await expectClose(b, s.v.gpu, s.v.cpu, ADAM, `${label}: v`);
  }

  test("several steps on awkward shapes, clipped by a coefficient computed on the GPU", async () => {
    const shapes: Shape[] = [[1], [17], [3, 65], [2, 3, 5]];
    const states = shapes.map(state);
    for (let step = 1; step <= 5; step++) {
      const grads = shapes.map((s) => upload(b, randn(s, step === 3 ? 10 : 1), s)); // step 3 is clipped hard
      const readsBefore = b.gpu.stats().readbacks;
      const gs = b.gpu.sumSquares(grads.map((g) => g.gpu));
      const gc = b.gpu.clipCoefficient(gs, 1.0);
      const cs = b.cpu.sumSquares(grads.map((g) => g.cpu));
      const cc = b.cpu.clipCoefficient(cs, 1.0);
      states.forEach((s, i) => {
        const n = countDispatches(b, () => b.gpu.adamw(s.p.gpu, grads[i]!.gpu, s.m.gpu, s.v.gpu, hyper(step), gc));
        assert.equal(n, 1, "adamw is one dispatch per parameter");
        b.cpu.adamw(s.p.cpu, grads[i]!.cpu, s.m.cpu, s.v.cpu, hyper(step), cc);
      });
      assert.equal(b.gpu.stats().readbacks, readsBefore, "the step needs no readback");
      await expectClose(b, gc, cc, CLIP, `clip coefficient, step ${step}`);
      for (const [i, s] of states.entries()) await expectState(s, `step ${step}, ${JSON.stringify(shapes[i])}`);
      for (const t of [gs, gc]) b.gpu.free(t);
      for (const t of [cs, cc]) b.cpu.free(t);
      freePairs(b, ...grads);
    }
    for (const s of states) freePairs(b, s.p, s.m, s.v);
    await checkGpuErrors(b);
  });

  test("a non-finite gradient norm (coef = 0) leaves param, m and v unchanged", async () => {
    const shape = [3, 17];
    const s = state(shape);
    const before = await Promise.all([s.p.gpu, s.m.gpu, s.v.gpu].map((t) => b.gpu.read(t)));
    const grad = upload(b, randn(shape).map((v, i) => (i === 5 ? Infinity : v)), shape);
    const coef = b.gpu.clipCoefficient(b.gpu.sumSquares([grad.gpu]), 1.0);
    b.gpu.adamw(s.p.gpu, grad.gpu, s.m.gpu, s.v.gpu, hyper(1), coef);
    assert.deepEqual(Array.from(await b.gpu.read(coef)), [0]);
    const afterStep = await Promise.all([s.p.gpu, s.m.gpu, s.v.gpu].map((t) => b.gpu.read(t)));
    afterStep.forEach((a, i) => assert.deepEqual(Array.from(a), Array.from(before[i]!), ["param", "m", "v"][i]));
    freePairs(b, s.p, s.m, s.v, grad);
    await checkGpuErrors(b);
  });

  test("errors", () => {
    const p = b.gpu.fill([4], 0, "f32");
    const m = b.gpu.fill([4], 0, "f32");
    const v = b.gpu.fill([4], 0, "f32");
    const coef = b.gpu.fill([1], 1, "f32");
    assert.throws(() => b.gpu.adamw(p, b.gpu.fill([5], 0, "f32"), m, v, hyper(1), coef), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /^adamw: grad has shape \[5\] but param has shape \[4\]/);
      return true;
    });
    assert.throws(() => b.gpu.adamw(p, b.gpu.fill([4], 0, "i32"), m, v, hyper(1), coef), DTypeError);
    assert.throws(() => b.gpu.adamw(p, p, m, v, hyper(1), b.gpu.fill([2], 1, "f32")), ShapeError);
    assert.throws(() => b.gpu.adamw(p, v, m, m, hyper(1), coef), /distinct/);
    assert.throws(() => b.gpu.adamw(p, p, m, v, hyper(0), coef), RangeError);
    for (const t of [p, m, v, coef]) b.gpu.free(t);
  });
});
