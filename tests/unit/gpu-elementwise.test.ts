// WebGPU elementwise ops and reductions against the CPU twin: fill, broadcasting
// binary ops (rank up to 6; min, max and ge also on ties, ±0, ±Infinity and NaN),
// affine, every unary op and its derivative, reduce (both kernel paths) and sumTo.
// Shapes are awkward (1, 3, 17, 65, ...), and the buffer pool is filled with NaN
// before each op so unwritten outputs show up.
//
// Tolerances (per element, |gpu − cpu| ≤ atol + rtol·|cpu|):
//   fill, binary add/sub/mul/min/max/ge, neg/relu/square   exact up to f32 rounding: atol 0, rtol 1e-6
//   affine: atol 1e-7, rtol 1e-6 (the GPU may compute alpha·x + beta as one FMA)
//   div, and the transcendental unary ops and their derivatives:   atol 1e-6, rtol 2e-5
//     (WGSL allows a few ULP for exp/log/tanh/sqrt; the CPU computes in float64)
//   reduce / sumTo: atol 1e-5, rtol 1e-5 (f32 accumulation in another order than the CPU's float64)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  BINARY_OPS, DTypeError, DeviceLimitError, FreedTensorError, ShapeError, UNARY_OPS,
  type BinaryOp, type RawTensor, type ReduceOp, type Shape, type UnaryOp, shapeSize,
} from "../../src/tensor/backend.js";
import type { Tolerance } from "./helpers/assert-close.js";
import {
  type Backends, checkGpuErrors, countDispatches, expectClose, freePairs, openBackends, poison, upload, withGridLimit,
} from "./helpers/gpu.js";
import { f32, mulberry32, uniform } from "./helpers/random.js";

const EXACT: Tolerance = { atol: 0, rtol: 1e-6 };
/** the GPU may fuse alpha·x + beta into one FMA (one rounding instead of two) */
const AFFINE: Tolerance = { atol: 1e-7, rtol: 1e-6 };
const TRANSCENDENTAL: Tolerance = { atol: 1e-6, rtol: 2e-5 };
const REDUCE: Tolerance = { atol: 1e-5, rtol: 1e-5 };

let b: Backends;
const rng = mulberry32(11);
const rand = (shape: Shape, lo = -1, hi = 1, gen = rng) => f32(uniform(gen, shapeSize(shape), lo, hi));
/**
 * A generator of its own for the tests of ops added later (min, max, ge), so that
 * adding them left the inputs of every other test in this file as they were.
 */
const laterOps = new Set<BinaryOp>(["min", "max", "ge"]);
const rngFor = (op: BinaryOp) => (laterOps.has(op) ? mulberry32(100 + BINARY_OPS.indexOf(op)) : rng);

before(async () => {
  b = await openBackends();
});
after(() => b?.close());

describe("gpu fill", () => {
  test("f32 and i32 on awkward shapes, including empty and scalar", async () => {
    const cases: [Shape, number, "f32" | "i32"][] = [
      [[], 2.5, "f32"], [[0], 1, "f32"], [[1], -0, "f32"], [[17], 3.25, "f32"], [[3, 65], -1e-3, "f32"],
      [[5], -7, "i32"], [[2, 3, 17], 123456789, "i32"], [[4], Infinity, "f32"],
    ];
    for (const [shape, value, dtype] of cases) {
      poison(b);
      let g: RawTensor | null = null;
      assert.equal(countDispatches(b, () => { g = b.gpu.fill(shape, value, dtype); }), shapeSize(shape) === 0 ? 0 : 1);
      const c = b.cpu.fill(shape, value, dtype);
      await expectClose(b, g!, c, EXACT, `fill ${JSON.stringify(shape)} ${value} ${dtype}`);
      b.gpu.free(g!);
      b.cpu.free(c);
    }
    await checkGpuErrors(b);
  });

  test("i32 fill with a fraction is a DTypeError", () => {
    assert.throws(() => b.gpu.fill([3], 1.5, "i32"), DTypeError);
  });

  test("a tensor larger than maxStorageBufferBindingSize is refused before allocating", () => {
    const before = b.gpu.stats();
    const tooMany = Math.floor(b.gpu.ctx.maxBinding / 4) + 1;
    assert.throws(() => b.gpu.fill([tooMany], 0, "f32"), (e: unknown) => {
      assert.ok(e instanceof DeviceLimitError);
      assert.match(e.message, new RegExp(`\\[${tooMany}\\]`));
      assert.match(e.message, /maxStorageBufferBindingSize/);
      return true;
    });
    assert.throws(() => b.gpu.fill([2, tooMany], 0, "f32"), DeviceLimitError);
    const after = b.gpu.stats();
    assert.equal(after.pooledBytes, before.pooledBytes, "nothing was allocated");
    assert.equal(after.liveBytes, before.liveBytes);
    assert.equal(after.dispatches, before.dispatches);
  });
});

