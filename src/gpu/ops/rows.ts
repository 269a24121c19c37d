// Row ops over the last axis on the GPU: softmax, log-softmax, fused
// cross-entropy, RMSNorm, and their backward rules (kernels/softmax.wgsl,
// kernels/cross_entropy.wgsl, kernels/rmsnorm.wgsl).
//
// Two kernel variants, chosen per device context (see getRowKernelVariant):
//   "workgroup"  each row is one workgroup whose invocations share the row and
//                combine partial sums in a tree through workgroup memory. The
//                workgroup size follows the row length (32 … 256 invocations), so
//                short rows do not pay for barriers over idle invocations. The
//                right shape for a real GPU.
//   "thread"     each row is one invocation that walks the whole row: no workgroup
//                memory, no barriers. On software adapters (SwiftShader) a barrier
//                costs far more than the loop, and rows here are short (V ≈ 100,
//                D ≤ 256), so this is several times faster there.
// Both produce the same results up to float32 summation order.

import { ShapeError, checkDType, fmtShape } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";
import { elementGrid, sameShape } from "./elementwise.js";

export type RowKernelVariant = "workgroup" | "thread";
export const ROW_KERNEL_VARIANTS: readonly RowKernelVariant[] = ["workgroup", "thread"];

/** rows (or columns) per workgroup of the "thread" kernels (ROWS_PER_WG in the WGSL) */
export const ROWS_PER_THREAD_GROUP = 32;

