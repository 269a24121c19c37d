// WebGPU row ops against the CPU twin: softmax, log-softmax, fused cross-entropy
// and RMSNorm, forward and backward, on awkward row lengths (1, 3, 17, 65, 300 —
// below, at and above the 256 invocations a row gets) with the pool poisoned.
// Every op runs under both kernel variants (src/gpu/ops/rows.ts): "workgroup" (one
// workgroup per row, tree reductions: real GPUs) and "thread" (one invocation per
// row, no barriers: software adapters), whichever this adapter would pick.
//
// Tolerances (per element, |gpu − cpu| ≤ atol + rtol·|cpu|): atol 1e-5, rtol 1e-4
// for every op here. The GPU sums in float32 in tree order with exp() accurate to
// a few ULP; the CPU sums in float64.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DTypeError, FreedTensorError, type RawTensor, type Shape, ShapeError, shapeSize } from "../../src/tensor/backend.js";
import {
  ROW_KERNEL_VARIANTS, type RowKernelVariant, chooseRowKernel, getRowKernelVariant, isSoftwareAdapter, rowWorkgroupSize,
  setRowKernelVariant,
} from "../../src/gpu/ops/rows.js";
import type { Tolerance } from "./helpers/assert-close.js";
import {
  type Backends, checkGpuErrors, countDispatches, expectClose, freePairs, openBackends, poison, upload, withGridLimit,
} from "./helpers/gpu.js";
import { f32, ints, mulberry32, normal, uniform } from "./helpers/random.js";

const TOL: Tolerance = { atol: 1e-5, rtol: 1e-4 };

let b: Backends;
const rng = mulberry32(23);
const randn = (shape: Shape, std = 1) => f32(normal(rng, shapeSize(shape), std));

let adapterDefault: RowKernelVariant;
before(async () => {
  b = await openBackends();
  adapterDefault = getRowKernelVariant(b.gpu.ctx);
});
after(() => b?.close());

/** run the ops of one test with the given kernel variant, then restore the adapter's choice */
async function withVariant(variant: RowKernelVariant, fn: () => Promise<void>): Promise<void> {
  setRowKernelVariant(b.gpu.ctx, variant);
  try {
    await fn();
  } finally {
    setRowKernelVariant(b.gpu.ctx, adapterDefault);
  }
}

describe("row kernel variants", () => {
  test("software adapters get the thread variant, others the workgroup one", () => {
    assert.equal(chooseRowKernel({ software: true }), "thread");
    assert.equal(chooseRowKernel({ software: false }), "workgroup");
    assert.equal(adapterDefault, isSoftwareAdapter(b.gpu.ctx) ? "thread" : "workgroup");
  });

  test("setRowKernelVariant switches and rejects unknown names", () => {
    for (const v of ROW_KERNEL_VARIANTS) {
      setRowKernelVariant(b.gpu.ctx, v);
      assert.equal(getRowKernelVariant(b.gpu.ctx), v);
    }
    assert.throws(() => setRowKernelVariant(b.gpu.ctx, "warp" as RowKernelVariant), /setRowKernelVariant: unknown variant warp/);
    setRowKernelVariant(b.gpu.ctx, adapterDefault);
  });
});

/** [...rows, n] shapes covering the interesting row lengths */
const SHAPES: Shape[] = [[1, 1], [3], [4, 17], [2, 3, 65], [5, 300], [33, 3]];

