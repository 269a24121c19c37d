// Layout ops on the GPU: permute, slice, concat and writeSlice. All four are the
// same strided copy (kernels/layout.wgsl) with different strides and offsets;
// when a copy turns out to be one contiguous block it becomes a plain buffer copy
// instead (ctx.copy), which needs no kernel at all.

import { DTypeError, ShapeError, type Shape, fmtShape, normAxis, stridesOf } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";
import { MAX_RANK, axes8, elementGrid } from "./elementwise.js";
import { checkWriteSlice, coalesce } from "../../tensor/strides.js";

/**
 * dst[dstBase + Σ c·dstStrides] = src[srcBase + Σ c·srcStrides] for every
 * coordinate c of `shape` (offsets and strides in elements).
 */
function stridedCopy(
  ctx: GpuContext, shape: Shape,
  src: GpuTensor, srcBase: number, srcStrides: readonly number[],
  dst: GpuTensor, dstBase: number, dstStrides: readonly number[],
): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const c = coalesce(shape, [srcStrides, dstStrides]);
  const [ss, ds] = c.strides as [number[], number[]];
  if (c.shape.length === 1 && ss[0]! <= 1 && ds[0]! <= 1) {
    // one contiguous run (stride 0 only appears for a single element)
    ctx.copy(src, srcBase * 4, dst, dstBase * 4, n * 4);
    return;
  }
  ctx.dispatch({
    kernel: "layout",
    entry: "strided_copy",
    buffers: [src, dst],
    uniforms: [n, c.shape.length, srcBase, dstBase, ...axes8(c.shape), ...axes8(ss), ...axes8(ds)],
    workgroups: elementGrid(ctx, n),
  });
}

/** a contiguous copy with axes reordered: out.shape[i] = x.shape[perm[i]] */
export function permute(ctx: GpuContext, x: GpuTensor, perm: readonly number[]): GpuTensor {
  const r = x.shape.length;
  const seen = new Array<boolean>(r).fill(false);
  const ok = perm.length === r && perm.every((p) => Number.isInteger(p) && p >= 0 && p < r && !seen[p] && (seen[p] = true));
  if (!ok) throw new ShapeError(`permute: [${perm.join(", ")}] is not a permutation of the axes of shape ${fmtShape(x.shape)}`);
  if (r > MAX_RANK) throw new ShapeError(`permute: shape ${fmtShape(x.shape)} has rank ${r} > ${MAX_RANK}`);
  const outShape = perm.map((p) => x.shape[p]!);
  const out = ctx.empty(outShape, x.dtype);
  const inStrides = stridesOf(x.shape);
  // walk the output in order; read x with its strides in permuted order
  stridedCopy(ctx, outShape, x, 0, perm.map((p) => inStrides[p]!), out, 0, stridesOf(outShape));
  return out;
}

/** elements start..end-1 along axis */
export function slice(ctx: GpuContext, x: GpuTensor, axis: number, start: number, end: number): GpuTensor {
  const ax = normAxis("slice", axis, x.shape.length);
  const n = x.shape[ax]!;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
    throw new ShapeError(`slice: range ${start}..${end} is invalid for axis ${ax} of shape ${fmtShape(x.shape)} (need 0 ≤ start ≤ end ≤ ${n})`);
  }
  const outShape = x.shape.map((d, i) => (i === ax ? end - start : d));
  const out = ctx.empty(outShape, x.dtype);
  const xs = stridesOf(x.shape);
  stridedCopy(ctx, outShape, x, start * xs[ax]!, xs, out, 0, stridesOf(outShape));
  return out;
}

/** one strided copy (or buffer copy) per input */
export function concat(ctx: GpuContext, xs: readonly GpuTensor[], axis: number): GpuTensor {
  if (xs.length === 0) throw new ShapeError("concat: needs at least one tensor");
  const first = xs[0]!;
  const ax = normAxis("concat", axis, first.shape.length);
  let total = 0;
  for (const t of xs) {
    if (t.dtype !== first.dtype) {
      throw new DTypeError(`concat: dtypes differ (${first.dtype} ${fmtShape(first.shape)} and ${t.dtype} ${fmtShape(t.shape)})`);
    }
    const ok = t.shape.length === first.shape.length && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!ok) throw new ShapeError(`concat: shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ on an axis other than ${ax}`);
    total += t.shape[ax]!;
  }
  const outShape = first.shape.map((d, i) => (i === ax ? total : d));
  const out = ctx.empty(outShape, first.dtype);
  const os = stridesOf(outShape);
  let at = 0;
  for (const t of xs) {
    stridedCopy(ctx, t.shape, t, 0, stridesOf(t.shape), out, at * os[ax]!, os);
    at += t.shape[ax]!;
  }
  return out;
}

/** in place: dst[..., start:start+len, ...] = src along axis */
export function writeSlice(ctx: GpuContext, dst: GpuTensor, src: GpuTensor, axis: number, start: number): void {
  const { ax } = checkWriteSlice(dst, src, axis, start);
  // WebGPU cannot read and write one buffer in the same copy or dispatch
  if (src.storage === dst.storage) {
    throw new ShapeError(`writeSlice: src ${fmtShape(src.shape)} and dst ${fmtShape(dst.shape)} share storage (one is a reshape of the other)`);
  }
  const ds = stridesOf(dst.shape);
  stridedCopy(ctx, src.shape, src, 0, stridesOf(src.shape), dst, start * ds[ax]!, ds);
}