describe("gpu binary", () => {
  // [a shape, b shape]: equal, broadcast either way, scalars, rank 6, empty
  const SHAPES: [Shape, Shape][] = [
    [[17], [17]], [[3, 65], [3, 65]], [[3, 1, 5], [4, 1]], [[1], [2, 3]], [[65, 3], [3]], [[], [3, 2]],
    [[3, 17], []], [[2, 3, 4, 1, 6, 1], [1, 3, 1, 5, 1, 7]], [[0, 3], [3]], [[17, 1], [1, 65]], [[1, 1], [1]],
  ];
  for (const op of BINARY_OPS) {
    test(`${op}: broadcasting on awkward shapes`, async () => {
      const gen = rngFor(op);
      for (const [sa, sb] of SHAPES) {
        const a = upload(b, rand(sa, -1, 1, gen), sa);
        // keep divisors away from 0
        const bData = op === "div" ? rand(sb, 0.5, 2).map((v, i) => (i % 2 ? -v : v)) : rand(sb, -1, 1, gen);
        const bb = upload(b, bData, sb);
        poison(b);
        let g = a.gpu;
        const dispatches = countDispatches(b, () => {
          g = b.gpu.binary(op, a.gpu, bb.gpu);
        });
        assert.equal(dispatches, shapeSize(g.shape) === 0 ? 0 : 1, `${op} is one dispatch`);
        const c = b.cpu.binary(op, a.cpu, bb.cpu);
        await expectClose(b, g, c, op === "div" ? TRANSCENDENTAL : EXACT, `${op} ${JSON.stringify(sa)} ∘ ${JSON.stringify(sb)}`);
        b.gpu.free(g);
        b.cpu.free(c);
        freePairs(b, a, bb);
      }
      await checkGpuErrors(b);
    });
  }

  test("min, max, ge: ties, ±0, ±Infinity and NaN (NaN wins in min/max; ge is 0 next to NaN)", async () => {
    const special = [NaN, 1, -0, 0, -Infinity, Infinity, 0.5, -2, 1];
    // a coarse grid, so that ties are common
    const gen = mulberry32(99);
    const grid = (shape: Shape) => Array.from({ length: shapeSize(shape) }, () => Math.floor(gen() * 5) / 4 - 0.5);
    const cases: [number[], Shape, number[], Shape][] = [
      [special, [9, 1], special, [9]], // every pair of special values
      [grid([17, 1, 3]), [17, 1, 3], grid([65, 3]), [65, 3]],
      [grid([3]), [3], grid([1, 65, 1]), [1, 65, 1]],
    ];
    for (const op of ["min", "max", "ge"] as const) {
      for (const [da, sa, db, sb] of cases) {
        const a = upload(b, da, sa);
        const bb = upload(b, db, sb);
        poison(b);
        const g = b.gpu.binary(op, a.gpu, bb.gpu);
        const c = b.cpu.binary(op, a.cpu, bb.cpu);
        await expectClose(b, g, c, EXACT, `${op} ${JSON.stringify(sa)} ∘ ${JSON.stringify(sb)}`);
        b.gpu.free(g);
        b.cpu.free(c);
        freePairs(b, a, bb);
      }
    }
    // the CPU reference itself: NaN wins in min/max, comparisons with NaN are false
    const nan = b.cpu.upload([NaN, 1, NaN], [3], "f32");
    const one = b.cpu.upload([1, NaN, 2], [3], "f32");
    const read = (t: RawTensor) => Array.from(b.cpu.readSync(t));
    assert.deepEqual(read(b.cpu.binary("min", nan, one)), [NaN, NaN, NaN]);
    assert.deepEqual(read(b.cpu.binary("max", one, nan)), [NaN, NaN, NaN]);
    assert.deepEqual(read(b.cpu.binary("ge", nan, one)), [0, 0, 0]);
    assert.deepEqual(read(b.cpu.binary("ge", one, one)), [1, 0, 1]);
    await checkGpuErrors(b);
  });

  test("more workgroups than one grid dimension allows (folded into y)", async () => {
    // 65535 · 256 + a bit: ctx.grid has to fold the launch into two dimensions
    const n = 65535 * 256 + 300;
    const x = b.gpu.fill([n], 1.5, "f32");
    const z = b.gpu.binary("add", x, x); // same shapes: the cheap kernel (SwiftShader is slow)
    const got = await b.gpu.read(z);
    assert.equal(got.length, n);
    for (const i of [0, 1, 65535 * 256 - 1, 65535 * 256, n - 1]) assert.equal(got[i], 3, `element ${i}`);
    assert.ok(got.every((v) => v === 3), "every element written");
    for (const t of [x, z]) b.gpu.free(t);
    await checkGpuErrors(b);
  });

  test("every kernel with its grid folded into y (device limit lowered to 4 workgroups per dimension)", async () => {
    poison(b);
    await withGridLimit(b, 4, async () => {
      const a = upload(b, rand([3000]), [3000]); // 12 workgroups of 256 → a 4 × 3 grid
      const r = upload(b, rand([1, 3000]), [1, 3000]);
      const p = upload(b, f32(uniform(rng, 3000, 0.1, 2)), [3000]);
      const wide = upload(b, rand([13, 100]), [13, 100]); // 13 outputs, one workgroup each
      const tall = upload(b, rand([2100, 3]), [2100, 3]); // 2100 outputs, one invocation each
      const runs: [string, RawTensor, RawTensor, Tolerance][] = [
        ["fill", b.gpu.fill([3000], 0.5, "f32"), b.cpu.fill([3000], 0.5, "f32"), EXACT],
        ["add (same shapes)", b.gpu.binary("add", a.gpu, a.gpu), b.cpu.binary("add", a.cpu, a.cpu), EXACT],
        ["sub (broadcast)", b.gpu.binary("sub", a.gpu, r.gpu), b.cpu.binary("sub", a.cpu, r.cpu), EXACT],
        ["affine", b.gpu.affine(a.gpu, 2, 1), b.cpu.affine(a.cpu, 2, 1), AFFINE],
        ["sqrt", b.gpu.unary("sqrt", p.gpu), b.cpu.unary("sqrt", p.cpu), TRANSCENDENTAL],
        ["sqrt'", b.gpu.unaryBackward("sqrt", p.gpu, a.gpu), b.cpu.unaryBackward("sqrt", p.cpu, a.cpu), TRANSCENDENTAL],
        ["reduce, a workgroup per output", b.gpu.reduce("sum", wide.gpu, 1), b.cpu.reduce("sum", wide.cpu, 1), REDUCE],
        ["reduce, an invocation per output", b.gpu.reduce("max", tall.gpu, 1), b.cpu.reduce("max", tall.cpu, 1), REDUCE],
      ];
      for (const [label, g, c, tol] of runs) {
        await expectClose(b, g, c, tol, `${label}, folded`);
        b.gpu.free(g);
        b.cpu.free(c);
      }
      freePairs(b, a, r, p, wide, tall);
    });
    await checkGpuErrors(b);
  });

  test("errors: mismatched shapes, wrong dtype, freed tensor", () => {
    const a = b.gpu.fill([3, 4], 1, "f32");
    const c = b.gpu.fill([5], 1, "f32");
    const i = b.gpu.fill([3, 4], 1, "i32");
    assert.throws(() => b.gpu.binary("add", a, c), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /^add: /);
      assert.match(e.message, /\[3, 4\]/);
      assert.match(e.message, /\[5\]/);
      return true;
    });
    assert.throws(() => b.gpu.binary("mul", a, i), DTypeError);
    const dead = b.gpu.fill([3, 4], 1, "f32");
    b.gpu.free(dead);
    assert.throws(() => b.gpu.binary("sub", a, dead), FreedTensorError);
    assert.throws(() => b.gpu.binary("add", b.gpu.fill([1, 1, 1, 1, 1, 1, 1], 1, "f32"), a), ShapeError); // rank 7
    for (const t of [a, c, i]) b.gpu.free(t);
  });
});