describe("gpu softmax", () => {
  for (const log of [false, true]) for (const variant of ROW_KERNEL_VARIANTS) {
    const name = log ? "logSoftmax" : "softmax";
    test(`${name}: forward and backward (${variant} kernels)`, () => withVariant(variant, async () => {
      for (const shape of SHAPES) {
        const x = upload(b, randn(shape, 3), shape);
        const dy = upload(b, randn(shape), shape);
        poison(b);
        let gy: RawTensor | null = null;
        assert.equal(countDispatches(b, () => { gy = log ? b.gpu.logSoftmax(x.gpu) : b.gpu.softmax(x.gpu); }), 1);
        const cy = log ? b.cpu.logSoftmax(x.cpu) : b.cpu.softmax(x.cpu);
        await expectClose(b, gy!, cy, TOL, `${name} ${JSON.stringify(shape)} (${variant})`);
        // backward from the CPU's y, so only the backward kernel is compared
        const y = upload(b, await b.cpu.read(cy), shape);
        poison(b);
        let gdx: RawTensor | null = null;
        assert.equal(countDispatches(b, () => {
          gdx = log ? b.gpu.logSoftmaxBackward(y.gpu, dy.gpu) : b.gpu.softmaxBackward(y.gpu, dy.gpu);
        }), 1);
        const cdx = log ? b.cpu.logSoftmaxBackward(y.cpu, dy.cpu) : b.cpu.softmaxBackward(y.cpu, dy.cpu);
        await expectClose(b, gdx!, cdx, TOL, `${name}Backward ${JSON.stringify(shape)} (${variant})`);
        b.gpu.free(gy!);
        b.gpu.free(gdx!);
        b.cpu.free(cy);
        b.cpu.free(cdx);
        freePairs(b, x, dy, y);
      }
      await checkGpuErrors(b);
    }));
  }

  for (const variant of ROW_KERNEL_VARIANTS) test(`large logits do not overflow; rows sum to 1 (${variant})`, () => withVariant(variant, async () => {
    const shape = [3, 17];
    const data = randn(shape).map((v, i) => v * 50 + (i % 17 === 0 ? 80 : 0));
    const x = upload(b, data, shape);
    const g = b.gpu.softmax(x.gpu);
    const c = b.cpu.softmax(x.cpu);
    await expectClose(b, g, c, TOL, "softmax, |x| up to ~200");
    const y = await b.gpu.read(g);
    for (let r = 0; r < 3; r++) {
      let s = 0;
      for (let i = 0; i < 17; i++) s += y[r * 17 + i]!;
      assert.ok(Math.abs(s - 1) < 1e-5, `row ${r} sums to ${s}`);
    }
    b.gpu.free(g);
    b.cpu.free(c);
    freePairs(b, x);
  }));

  // workgroup: 13 rows, one workgroup each, limit 4 → a 4 × 4 grid, three workgroups idle;
  // thread: 70 rows (and 70 columns for dw), 32 per workgroup, limit 2 → a 2 × 2 grid, one idle
  const FOLDED: Record<RowKernelVariant, { limit: number; R: number; n: number }> = {
    workgroup: { limit: 4, R: 13, n: 5 },
    thread: { limit: 2, R: 70, n: 70 },
  };
  for (const variant of ROW_KERNEL_VARIANTS) test(`rows folded into a 2-D grid (${variant}: device limit lowered to ${FOLDED[variant].limit} workgroups per dimension)`, () => withVariant(variant, async () => {
    const { limit, R, n } = FOLDED[variant];
    await withGridLimit(b, limit, async () => {
      const shape = [R, n];
      const x = upload(b, randn(shape), shape);
      const dy = upload(b, randn(shape), shape);
      const t = upload(b, ints(rng, R, n), [R], "i32");
      const g = b.gpu.logSoftmax(x.gpu);
      const c = b.cpu.logSoftmax(x.cpu);
      await expectClose(b, g, c, TOL, "logSoftmax, folded");
      const gs = b.gpu.softmax(x.gpu);
      const cs = b.cpu.softmax(x.cpu);
      await expectClose(b, gs, cs, TOL, "softmax, folded");
      const gsb = b.gpu.softmaxBackward(gs, dy.gpu);
      const csb = b.cpu.softmaxBackward(cs, dy.cpu);
      await expectClose(b, gsb, csb, TOL, "softmaxBackward, folded");
      const gce = b.gpu.crossEntropy(x.gpu, t.gpu, null);
      const cce = b.cpu.crossEntropy(x.cpu, t.cpu, null);
      await expectClose(b, gce.loss, cce.loss, TOL, "crossEntropy, folded");
      const w = upload(b, f32(uniform(rng, n, 0.5, 1.5)), [n]);
      const gn = b.gpu.rmsnorm(x.gpu, w.gpu, 1e-5);
      const cn = b.cpu.rmsnorm(x.cpu, w.cpu, 1e-5);
      await expectClose(b, gn.y, cn.y, TOL, "rmsnorm, folded");
      const gnb = b.gpu.rmsnormBackward(x.gpu, w.gpu, gn.rstd, dy.gpu);
      const cnb = b.cpu.rmsnormBackward(x.cpu, w.cpu, cn.rstd, dy.cpu);
      await expectClose(b, gnb.dx, cnb.dx, TOL, "rmsnormBackward dx, folded");
      await expectClose(b, gnb.dw, cnb.dw, TOL, "rmsnormBackward dw, folded");
      for (const r of [g, gs, gsb, gce.loss, gce.lse, gn.y, gn.rstd, gnb.dx, gnb.dw]) b.gpu.free(r);
      for (const r of [c, cs, csb, cce.loss, cce.lse, cn.y, cn.rstd, cnb.dx, cnb.dw]) b.cpu.free(r);
      freePairs(b, x, dy, t, w);
    });
    await checkGpuErrors(b);
  }));

  test("errors", () => {
    const y = b.gpu.fill([3, 4], 0.25, "f32");
    const dy = b.gpu.fill([3, 5], 1, "f32");
    assert.throws(() => b.gpu.softmaxBackward(y, dy), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /^softmaxBackward: .*\[3, 5\].*\[3, 4\]/);
      return true;
    });
    assert.throws(() => b.gpu.softmax(b.gpu.fill([2, 0], 0, "f32")), ShapeError);
    assert.throws(() => b.gpu.logSoftmax(b.gpu.fill([2, 2], 0, "i32")), DTypeError);
    b.gpu.free(dy);
    assert.throws(() => b.gpu.logSoftmaxBackward(y, dy), FreedTensorError);
    b.gpu.free(y);
  });

  test("row workgroup size follows the row length", () => {
    assert.deepEqual([1, 3, 32, 33, 65, 128, 129, 300, 5000].map(rowWorkgroupSize), [32, 32, 32, 64, 128, 128, 256, 256, 256]);
  });
});

