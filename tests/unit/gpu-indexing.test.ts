// WebGPU gathers, scatter-adds and top-k against the CPU twin, on awkward shapes
// with repeated indices, outputs poisoned with NaN first. Also: what the GPU does
// with out-of-range indices (gathers read 0, scatters drop the value; the CPU twin
// throws), and the errors for bad shapes and index dtypes.
//
// Tolerances: gathers and top-k are exact (copies and comparisons). Scatter-adds
// sum in float32 on the GPU and in float64 on the CPU: atol 1e-6, rtol 1e-6
// (at most 12 terms of size ≤ 1 per output here).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import { type Backend, type RawTensor, type Shape, DTypeError, ShapeError, shapeSize } from "../../src/tensor/backend.js";
import { createBackend } from "../../src/tensor/create.js";
import { assertClose } from "./helpers/assert-close.js";
import { poisonPool } from "./helpers/gpu.js";
import { f32, ints, mulberry32, uniform } from "./helpers/random.js";

const EXACT = { atol: 0 };
const TOL_SCATTER = { atol: 1e-6, rtol: 1e-6 };

let cpu: Backend;
let gpu: Backend;
const rng = mulberry32(5);

before(async () => {
  cpu = new CpuBackend();
  gpu = await createBackend("webgpu");
});
after(() => {
  cpu?.destroy();
  gpu?.destroy();
});


const rand = (shape: Shape) => f32(uniform(rng, shapeSize(shape)));

/** Upload the same inputs to both backends, run `op` on each (GPU outputs poisoned first), compare. */
async function compare(
  inputs: { data: number[]; shape: Shape; dtype: "f32" | "i32" }[],
  op: (be: Backend, xs: RawTensor[]) => RawTensor[],
  tol: { atol: number; rtol?: number },
  label: string,
): Promise<void> {
  const cx = inputs.map((i) => cpu.upload(i.data, i.shape, i.dtype));
  const gx = inputs.map((i) => gpu.upload(i.data, i.shape, i.dtype));
  const want = op(cpu, cx);
  poisonPool(gpu, Math.max(...want.map((t) => t.size)));
  const got = op(gpu, gx);
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i]!.shape, want[i]!.shape, `${label}: shape of output ${i}`);
    assert.equal(got[i]!.dtype, want[i]!.dtype, `${label}: dtype of output ${i}`);
    assertClose(await gpu.read(got[i]!), await cpu.read(want[i]!), tol, `${label}: output ${i}`);
  }
}

const f = (data: number[], shape: Shape) => ({ data, shape, dtype: "f32" as const });
const i32 = (data: number[], shape: Shape) => ({ data, shape, dtype: "i32" as const });