describe("gpu affine and unary", () => {
  test("affine", async () => {
    for (const shape of [[1], [3, 17], [2, 3, 65]] as Shape[]) {
      const x = upload(b, rand(shape), shape);
      poison(b);
      const g = b.gpu.affine(x.gpu, -1.5, 0.25);
      const c = b.cpu.affine(x.cpu, -1.5, 0.25);
      await expectClose(b, g, c, AFFINE, `affine ${JSON.stringify(shape)}`);
      b.gpu.free(g);
      b.cpu.free(c);
      freePairs(b, x);
    }
    assert.throws(() => b.gpu.affine(b.gpu.fill([2], 1, "i32"), 1, 0), DTypeError);
    await checkGpuErrors(b);
  });

  /** inputs inside each op's domain, with a few edge values */
  function inputs(op: UnaryOp, n: number): number[] {
    switch (op) {
      case "log": case "sqrt": case "rsqrt":
        return f32(uniform(rng, n, 0.05, 5));
      case "exp":
        return f32([...uniform(rng, n - 2, -6, 6), 0, -20]);
      default:
        return f32([...uniform(rng, n - 4, -6, 6), 0, 30, -30, 1e-3]);
    }
  }
  const tolOf = (op: UnaryOp): Tolerance => (["neg", "relu", "square"].includes(op) ? EXACT : TRANSCENDENTAL);

  for (const op of UNARY_OPS) {
    test(`${op}: forward and backward`, async () => {
      for (const shape of [[1, 7], [3, 17], [2, 65]] as Shape[]) {
        const n = shapeSize(shape);
        const x = upload(b, inputs(op, n), shape);
        const dy = upload(b, rand(shape), shape);
        poison(b);
        let g = x.gpu;
        assert.equal(countDispatches(b, () => { g = b.gpu.unary(op, x.gpu); }), 1);
        const c = b.cpu.unary(op, x.cpu);
        await expectClose(b, g, c, tolOf(op), `${op} ${JSON.stringify(shape)}`);
        poison(b);
        let gd = x.gpu;
        assert.equal(countDispatches(b, () => { gd = b.gpu.unaryBackward(op, x.gpu, dy.gpu); }), 1);
        const cd = b.cpu.unaryBackward(op, x.cpu, dy.cpu);
        await expectClose(b, gd, cd, tolOf(op), `${op}' ${JSON.stringify(shape)}`);
        for (const t of [g, gd]) b.gpu.free(t);
        for (const t of [c, cd]) b.cpu.free(t);
        freePairs(b, x, dy);
      }
      await checkGpuErrors(b);
    });
  }

  test("unaryBackward: dy must match x", () => {
    const x = b.gpu.fill([3, 4], 1, "f32");
    const dy = b.gpu.fill([4, 3], 1, "f32");
    assert.throws(() => b.gpu.unaryBackward("tanh", x, dy), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /unaryBackward\(tanh\)/);
      assert.match(e.message, /\[4, 3\]/);
      assert.match(e.message, /\[3, 4\]/);
      return true;
    });
    b.gpu.free(x);
    b.gpu.free(dy);
  });
});