describe("gpu cross-entropy", () => {
  // [row shape, V]
  const CASES: [Shape, number][] = [[[1], 1], [[3], 17], [[17], 65], [[2, 3], 40], [[4], 300]];
  for (const masked of [false, true]) for (const variant of ROW_KERNEL_VARIANTS) {
    test(`forward and backward, ${masked ? "with" : "without"} a mask (${variant} kernels)`, () => withVariant(variant, async () => {
      for (const [rowShape, V] of CASES) {
        const rows = shapeSize(rowShape);
        const logits = upload(b, randn([...rowShape, V], 2), [...rowShape, V]);
        const targets = upload(b, ints(rng, rows, V), rowShape, "i32");
        const mask = masked ? upload(b, f32(uniform(rng, rows, 0, 1)).map((v, i) => (i % 3 === 1 ? 0 : v)), rowShape) : null;
        const dloss = upload(b, randn(rowShape), rowShape);
        const label = `${JSON.stringify(rowShape)} V=${V}${masked ? " masked" : ""} (${variant})`;
        poison(b);
        let g: { loss: RawTensor; lse: RawTensor } | null = null;
        assert.equal(countDispatches(b, () => { g = b.gpu.crossEntropy(logits.gpu, targets.gpu, mask?.gpu ?? null); }), 1);
        const c = b.cpu.crossEntropy(logits.cpu, targets.cpu, mask?.cpu ?? null);
        await expectClose(b, g!.loss, c.loss, TOL, `crossEntropy loss ${label}`);
        await expectClose(b, g!.lse, c.lse, TOL, `crossEntropy lse ${label}`);
        poison(b);
        let gd: RawTensor | null = null;
        assert.equal(countDispatches(b, () => {
          gd = b.gpu.crossEntropyBackward(logits.gpu, targets.gpu, mask?.gpu ?? null, g!.lse, dloss.gpu);
        }), 1);
        const cd = b.cpu.crossEntropyBackward(logits.cpu, targets.cpu, mask?.cpu ?? null, c.lse, dloss.cpu);
        await expectClose(b, gd!, cd, TOL, `crossEntropyBackward ${label}`);
        for (const t of [g!.loss, g!.lse, gd!]) b.gpu.free(t);
        for (const t of [c.loss, c.lse, cd]) b.cpu.free(t);
        freePairs(b, logits, targets, dloss, ...(mask ? [mask] : []));
      }
      await checkGpuErrors(b);
    }));
  }

  for (const variant of ROW_KERNEL_VARIANTS) test(`a target out of range gives NaN for that row only, the CPU throws instead (${variant})`, () => withVariant(variant, async () => {
    const logits = b.gpu.fill([3, 5], 0, "f32");
    const targets = b.gpu.upload([1, 5, -1], [3], "i32");
    const { loss, lse } = b.gpu.crossEntropy(logits, targets, null);
    const l = await b.gpu.read(loss);
    assert.ok(Math.abs(l[0]! - Math.log(5)) < 1e-6);
    assert.ok(Number.isNaN(l[1]!) && Number.isNaN(l[2]!));
    const dl = b.gpu.fill([3], 1, "f32");
    const d = await b.gpu.read(b.gpu.crossEntropyBackward(logits, targets, null, lse, dl));
    assert.ok(d.slice(0, 5).every((v) => Number.isFinite(v)));
    assert.ok(d.slice(5).every((v) => Number.isNaN(v)));
    assert.throws(() => b.cpu.crossEntropy(b.cpu.fill([3, 5], 0, "f32"), b.cpu.upload([1, 5, -1], [3], "i32"), null), RangeError);
    await checkGpuErrors(b);
  }));

  test("errors", () => {
    const logits = b.gpu.fill([4, 7], 0, "f32");
    const targets = b.gpu.fill([3], 0, "i32");
    assert.throws(() => b.gpu.crossEntropy(logits, targets, null), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /^crossEntropy: logits \[4, 7\] and targets \[3\]/);
      return true;
    });
    assert.throws(() => b.gpu.crossEntropy(logits, b.gpu.fill([4], 0, "f32"), null), DTypeError);
    assert.throws(() => b.gpu.crossEntropy(logits, b.gpu.fill([4], 0, "i32"), b.gpu.fill([5], 1, "f32")), ShapeError);
    const t4 = b.gpu.fill([4], 0, "i32");
    const lse = b.gpu.fill([4], 0, "f32");
    assert.throws(() => b.gpu.crossEntropyBackward(logits, t4, null, lse, b.gpu.fill([4, 1], 1, "f32")), ShapeError);
  });
});

