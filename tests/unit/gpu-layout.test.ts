// WebGPU layout ops against the CPU twin: permute, slice, concat and writeSlice,
// for f32 and i32, on awkward shapes, through both paths (the strided-copy kernel
// and a plain buffer copy when the data is one contiguous block).
//
// Tolerance: exact. These ops move 32-bit words and compute nothing.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DTypeError, type DType, type RawTensor, type Shape, ShapeError, shapeSize } from "../../src/tensor/backend.js";
import {
  type Backends, checkGpuErrors, countDispatches, expectClose, freePairs, openBackends, poison, upload, withGridLimit,
} from "./helpers/gpu.js";
import { f32, ints, mulberry32, uniform } from "./helpers/random.js";

const EXACT = { atol: 0, rtol: 0 };

let b: Backends;
const rng = mulberry32(5);
const data = (shape: Shape, dtype: DType) =>
  dtype === "i32" ? ints(rng, shapeSize(shape), 1000).map((v) => v - 500) : f32(uniform(rng, shapeSize(shape)));

before(async () => {
  b = await openBackends();
});
after(() => b?.close());

async function same(g: RawTensor, c: RawTensor, label: string): Promise<void> {
  await expectClose(b, g, c, EXACT, label);
  b.gpu.free(g);
  b.cpu.free(c);
}

describe("gpu permute", () => {
  const CASES: [Shape, number[]][] = [
    [[2, 3, 4, 5], [0, 1, 2, 3]], [[2, 3, 4, 5], [3, 2, 1, 0]], [[2, 3, 4, 5], [0, 2, 1, 3]], [[2, 3, 4, 5], [1, 0, 3, 2]],
    [[3, 1, 17], [2, 0, 1]], [[17, 65], [1, 0]], [[1, 17, 1], [2, 1, 0]], [[2, 1, 3, 2, 1, 3], [5, 4, 3, 2, 1, 0]],
    [[0, 3], [1, 0]], [[7], [0]],
  ];
  for (const dtype of ["f32", "i32"] as const) {
    test(`${dtype}`, async () => {
      for (const [shape, perm] of CASES) {
        const x = upload(b, data(shape, dtype), shape, dtype);
        poison(b);
        await same(b.gpu.permute(x.gpu, perm), b.cpu.permute(x.cpu, perm), `permute ${JSON.stringify(shape)} by [${perm}]`);
        freePairs(b, x);
      }
      await checkGpuErrors(b);
    });
  }

  test("a permutation that keeps memory order is a buffer copy, others one dispatch", () => {
    const x = b.gpu.fill([3, 1, 17], 1, "f32");
    assert.equal(countDispatches(b, () => b.gpu.free(b.gpu.permute(x, [1, 0, 2]))), 0, "only moves a size-1 axis");
    assert.equal(countDispatches(b, () => b.gpu.free(b.gpu.permute(x, [2, 1, 0]))), 1);
    b.gpu.free(x);
  });

  test("errors", () => {
    const x = b.gpu.fill([2, 3], 1, "f32");
    for (const perm of [[0], [0, 0], [0, 2], [1, 0, 2]]) {
      assert.throws(() => b.gpu.permute(x, perm), (e: unknown) => {
        assert.ok(e instanceof ShapeError);
        assert.match(e.message, /^permute: .*\[2, 3\]/);
        return true;
      });
    }
    b.gpu.free(x);
  });
});

describe("gpu slice", () => {
  const CASES: [Shape, number, number, number][] = [
    [[5, 17], 0, 1, 4], [[5, 17], 1, 3, 16], [[5, 17], -1, 0, 1], [[2, 9, 3], 1, 2, 9], [[2, 9, 3], 2, 1, 2],
    [[65], 0, 17, 65], [[4, 3], 0, 2, 2], [[1, 6, 1], 1, 0, 6],
  ];
  for (const dtype of ["f32", "i32"] as const) {
    test(`${dtype}`, async () => {
      for (const [shape, axis, start, end] of CASES) {
        const x = upload(b, data(shape, dtype), shape, dtype);
        poison(b);
        await same(b.gpu.slice(x.gpu, axis, start, end), b.cpu.slice(x.cpu, axis, start, end),
          `slice ${JSON.stringify(shape)} axis ${axis} ${start}..${end}`);
        freePairs(b, x);
      }
      await checkGpuErrors(b);
    });
  }

  test("dispatch counts and errors", () => {
    const x = b.gpu.fill([5, 17], 1, "f32");
    assert.equal(countDispatches(b, () => b.gpu.free(b.gpu.slice(x, 0, 1, 3))), 0, "leading-axis slice is one block");
    assert.equal(countDispatches(b, () => b.gpu.free(b.gpu.slice(x, 1, 1, 3))), 1);
    assert.throws(() => b.gpu.slice(x, 1, 3, 18), /slice: range 3\.\.18 is invalid for axis 1 of shape \[5, 17\]/);
    assert.throws(() => b.gpu.slice(x, 2, 0, 1), ShapeError);
    assert.throws(() => b.gpu.slice(x, 0, 3, 2), ShapeError);
    b.gpu.free(x);
  });
});