describe("gpu reduce and sumTo", () => {
  const OPS: ReduceOp[] = ["sum", "mean", "max"];
  // shapes chosen to hit both kernels: one invocation per output (many outputs, or
  // short reductions) and one workgroup per output (few, long reductions)
  const CASES: [Shape, number][] = [
    [[65], 0], [[3, 17, 5], 0], [[3, 17, 5], 1], [[3, 17, 5], 2], [[3, 17, 5], -1], [[1, 65, 3], 1],
    [[2, 300], 1], [[300, 2], 0], [[5, 70, 3], 1], [[2100, 3], 1], [[4, 1, 3], 1],
  ];
  for (const op of OPS) {
    test(`reduce ${op}`, async () => {
      for (const [shape, axis] of CASES) {
        const x = upload(b, rand(shape, -2, 2), shape);
        poison(b);
        const g = b.gpu.reduce(op, x.gpu, axis);
        const c = b.cpu.reduce(op, x.cpu, axis);
        await expectClose(b, g, c, REDUCE, `${op} ${JSON.stringify(shape)} axis ${axis}`);
        b.gpu.free(g);
        b.cpu.free(c);
        freePairs(b, x);
      }
      await checkGpuErrors(b);
    });
  }

  test("max propagates NaN like the CPU", async () => {
    for (const shape of [[3, 5], [2, 200]] as Shape[]) {
      const data = rand(shape);
      data[1] = NaN;
      const x = upload(b, data, shape);
      const g = b.gpu.reduce("max", x.gpu, 1);
      const c = b.cpu.reduce("max", x.cpu, 1);
      await expectClose(b, g, c, EXACT, `max with NaN ${JSON.stringify(shape)}`);
      assert.ok(Number.isNaN((await b.gpu.read(g))[0]!));
      b.gpu.free(g);
      b.cpu.free(c);
      freePairs(b, x);
    }
  });

  test("sumTo", async () => {
    const CASES_TO: [Shape, Shape][] = [
      [[3, 4, 5], [4, 1]], [[3, 4, 5], [5]], [[3, 4, 5], [1, 1, 1]], [[3, 4, 5], [3, 4, 5]], [[3, 4, 5], [3, 1, 5]],
      [[2, 3, 4, 5], [3, 1, 5]], [[300, 7], [7]], [[7, 300], [7, 1]], [[65, 17], []], [[0, 3], [3]],
      [[2, 1, 3], [1, 3]], [[3000, 2], [2]],
    ];
    for (const [from, to] of CASES_TO) {
      const x = upload(b, rand(from), from);
      poison(b);
      const g = b.gpu.sumTo(x.gpu, to);
      const c = b.cpu.sumTo(x.cpu, to);
      await expectClose(b, g, c, REDUCE, `sumTo ${JSON.stringify(from)} → ${JSON.stringify(to)}`);
      b.gpu.free(g);
      b.cpu.free(c);
      freePairs(b, x);
    }
    await checkGpuErrors(b);
  });

  test("dispatch counts and errors", () => {
    const x = b.gpu.fill([3, 17, 5], 1, "f32");
    const free = (t: RawTensor) => b.gpu.free(t);
    for (const op of OPS) assert.equal(countDispatches(b, () => free(b.gpu.reduce(op, x, 1))), 1, `reduce ${op}`);
    assert.equal(countDispatches(b, () => free(b.gpu.sumTo(x, [17, 1]))), 1, "sumTo");
    assert.throws(() => b.gpu.reduce("sum", x, 3), ShapeError);
    assert.throws(() => b.gpu.reduce("sum", b.gpu.fill([2], 1, "i32"), 0), DTypeError);
    assert.throws(() => b.gpu.reduce("sum", b.gpu.fill([2, 0], 1, "f32"), 1), ShapeError);
    assert.throws(() => b.gpu.sumTo(x, [4, 5]), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /sumTo: shape \[3, 17, 5\] cannot be summed to \[4, 5\]/);
      return true;
    });
    assert.throws(() => b.gpu.sumTo(x, [1, 3, 17, 5]), ShapeError);
    b.gpu.free(x);
  });
});