describe("gpu rmsnorm", () => {
  const RSHAPES: Shape[] = [[1, 1], [3], [4, 17], [2, 5, 65], [70, 33], [3, 300]];
  for (const variant of ROW_KERNEL_VARIANTS) test(`forward and backward (${variant} kernels)`, () => withVariant(variant, async () => {
    for (const shape of RSHAPES) {
      const D = shape[shape.length - 1]!;
      const x = upload(b, randn(shape), shape);
      const w = upload(b, f32(uniform(rng, D, 0.5, 1.5)), [D]);
      const dy = upload(b, randn(shape), shape);
      const label = `${JSON.stringify(shape)} (${variant})`;
      poison(b);
      let g: { y: RawTensor; rstd: RawTensor } | null = null;
      assert.equal(countDispatches(b, () => { g = b.gpu.rmsnorm(x.gpu, w.gpu, 1e-5); }), 1);
      const c = b.cpu.rmsnorm(x.cpu, w.cpu, 1e-5);
      await expectClose(b, g!.y, c.y, TOL, `rmsnorm y ${label}`);
      await expectClose(b, g!.rstd, c.rstd, TOL, `rmsnorm rstd ${label}`);
      poison(b);
      let gb: { dx: RawTensor; dw: RawTensor } | null = null;
      assert.equal(countDispatches(b, () => { gb = b.gpu.rmsnormBackward(x.gpu, w.gpu, g!.rstd, dy.gpu); }), 2);
      const cb = b.cpu.rmsnormBackward(x.cpu, w.cpu, c.rstd, dy.cpu);
      await expectClose(b, gb!.dx, cb.dx, TOL, `rmsnormBackward dx ${label}`);
      await expectClose(b, gb!.dw, cb.dw, TOL, `rmsnormBackward dw ${label}`);
      for (const t of [g!.y, g!.rstd, gb!.dx, gb!.dw]) b.gpu.free(t);
      for (const t of [c.y, c.rstd, cb.dx, cb.dw]) b.cpu.free(t);
      freePairs(b, x, w, dy);
    }
    await checkGpuErrors(b);
  }));

  test("errors", () => {
    const x = b.gpu.fill([3, 8], 1, "f32");
    assert.throws(() => b.gpu.rmsnorm(x, b.gpu.fill([7], 1, "f32"), 1e-5), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /^rmsnorm: w has shape \[7\] but x has shape \[3, 8\]/);
      return true;
    });
    const w = b.gpu.fill([8], 1, "f32");
    assert.throws(() => b.gpu.rmsnormBackward(x, w, b.gpu.fill([3, 1], 1, "f32"), x), ShapeError);
    assert.throws(() => b.gpu.rmsnormBackward(x, w, b.gpu.fill([3], 1, "f32"), b.gpu.fill([3, 8], 1, "i32")), DTypeError);
  });
});
