// WebGPU matmul against the CPU twin: every kernel variant (tiled, blocked, naive),
// every transpose combination, batch broadcasting, and shapes that are not
// multiples of any tile (1, 3, 17, 65, ...). Outputs come from a pool that was
// filled with NaN first, so an element a kernel forgets to write shows up.
//
// Tolerance: |gpu − cpu| ≤ 1e-5 + 1e-5·|cpu| per element at K ≤ 130 (inputs in
// [−1, 1]). The CPU accumulates in float64 and rounds once; the GPU accumulates in
// float32, in a different order per kernel.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import { WebGPUBackend } from "../../src/gpu/backend.js";
import { GpuContext } from "../../src/gpu/context.js";
import {
  MATMUL_VARIANTS, chooseMatmulKernel, getMatmulVariant, setMatmulVariant, vec4Aligned,
} from "../../src/gpu/ops/matmul.js";
import { type MatmulOptions, type Shape, DTypeError, ShapeError, shapeSize } from "../../src/tensor/backend.js";
import { createBackend } from "../../src/tensor/create.js";
import { assertClose } from "./helpers/assert-close.js";
import { poisonPool } from "./helpers/gpu.js";
import { f32, mulberry32, uniform } from "./helpers/random.js";

const TOL = { atol: 1e-5, rtol: 1e-5 };

let cpu: CpuBackend;
let gpu: WebGPUBackend;
const rng = mulberry32(7);

before(async () => {
  cpu = new CpuBackend();
  const be = await createBackend("webgpu");
  assert.ok(be instanceof WebGPUBackend);
  gpu = be;
});
after(() => {
  cpu?.destroy();
  gpu?.destroy();
});


/** the stored shape of an operand: [..., rows, cols], swapped when transposed */
function operand(batch: Shape, rows: number, cols: number, trans: boolean): number[] {
  return trans ? [...batch, cols, rows] : [...batch, rows, cols];
}

async function compare(aShape: Shape, bShape: Shape, opts: MatmulOptions, label: string): Promise<void> {
  const a = f32(uniform(rng, shapeSize(aShape)));
  const b = f32(uniform(rng, shapeSize(bShape)));
  const ca = cpu.upload(a, aShape, "f32");
  const cb = cpu.upload(b, bShape, "f32");
  const want = cpu.matmul(ca, cb, opts);
  const ga = gpu.upload(a, aShape, "f32");
  const gb = gpu.upload(b, bShape, "f32");
  poisonPool(gpu, want.size);
  const got = gpu.matmul(ga, gb, opts);
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  assertClose(await gpu.read(got), await cpu.read(want), TOL, label);
  for (const t of [ga, gb, got]) gpu.free(t);
  for (const t of [ca, cb, want]) cpu.free(t);
}

const TRANS: MatmulOptions[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];
const tag = (o: MatmulOptions) => `${o.transA ? "aᵀ" : "a"}·${o.transB ? "bᵀ" : "b"}`;

describe("gpu matmul", () => {
  for (const variant of MATMUL_VARIANTS) {
    test(`${variant}: awkward shapes, every transpose combination`, async () => {
      setMatmulVariant(gpu.ctx, variant);
      // [M, K, N]: 1s, primes, one more than a tile (65 > 64), several tiles (130);
      // then multiples of 4, which the blocked variant runs with its vec4 kernel
      const sizes: [number, number, number][] = [
        [1, 1, 1], [3, 17, 65], [65, 3, 17], [17, 65, 3], [67, 33, 130],
        [4, 4, 4], [8, 12, 20], [68, 36, 132],
      ];
      for (const [M, K, N] of sizes) {
        for (const o of TRANS) {
          await compare(operand([], M, K, !!o.transA), operand([], K, N, !!o.transB), o, `${variant} ${tag(o)} M=${M} K=${K} N=${N}`);
        }
      }
    });

    test(`${variant}: batches, broadcasting and K = 0`, async () => {
      setMatmulVariant(gpu.ctx, variant);
      for (const [M, K, N] of [[5, 7, 3], [4, 8, 12]] as const) {
        for (const o of TRANS) {
          const A = (batch: Shape) => operand(batch, M, K, !!o.transA);
          const B = (batch: Shape) => operand(batch, K, N, !!o.transB);
          const what = `${variant} ${tag(o)} M=${M} K=${K} N=${N}`;
          await compare(A([2, 3]), B([2, 3]), o, `${what} both batched`);
          await compare(A([2, 3]), B([]), o, `${what} b shared`);
          await compare(A([]), B([4]), o, `${what} a shared`);
        }
      }
      // an empty inner dimension gives zeros, which must be written over the poison
      await compare([2, 3, 0], [0, 5], {}, `${variant} K=0`);
    });
  }

  test("counts 2·batch·M·N·K flops and one dispatch", () => {
    setMatmulVariant(gpu.ctx, "blocked");
    const a = gpu.upload(new Float32Array(2 * 3 * 4), [2, 3, 4], "f32");
    const b = gpu.upload(new Float32Array(4 * 5), [4, 5], "f32");
    gpu.resetStats();
    const c = gpu.matmul(a, b);
    const s = gpu.stats();
    assert.equal(s.flops, 2 * 2 * 3 * 5 * 4);
    assert.equal(s.dispatches, 1);
    for (const t of [a, b, c]) gpu.free(t);
  });

  test("the blocked variant's vec4 kernel takes only aligned operands", () => {
    for (const o of TRANS) assert.ok(vec4Aligned(8, 20, 12, o), tag(o));
    assert.equal(vec4Aligned(8, 20, 13, {}), false); // K
    assert.equal(vec4Aligned(8, 21, 12, {}), false); // N of B [K, N]
    assert.equal(vec4Aligned(8, 21, 12, { transB: true }), true); // B [N, K] rows are K long
    assert.equal(vec4Aligned(9, 20, 12, {}), true); // A [M, K] rows are K long
    assert.equal(vec4Aligned(9, 20, 12, { transA: true }), false); // A [K, M]
  });

  test("picks its kernel from the adapter", () => {
    assert.equal(chooseMatmulKernel({ software: true }), "blocked");
    assert.equal(chooseMatmulKernel({ software: false }), "tiled");
    // a fresh context (no explicit choice) follows the adapter report
    const other = new GpuContext(gpu.ctx.device);
    assert.equal(getMatmulVariant(other), chooseMatmulKernel(gpu.handle.report));
    other.destroy();
    assert.throws(() => setMatmulVariant(gpu.ctx, "fast" as never), /unknown variant/);
  });

  test("errors name the op and both shapes", () => {
    const a = gpu.upload(new Float32Array(6), [2, 3], "f32");
    const b = gpu.upload(new Float32Array(8), [4, 2], "f32");
    assert.throws(() => gpu.matmul(a, b), (e: Error) => e instanceof ShapeError && /matmul/.test(e.message) && e.message.includes("[2, 3]") && e.message.includes("[4, 2]"));
    const a3 = gpu.upload(new Float32Array(12), [2, 2, 3], "f32");
    const b3 = gpu.upload(new Float32Array(18), [3, 3, 2], "f32");
    assert.throws(() => gpu.matmul(a3, b3), (e: Error) => e instanceof ShapeError && e.message.includes("[2, 2, 3]") && e.message.includes("[3, 3, 2]"));
    const ai = gpu.upload([1, 2, 3, 4, 5, 6], [3, 2], "i32");
    assert.throws(() => gpu.matmul(ai, a), (e: Error) => e instanceof DTypeError && /matmul/.test(e.message));
    for (const t of [a, b, a3, b3, ai]) gpu.free(t);
  });
});