describe("gpu indexing", () => {
  test("gatherRows", async () => {
    for (const [V, D, idxShape] of [[17, 5, [3, 4]], [1, 1, [1]], [3, 65, [2, 1, 3]]] as [number, number, number[]][]) {
      const idx = ints(rng, shapeSize(idxShape), V);
      await compare([f(rand([V, D]), [V, D]), i32(idx, idxShape)], (be, [t, i]) => [be.gatherRows(t!, i!)], EXACT, `gatherRows V=${V} D=${D}`);
    }
  });

  test("scatterAddRows (repeated indices add up)", async () => {
    for (const [rows, D, idxShape] of [[17, 5, [3, 4]], [1, 1, [1]], [3, 65, [2, 6]]] as [number, number, number[]][]) {
      const idx = ints(rng, shapeSize(idxShape), rows);
      const srcShape = [...idxShape, D];
      await compare([f(rand(srcShape), srcShape), i32(idx, idxShape)], (be, [s, i]) => [be.scatterAddRows(s!, i!, rows)], TOL_SCATTER, `scatterAddRows rows=${rows} D=${D}`);
    }
  });

  test("gatherLast and scatterAddLast", async () => {
    for (const [lead, E, k] of [[[2, 3], 17, 4], [[1], 1, 1], [[65], 3, 5]] as [number[], number, number][]) {
      const xShape = [...lead, E];
      const iShape = [...lead, k];
      const idx = ints(rng, shapeSize(iShape), E);
      await compare([f(rand(xShape), xShape), i32(idx, iShape)], (be, [x, i]) => [be.gatherLast(x!, i!)], EXACT, `gatherLast E=${E} k=${k}`);
      await compare([f(rand(iShape), iShape), i32(idx, iShape)], (be, [s, i]) => [be.scatterAddLast(s!, i!, E)], TOL_SCATTER, `scatterAddLast E=${E} k=${k}`);
    }
  });

  test("topk: descending, ties to the lower index, NaN last", async () => {
    // values on a coarse grid so that ties are common
    const grid = (shape: Shape) => ints(rng, shapeSize(shape), 5).map((v) => v / 4 - 0.5);
    for (const [shape, k] of [[[5, 17], 1], [[5, 17], 3], [[5, 17], 17], [[65], 4], [[2, 1, 3], 2]] as [number[], number][]) {
      await compare([f(grid(shape), shape)], (be, [x]) => {
        const { values, indices } = be.topk(x!, k);
        return [values, indices];
      }, EXACT, `topk ${JSON.stringify(shape)} k=${k}`);
    }
    const special = [NaN, 1, -0, 0, NaN, -Infinity, 1, Infinity];
    await compare([f(special, [1, 8])], (be, [x]) => {
      const { values, indices } = be.topk(x!, 8);
      return [values, indices];
    }, EXACT, "topk with NaN, ±0, ±Infinity");
  });

  test("out-of-range indices: gathers read 0, scatters drop (the CPU twin throws)", async () => {
    const table = gpu.upload([1, 2, 3, 4, 5, 6], [3, 2], "f32");
    const idx = gpu.upload([2, -1, 3, 0], [4], "i32");
    assert.deepEqual(Array.from(await gpu.read(gpu.gatherRows(table, idx))), [5, 6, 0, 0, 0, 0, 1, 2]);
    const src = gpu.upload([1, 1, 2, 2, 3, 3, 4, 4], [4, 2], "f32");
    assert.deepEqual(Array.from(await gpu.read(gpu.scatterAddRows(src, idx, 3))), [4, 4, 0, 0, 1, 1]);
    const x = gpu.upload([10, 20, 30], [1, 3], "f32");
    const li = gpu.upload([5, 1, -2], [1, 3], "i32");
    assert.deepEqual(Array.from(await gpu.read(gpu.gatherLast(x, li))), [0, 20, 0]);
    assert.deepEqual(Array.from(await gpu.read(gpu.scatterAddLast(x, li, 3))), [0, 20, 0]);
    const ct = cpu.upload([1, 2, 3, 4, 5, 6], [3, 2], "f32");
    const ci = cpu.upload([2, -1, 3, 0], [4], "i32");
    assert.throws(() => cpu.gatherRows(ct, ci), RangeError);
  });

  test("errors name the op and the shapes; indices must be i32", () => {
    const table = gpu.upload(new Float32Array(6), [3, 2], "f32");
    const fIdx = gpu.upload([0, 1], [2], "f32");
    const isErr = (cls: typeof ShapeError | typeof DTypeError, op: string, ...shapes: string[]) => (e: Error) =>
      e instanceof cls && e.message.includes(op) && shapes.every((s) => e.message.includes(s));
    assert.throws(() => gpu.gatherRows(table, fIdx), isErr(DTypeError, "gatherRows", "[2]"));
    assert.throws(() => gpu.scatterAddRows(table, fIdx, 3), isErr(DTypeError, "scatterAddRows"));
    assert.throws(() => gpu.gatherLast(table, fIdx), isErr(DTypeError, "gatherLast"));
    assert.throws(() => gpu.scatterAddLast(fIdx, fIdx, 3), isErr(DTypeError, "scatterAddLast"));

    const idx3 = gpu.upload([0, 1, 2], [3], "i32");
    const idx22 = gpu.upload([0, 1, 0, 1], [2, 2], "i32");
    assert.throws(() => gpu.scatterAddRows(table, idx22, 4), isErr(ShapeError, "scatterAddRows", "[3, 2]", "[2, 2]"));
    assert.throws(() => gpu.gatherLast(table, idx22), isErr(ShapeError, "gatherLast", "[3, 2]", "[2, 2]"));
    assert.throws(() => gpu.scatterAddLast(table, idx22, 5), isErr(ShapeError, "scatterAddLast", "[3, 2]", "[2, 2]"));
    assert.throws(() => gpu.gatherRows(gpu.reshape(table, [6]), idx3), isErr(ShapeError, "gatherRows", "[6]"));
    assert.throws(() => gpu.topk(table, 3), isErr(ShapeError, "topk", "[3, 2]"));
    assert.throws(() => gpu.topk(table, 0), isErr(ShapeError, "topk"));
  });
});
