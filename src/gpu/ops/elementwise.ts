// Elementwise ops on the GPU: fill, broadcasting binary ops, affine, unary ops and
// their derivatives (kernels/fill.wgsl, kernels/elementwise.wgsl).
//
// Also home to the small shape helpers the other op files share: axis
// coalescing, packing strides into uniforms, and the 1-D launch grid.

import {
  type BinaryOp, type DType, type Shape, type UnaryOp,
  BINARY_OPS, DTypeError, ShapeError, UNARY_OPS, broadcastShapes, checkDType, fmtShape,
} from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";
import { broadcastStrides, coalesce } from "../../tensor/strides.js";

/** the Backend contract allows rank ≤ 6 */
export const MAX_RANK = 6;
/** invocations per workgroup of the one-element-per-thread kernels */
export const ELEMENT_WG = 256;

/** Workgroup counts for n elements at `perGroup` per workgroup, folded into y past the device limit. */
export function elementGrid(ctx: GpuContext, n: number, perGroup = ELEMENT_WG): [number, number] {
  return ctx.grid(Math.ceil(n / perGroup));
}

/** Throws a ShapeError unless shape is a list of ≤ 6 non-negative integers. */
export function checkShapeArg(op: string, shape: Shape): void {
  if (!Array.isArray(shape)) throw new ShapeError(`${op}: shape must be an array of sizes`);
  if (shape.length > MAX_RANK) throw new ShapeError(`${op}: shape ${fmtShape(shape)} has rank ${shape.length} > ${MAX_RANK}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${op}: shape ${fmtShape(shape)} has an invalid size ${d}`);
  }
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}



/** Pad an axis list to the 8 slots of a WGSL `array<vec4<u32>, 2>` uniform field. */
export function axes8(values: readonly number[]): number[] {
  if (values.length > 8) throw new Error(`internal: ${values.length} axes do not fit 8 uniform slots`);
  return [...values, ...new Array<number>(8 - values.length).fill(0)];
}

// ---- fill ----------------------------------------------------------------------------

/** The 32-bit pattern of `value` as the dtype stores it. */
function bitsOf(value: number, dtype: DType): number {
  const view = new DataView(new ArrayBuffer(4));
  if (dtype === "i32") view.setInt32(0, value, true);
  else view.setFloat32(0, value, true);
  return view.getUint32(0, true);
}

export function fill(ctx: GpuContext, shape: Shape, value: number, dtype: DType): GpuTensor {
  if (dtype !== "f32" && dtype !== "i32") throw new DTypeError(`fill: unknown dtype ${String(dtype)}`);
  if (dtype === "i32" && !Number.isInteger(value)) throw new DTypeError(`fill: i32 fill value must be an integer, got ${value}`);
  checkShapeArg("fill", shape);
  const out = ctx.empty(shape, dtype); // throws DeviceLimitError before allocating when too big
  ctx.dispatch({
    kernel: "fill",
    buffers: [out],
    uniforms: [out.size, bitsOf(value, dtype)],
    workgroups: elementGrid(ctx, out.size),
  });
  return out;
}

// ---- binary -------------------------------------------------------------------------

export function binary(ctx: GpuContext, op: BinaryOp, a: GpuTensor, b: GpuTensor): GpuTensor {
  const opIndex = BINARY_OPS.indexOf(op);
  if (opIndex < 0) throw new Error(`binary: unknown op ${String(op)}`);
  checkDType(op, a, "f32", "a");
  checkDType(op, b, "f32", "b");
  const shape = broadcastShapes(op, a.shape, b.shape);
  checkShapeArg(op, shape);
  const out = ctx.empty(shape, "f32");
  const n = out.size;
  const common = { kernel: "elementwise", constants: { OP: opIndex }, buffers: [a, b, out], workgroups: elementGrid(ctx, n), flops: n };
  const c = coalesce(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const [sa, sb] = c.strides as [number[], number[]];
  if (c.shape.length === 1 && sa[0] === 1 && sb[0] === 1) {
    ctx.dispatch({ ...common, entry: "binary_same", uniforms: [n, 1, 0, 0, ...axes8([]), ...axes8([]), ...axes8([])] });
  } else {
    ctx.dispatch({
      ...common,
      entry: "binary_broadcast",
      uniforms: [n, c.shape.length, 0, 0, ...axes8(c.shape), ...axes8(sa), ...axes8(sb)],
    });
  }
  return out;
}

// ---- affine -------------------------------------------------------------------------

export function affine(ctx: GpuContext, x: GpuTensor, alpha: number, beta: number): GpuTensor {
  checkDType("affine", x, "f32");
  const out = ctx.empty(x.shape, "f32");
  ctx.dispatch({
    kernel: "elementwise",
    entry: "affine",
    buffers: [x, out],
    uniforms: [x.size, { f32: alpha }, { f32: beta }],
    workgroups: elementGrid(ctx, x.size),
    flops: 2 * x.size,
  });
  return out;
}

// ---- unary --------------------------------------------------------------------------

function unaryIndex(op: UnaryOp, name: string): number {
  const i = UNARY_OPS.indexOf(op);
  if (i < 0) throw new Error(`${name}: unknown op ${String(op)}`);
  return i;
}

export function unary(ctx: GpuContext, op: UnaryOp, x: GpuTensor): GpuTensor {
  const opIndex = unaryIndex(op, "unary");
  checkDType(op, x, "f32");
  const out = ctx.empty(x.shape, "f32");
  ctx.dispatch({
    kernel: "elementwise",
    entry: "unary",
    constants: { OP: opIndex },
    buffers: [x, out],
    uniforms: [x.size],
    workgroups: elementGrid(ctx, x.size),
    flops: x.size,
  });
  return out;
}

export function unaryBackward(ctx: GpuContext, op: UnaryOp, x: GpuTensor, dy: GpuTensor): GpuTensor {
  const opIndex = unaryIndex(op, "unaryBackward");
  const name = `unaryBackward(${op})`;
  checkDType(name, x, "f32", "x");
  checkDType(name, dy, "f32", "dy");
  if (!sameShape(x.shape, dy.shape)) {
    throw new ShapeError(`${name}: dy has shape ${fmtShape(dy.shape)} but x has shape ${fmtShape(x.shape)}`);
  }
  const out = ctx.empty(x.shape, "f32");
  ctx.dispatch({
    kernel: "elementwise",
    entry: "unary_backward",
    constants: { OP: opIndex },
    buffers: [x, dy, out],
    uniforms: [x.size],
    workgroups: elementGrid(ctx, x.size),
    flops: 2 * x.size,
  });
  return out;
}
