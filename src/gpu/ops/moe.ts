// Sparse dispatch of a mixture-of-experts layer on the GPU: the routed rows sorted
// by expert (kernels/moe_sort.wgsl) and the experts' grouped matrix products with
// their weight gradient (kernels/grouped_matmul.wgsl). Every output has a size known
// before the step runs (R = N·k rows), so a whole training step still encodes and
// submits in one go, without reading the routing back.

import { checkDType, fmtShape, groupedGradWShape, groupedMatmulShape, ShapeError } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";

/** a workgroup of the grouped-matmul kernels computes 32×32 outputs (8×8 threads, 4×4 each) */
const TILE = 32;
/** moe_sort runs one workgroup of 256 threads, one per expert */
export const MAX_EXPERTS = 256;

export function moeSort(ctx: GpuContext, indices: GpuTensor, E: number): { offsets: GpuTensor; tokens: GpuTensor; slot: GpuTensor; order: GpuTensor } {
  const op = "moeSort";
  checkDType(op, indices, "i32", "indices");
  if (indices.shape.length !== 2) throw new ShapeError(`${op}: indices must be [N, k], got ${fmtShape(indices.shape)}`);
  if (!Number.isInteger(E) || E < 1 || E > MAX_EXPERTS) throw new ShapeError(`${op}: E must be an integer in 1..${MAX_EXPERTS} on WebGPU, got ${E}`);
  const offsets = ctx.empty([E + 1], "i32");
  const tokens = ctx.empty([indices.size], "i32");
  const slot = ctx.empty(indices.shape, "i32");
  const order = ctx.empty([indices.size], "i32");
  ctx.dispatch({
    kernel: "moe_sort",
    buffers: [indices, offsets, tokens, slot, order],
    uniforms: [indices.size, E, indices.shape[1]!],
    workgroups: [indices.size > 0 ? 1 : 0],
    flops: 0,
  });
  return { offsets, tokens, slot, order };
}

export function groupedMatmul(ctx: GpuContext, x: GpuTensor, w: GpuTensor, offsets: GpuTensor, transB: boolean): GpuTensor {
  const op = "groupedMatmul";
  checkDType(op, x, "f32", "x");
  checkDType(op, w, "f32", "w");
  checkDType(op, offsets, "i32", "offsets");
  const { R, E, K, N } = groupedMatmulShape(x.shape, w.shape, offsets.shape, transB);
  const out = ctx.empty([R, N], "f32");
  ctx.dispatch({
    kernel: "grouped_matmul",
    buffers: [x, w, offsets, out],
    uniforms: [R, E, K, N, transB ? 1 : 0],
    workgroups: [Math.ceil(N / TILE), Math.ceil(R / TILE)],
    flops: 2 * R * N * K,
  });
  return out;
}

export function groupedMatmulGradW(ctx: GpuContext, dy: GpuTensor, x: GpuTensor, offsets: GpuTensor, E: number): GpuTensor {
  const op = "groupedMatmulGradW";
  checkDType(op, dy, "f32", "dy");
  checkDType(op, x, "f32", "x");
  checkDType(op, offsets, "i32", "offsets");
  const { R, A, B } = groupedGradWShape(dy.shape, x.shape, offsets.shape, E);
  const out = ctx.empty([E, A, B], "f32");
  ctx.dispatch({
    kernel: "grouped_matmul",
    entry: "grad_w",
    buffers: [dy, x, offsets, out],
    uniforms: [R, E, A, B, 0],
    workgroups: [Math.ceil(B / TILE), Math.ceil(A / TILE), E],
    flops: 2 * R * A * B,
  });
  return out;
}
