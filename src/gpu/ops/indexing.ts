// Indexing ops on the GPU: row gather/scatter (embedding lookup and its gradient),
// last-axis gather/scatter (MoE routing weights) and top-k.
// Kernels: kernels/indexing.wgsl, kernels/topk.wgsl.
//
// Out-of-range indices: a GPU kernel cannot throw, and checking on the CPU would
// need a readback in the middle of a step. So here a gather writes 0 for an index
// outside 0..size−1 and a scatter-add drops that element. The CPU twin (src/cpu)
// throws a RangeError instead: run a model on the CPU backend to find a bad index.

import type { Shape } from "../../tensor/backend.js";
import { checkDType, fmtShape, shapeSize, ShapeError } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";

const WORKGROUP = 64;

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** one thread per output element of `entry` in kernels/indexing.wgsl */
function dispatchIndexing(
  ctx: GpuContext, entry: string, src: GpuTensor, idx: GpuTensor, out: GpuTensor,
  n: number, width: number, limit: number, flops: number,
): void {
  ctx.dispatch({
    kernel: "indexing",
    entry,
    buffers: [src, idx, out],
    uniforms: [out.size, n, width, limit],
    workgroups: ctx.grid(Math.ceil(out.size / WORKGROUP)),
    flops,
  });
}

/** table [V, D], idx i32 of any shape → [...idx.shape, D]; out-of-range rows read as 0 */
export function gatherRows(ctx: GpuContext, table: GpuTensor, idx: GpuTensor): GpuTensor {
  const op = "gatherRows";
  checkDType(op, table, "f32", "table");
  checkDType(op, idx, "i32", "idx");
  if (table.shape.length !== 2) throw new ShapeError(`${op}: table must be [V, D], got ${fmtShape(table.shape)} (idx ${fmtShape(idx.shape)})`);
  const [V, D] = table.shape as [number, number];
  const out = ctx.empty([...idx.shape, D], "f32");
  dispatchIndexing(ctx, "gather_rows", table, idx, out, idx.size, D, V, out.size);
  return out;
}

/**
 * src [...idx.shape, D] added into a zero [rows, D] at idx (embedding backward);
 * out-of-range indices are dropped. Deterministic: each output sums in index order.
 */
export function scatterAddRows(ctx: GpuContext, src: GpuTensor, idx: GpuTensor, rows: number): GpuTensor {
  const op = "scatterAddRows";
  checkDType(op, src, "f32", "src");
  checkDType(op, idx, "i32", "idx");
  if (!Number.isInteger(rows) || rows < 1) throw new ShapeError(`${op}: rows must be a positive integer, got ${rows}`);
  if (src.shape.length !== idx.shape.length + 1 || !sameShape(src.shape.slice(0, -1), idx.shape)) {
    throw new ShapeError(`${op}: src ${fmtShape(src.shape)} must be [...idx.shape, D] for idx ${fmtShape(idx.shape)}`);
  }
  const D = src.shape[src.shape.length - 1]!;
  const out = ctx.empty([rows, D], "f32");
  // one thread per output row: it scans the indices once (see kernels/indexing.wgsl)
  ctx.dispatch({
    kernel: "indexing",
    entry: "scatter_add_rows",
    buffers: [src, idx, out],
    uniforms: [rows, idx.size, D, rows],
    workgroups: ctx.grid(Math.ceil(rows / WORKGROUP)),
    flops: src.size,
  });
  return out;
}

/** rows R and indices per row k of a last-axis pair; both tensors agree on every axis but the last */
function lastAxisPair(op: string, x: Shape, idx: Shape, xName: string): { R: number; k: number } {
  if (x.length < 1 || x.length !== idx.length || !sameShape(x.slice(0, -1), idx.slice(0, -1))) {
    throw new ShapeError(`${op}: ${xName} ${fmtShape(x)} and idx ${fmtShape(idx)} must agree on every axis but the last`);
  }
  return { R: shapeSize(idx.slice(0, -1)), k: idx[idx.length - 1]! };
}

/** x [..., E], idx i32 [..., k] → [..., k]; out-of-range indices read as 0 */
export function gatherLast(ctx: GpuContext, x: GpuTensor, idx: GpuTensor): GpuTensor {
  const op = "gatherLast";
  checkDType(op, x, "f32", "x");
  checkDType(op, idx, "i32", "idx");
  const { R, k } = lastAxisPair(op, x.shape, idx.shape, "x");
  const E = x.shape[x.shape.length - 1]!;
  const out = ctx.empty(idx.shape, "f32");
  dispatchIndexing(ctx, "gather_last", x, idx, out, R, k, E, out.size);
  return out;
}

/** src [..., k] added into a zero [..., E] at idx; out-of-range indices are dropped */
export function scatterAddLast(ctx: GpuContext, src: GpuTensor, idx: GpuTensor, E: number): GpuTensor {
  const op = "scatterAddLast";
  checkDType(op, src, "f32", "src");
  checkDType(op, idx, "i32", "idx");
  if (!Number.isInteger(E) || E < 1) throw new ShapeError(`${op}: E must be a positive integer, got ${E}`);
  if (!sameShape(src.shape, idx.shape) || src.shape.length < 1) {
    throw new ShapeError(`${op}: src ${fmtShape(src.shape)} and idx ${fmtShape(idx.shape)} must have the same shape (rank ≥ 1)`);
  }
  const { R, k } = lastAxisPair(op, src.shape, idx.shape, "src");
  const out = ctx.empty([...src.shape.slice(0, -1), E], "f32");
  dispatchIndexing(ctx, "scatter_add_last", src, idx, out, R, k, E, src.size);
  return out;
}

/**
 * The k largest along the last axis, descending, with i32 indices; ties go to the
 * lower index and NaN ranks below every number (as on the CPU twin).
 */
export function topk(ctx: GpuContext, x: GpuTensor, k: number): { values: GpuTensor; indices: GpuTensor } {
  const op = "topk";
  checkDType(op, x, "f32");
  if (x.shape.length < 1) throw new ShapeError(`${op}: needs a tensor of rank ≥ 1, got shape ${fmtShape(x.shape)}`);
  const E = x.shape[x.shape.length - 1]!;
  if (!Number.isInteger(k) || k < 1 || k > E) throw new ShapeError(`${op}: k = ${k} must be in 1..${E} for shape ${fmtShape(x.shape)}`);
  const rows = x.size / E;
  const outShape = [...x.shape.slice(0, -1), k];
  const values = ctx.empty(outShape, "f32");
  const indices = ctx.empty(outShape, "i32");
  ctx.dispatch({
    kernel: "topk",
    buffers: [x, values, indices],
    uniforms: [rows, E, k],
    workgroups: ctx.grid(Math.ceil(rows / WORKGROUP)),
    flops: x.size,
  });
  return { values, indices };
}