/** Whether the context's adapter is a software one (SwiftShader, llvmpipe, ...), as src/gpu/device.ts decides. */
export function isSoftwareAdapter(ctx: GpuContext): boolean {
  // GPUDevice.adapterInfo is recent; older implementations lack it (then: hardware).
  const info = (ctx.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const text = info ? `${info.vendor} ${info.architecture} ${info.device} ${info.description}` : "";
  return /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(text);
}

/** The row-kernel variant that suits an adapter: "thread" on software adapters, else "workgroup". */
export function chooseRowKernel(report: { software: boolean }): RowKernelVariant {
  return report.software ? "thread" : "workgroup";
}

// Kept per device context here (as matmul.ts does for its kernels), so this file
// owns everything about row kernels.
const rowVariants = new WeakMap<GpuContext, RowKernelVariant>();

/** Force a variant for every later row op on this context (benchmarks, tests). */
export function setRowKernelVariant(ctx: GpuContext, variant: RowKernelVariant): void {
  if (!ROW_KERNEL_VARIANTS.includes(variant)) {
    throw new Error(`setRowKernelVariant: unknown variant ${String(variant)} (expected ${ROW_KERNEL_VARIANTS.join(", ")})`);
  }
  rowVariants.set(ctx, variant);
}

/** The variant row ops use on this context: set explicitly, or picked from the adapter. */
export function getRowKernelVariant(ctx: GpuContext): RowKernelVariant {
  let v = rowVariants.get(ctx);
  if (!v) {
    v = chooseRowKernel({ software: isSoftwareAdapter(ctx) });
    rowVariants.set(ctx, v);
  }
  return v;
}

/**
 * Entry point, pipeline constants and workgroup grid of a row kernel over `rows`
 * rows of length n: `entry` with WG = rowWorkgroupSize(n) and one workgroup per row,
 * or `${entry}_thread` with one invocation per row.
 */
function rowLaunch(
  ctx: GpuContext, entry: string, rows: number, n: number,
): { entry: string; constants?: Record<string, number>; workgroups: [number, number] } {
  if (getRowKernelVariant(ctx) === "thread") {
    return { entry: `${entry}_thread`, workgroups: ctx.grid(Math.ceil(rows / ROWS_PER_THREAD_GROUP)) };
  }
  return { entry, constants: { WG: rowWorkgroupSize(n) }, workgroups: ctx.grid(rows) };
}

/** rows and row length of a tensor seen as [..., n] */
function rowsOf(op: string, x: GpuTensor): { rows: number; n: number } {
  if (x.shape.length < 1) throw new ShapeError(`${op}: needs rank ≥ 1, got shape ${fmtShape(x.shape)}`);
  const n = x.shape[x.shape.length - 1]!;
  if (n === 0) throw new ShapeError(`${op}: the last axis of shape ${fmtShape(x.shape)} is empty`);
  return { rows: x.size / n, n };
}

/** invocations per row: the smallest power of two ≥ n, between 32 and 256 */
export function rowWorkgroupSize(n: number): number {
  let wg = 32;
  while (wg < n && wg < 256) wg *= 2;
  return wg;
}

function expectShape(op: string, what: string, got: GpuTensor, want: readonly number[], ref: string): void {
  if (!sameShape(got.shape, want)) throw new ShapeError(`${op}: ${what} has shape ${fmtShape(got.shape)} but ${ref}`);
}

// ---- softmax ------------------------------------------------------------------------

function softmaxForward(ctx: GpuContext, op: string, entry: string, x: GpuTensor): GpuTensor {
  checkDType(op, x, "f32");
  const { rows, n } = rowsOf(op, x);
  const out = ctx.empty(x.shape, "f32");
  ctx.dispatch({
    kernel: "softmax",
    ...rowLaunch(ctx, entry, rows, n),
    buffers: [x, out],
    uniforms: [rows, n],
    flops: 5 * x.size,
  });
  return out;
}

export function softmax(ctx: GpuContext, x: GpuTensor): GpuTensor {
  return softmaxForward(ctx, "softmax", "softmax", x);
}

export function logSoftmax(ctx: GpuContext, x: GpuTensor): GpuTensor {
  return softmaxForward(ctx, "logSoftmax", "log_softmax", x);
}

function softmaxBackwardImpl(ctx: GpuContext, op: string, entry: string, y: GpuTensor, dy: GpuTensor): GpuTensor {
  checkDType(op, y, "f32", "y");
  checkDType(op, dy, "f32", "dy");
  expectShape(op, "dy", dy, y.shape, `y has shape ${fmtShape(y.shape)}`);
  const { rows, n } = rowsOf(op, y);
  const dx = ctx.empty(y.shape, "f32");
  ctx.dispatch({
    kernel: "softmax",
    ...rowLaunch(ctx, entry, rows, n),
    buffers: [y, dy, dx],
    uniforms: [rows, n],
    flops: 4 * y.size,
  });
  return dx;
}

/** dx = y ⊙ (dy − Σ dy⊙y), y = softmax(x) */
export function softmaxBackward(ctx: GpuContext, y: GpuTensor, dy: GpuTensor): GpuTensor {
  return softmaxBackwardImpl(ctx, "softmaxBackward", "softmax_backward", y, dy);
}

/** dx = dy − exp(y)·Σdy, y = logSoftmax(x) */
export function logSoftmaxBackward(ctx: GpuContext, y: GpuTensor, dy: GpuTensor): GpuTensor {
  return softmaxBackwardImpl(ctx, "logSoftmaxBackward", "log_softmax_backward", y, dy);
}

// ---- cross-entropy ---------------------------------------------------------------------

function ceCheck(op: string, logits: GpuTensor, targets: GpuTensor, mask: GpuTensor | null) {
  checkDType(op, logits, "f32", "logits");
  checkDType(op, targets, "i32", "targets");
  if (mask) checkDType(op, mask, "f32", "mask");
  const { rows, n: V } = rowsOf(op, logits);
  const rowShape = logits.shape.slice(0, -1);
  if (!sameShape(targets.shape, rowShape)) {
    throw new ShapeError(`${op}: logits ${fmtShape(logits.shape)} and targets ${fmtShape(targets.shape)} disagree (targets must be ${fmtShape(rowShape)})`);
  }
  if (mask && !sameShape(mask.shape, rowShape)) {
    throw new ShapeError(`${op}: logits ${fmtShape(logits.shape)} and mask ${fmtShape(mask.shape)} disagree (mask must be ${fmtShape(rowShape)})`);
  }
  return { rows, V, rowShape };
}

/**
 * loss[r] = mask[r]·(lse[r] − logits[r, t_r]); lse is kept for the backward pass.
 * One dispatch. Targets are not range-checked (that would need a readback): a
 * target outside 0..V−1 gives that row a NaN loss.
 */
export function crossEntropy(
  ctx: GpuContext, logits: GpuTensor, targets: GpuTensor, mask: GpuTensor | null,
): { loss: GpuTensor; lse: GpuTensor } {
  const op = "crossEntropy";
  const { rows, V, rowShape } = ceCheck(op, logits, targets, mask);
  const loss = ctx.empty(rowShape, "f32");
  const lse = ctx.empty(rowShape, "f32");
  ctx.dispatch({
    kernel: "cross_entropy",
    ...rowLaunch(ctx, "cross_entropy", rows, V),
    // without a mask, the binding holds logits (its value unused): the layout wants a buffer there
    buffers: [logits, targets, mask ?? logits, loss, lse],
    uniforms: [rows, V, mask ? 1 : 0, { f32: NaN }],
    flops: 5 * logits.size,
  });
  return { loss, lse };
}

/** dlogits[r, v] = dloss[r]·mask[r]·(softmax(logits)[r, v] − [v = t_r]); one elementwise dispatch */
export function crossEntropyBackward(
  ctx: GpuContext, logits: GpuTensor, targets: GpuTensor, mask: GpuTensor | null, lse: GpuTensor, dloss: GpuTensor,
): GpuTensor {
  const op = "crossEntropyBackward";
  const { V, rowShape } = ceCheck(op, logits, targets, mask);
  checkDType(op, lse, "f32", "lse");
  checkDType(op, dloss, "f32", "dloss");
  const ref = `logits have shape ${fmtShape(logits.shape)}`;
  expectShape(op, "lse", lse, rowShape, ref);
  expectShape(op, "dloss", dloss, rowShape, ref);
  const dlogits = ctx.empty(logits.shape, "f32");
  ctx.dispatch({
    kernel: "cross_entropy",
    entry: "cross_entropy_backward",
    buffers: [logits, targets, mask ?? logits, lse, dloss, dlogits],
    uniforms: [logits.size, V, mask ? 1 : 0, { f32: NaN }],
    workgroups: elementGrid(ctx, logits.size),
    flops: 4 * logits.size,
  });
  return dlogits;
}

// ---- RMSNorm ------------------------------------------------------------------------

/** y = x·rstd·w with rstd = 1/sqrt(mean(x²) + eps) per row; one dispatch */
export function rmsnorm(ctx: GpuContext, x: GpuTensor, w: GpuTensor, eps: number): { y: GpuTensor; rstd: GpuTensor } {
  const op = "rmsnorm";
  checkDType(op, x, "f32", "x");
  checkDType(op, w, "f32", "w");
  const { rows, n: D } = rowsOf(op, x);
  expectShape(op, "w", w, [D], `x has shape ${fmtShape(x.shape)} (w must be [${D}])`);
  const y = ctx.empty(x.shape, "f32");
  const rstd = ctx.empty(x.shape.slice(0, -1), "f32");
  ctx.dispatch({
    kernel: "rmsnorm",
    ...rowLaunch(ctx, "rmsnorm", rows, D),
    buffers: [x, w, y, rstd],
    uniforms: [rows, D, { f32: eps }],
    flops: 4 * x.size,
  });
  return { y, rstd };
}

/** dx per row and dw per column: two dispatches, no float atomics */
export function rmsnormBackward(
  ctx: GpuContext, x: GpuTensor, w: GpuTensor, rstd: GpuTensor, dy: GpuTensor,
): { dx: GpuTensor; dw: GpuTensor } {
  const op = "rmsnormBackward";
  checkDType(op, x, "f32", "x");
  checkDType(op, w, "f32", "w");
  checkDType(op, rstd, "f32", "rstd");
  checkDType(op, dy, "f32", "dy");
  const { rows, n: D } = rowsOf(op, x);
  const ref = `x has shape ${fmtShape(x.shape)}`;
  expectShape(op, "w", w, [D], ref);
  expectShape(op, "rstd", rstd, x.shape.slice(0, -1), ref);
  expectShape(op, "dy", dy, x.shape, ref);
  const dx = ctx.empty(x.shape, "f32");
  const dw = ctx.empty([D], "f32");
  ctx.dispatch({
    kernel: "rmsnorm",
    ...rowLaunch(ctx, "rmsnorm_backward_dx", rows, D),
    buffers: [x, w, rstd, dy, dx],
    uniforms: [rows, D],
    flops: 6 * x.size,
  });
  const thread = getRowKernelVariant(ctx) === "thread";
  ctx.dispatch({
    kernel: "rmsnorm",
    // thread: one invocation per column; workgroup: 32 columns per workgroup (COLS in the kernel)
    entry: thread ? "rmsnorm_backward_dw_thread" : "rmsnorm_backward_dw",
    buffers: [x, rstd, dy, dw],
    uniforms: [rows, D],
    workgroups: thread ? ctx.grid(Math.ceil(D / ROWS_PER_THREAD_GROUP)) : [Math.ceil(D / 32)],
    flops: 3 * x.size,
  });
  return { dx, dw };
}