describe("gpu concat", () => {
  const CASES: [Shape[], number][] = [
    [[[2, 3], [5, 3], [1, 3]], 0], [[[2, 3], [2, 17], [2, 1]], 1], [[[3, 2, 4], [3, 5, 4]], 1], [[[3, 2, 4], [3, 2, 1]], -1],
    [[[17]], 0], [[[2, 0, 3], [2, 4, 3]], 1],
  ];
  for (const dtype of ["f32", "i32"] as const) {
    test(`${dtype}`, async () => {
      for (const [shapes, axis] of CASES) {
        const xs = shapes.map((s) => upload(b, data(s, dtype), s, dtype));
        poison(b);
        await same(b.gpu.concat(xs.map((x) => x.gpu), axis), b.cpu.concat(xs.map((x) => x.cpu), axis),
          `concat ${JSON.stringify(shapes)} axis ${axis}`);
        freePairs(b, ...xs);
      }
      await checkGpuErrors(b);
    });
  }

  test("dispatch counts and errors", () => {
    const a = b.gpu.fill([2, 3], 1, "f32");
    const c = b.gpu.fill([2, 4], 1, "f32");
    assert.equal(countDispatches(b, () => b.gpu.free(b.gpu.concat([a, a, a], 0))), 0, "axis 0: buffer copies");
    assert.equal(countDispatches(b, () => b.gpu.free(b.gpu.concat([a, c, a], 1))), 3, "one dispatch per input");
    assert.throws(() => b.gpu.concat([a, c], 0), /concat: shapes \[2, 3\] and \[2, 4\] differ on an axis other than 0/);
    assert.throws(() => b.gpu.concat([a, b.gpu.fill([2, 3], 1, "i32")], 0), DTypeError);
    assert.throws(() => b.gpu.concat([], 0), ShapeError);
    b.gpu.free(a);
    b.gpu.free(c);
  });
});

describe("gpu writeSlice", () => {
  const CASES: [Shape, Shape, number, number][] = [
    [[6, 5], [2, 5], 0, 3], [[6, 5], [6, 2], 1, 3], [[2, 8, 3], [2, 1, 3], 1, 7], [[2, 8, 3], [2, 8, 3], 0, 0],
    [[4, 3, 17], [4, 3, 5], -1, 12], [[3, 4], [3, 0], 1, 4],
  ];
  for (const dtype of ["f32", "i32"] as const) {
    test(`${dtype}`, async () => {
      for (const [dShape, sShape, axis, start] of CASES) {
        const dst = upload(b, data(dShape, dtype), dShape, dtype);
        const src = upload(b, data(sShape, dtype), sShape, dtype);
        b.gpu.writeSlice(dst.gpu, src.gpu, axis, start);
        b.cpu.writeSlice(dst.cpu, src.cpu, axis, start);
        await expectClose(b, dst.gpu, dst.cpu, EXACT, `writeSlice ${JSON.stringify(sShape)} into ${JSON.stringify(dShape)} axis ${axis} at ${start}`);
        freePairs(b, dst, src);
      }
      await checkGpuErrors(b);
    });
  }

  test("errors", () => {
    const dst = b.gpu.fill([4, 6], 0, "f32");
    const src = b.gpu.fill([4, 2], 1, "f32");
    assert.throws(() => b.gpu.writeSlice(dst, src, 1, 5), /writeSlice: src \[4, 2\] at 5 overruns dst \[4, 6\] along axis 1/);
    assert.throws(() => b.gpu.writeSlice(dst, b.gpu.fill([3, 2], 1, "f32"), 1, 0), ShapeError);
    assert.throws(() => b.gpu.writeSlice(dst, b.gpu.fill([4, 2], 1, "i32"), 1, 0), DTypeError);
    const view = b.gpu.reshape(dst, [4, 6]);
    assert.throws(() => b.gpu.writeSlice(dst, view, 0, 0), /share storage/);
    b.gpu.free(view);
    b.gpu.free(dst);
    b.gpu.free(src);
  });
});

test("layout kernels with their grid folded into y (device limit lowered to 4)", async () => {
  poison(b);
  await withGridLimit(b, 4, async () => {
    const shape = [40, 3, 25]; // 3000 elements: 12 workgroups → a 4 × 3 grid
    const x = upload(b, data(shape, "f32"), shape, "f32");
    await same(b.gpu.permute(x.gpu, [2, 0, 1]), b.cpu.permute(x.cpu, [2, 0, 1]), "permute, folded");
    await same(b.gpu.slice(x.gpu, 2, 1, 24), b.cpu.slice(x.cpu, 2, 1, 24), "slice, folded");
    freePairs(b, x);
  });
  await checkGpuErrors(b);
});
