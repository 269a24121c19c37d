// Reductions on the GPU (kernels/reduce.wgsl): reduce over one axis, sumTo (the
// gradient of broadcasting), the global sum of squares of many tensors, and the
// gradient-clipping coefficient. Results stay on the GPU: the optimiser reads the
// clip coefficient there, so a training step never waits for a readback.

import {
  type ReduceOp, type Shape,
  ShapeError, checkDType, fmtShape, normAxis, stridesOf,
} from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";
import { axes8, checkShapeArg, elementGrid, fill } from "./elementwise.js";
import { coalesce } from "../../tensor/strides.js";

/** A list of axes of x: their sizes and x's strides along them. */
interface AxisList {
  shape: number[];
  strides: number[];
}

function merged(axes: AxisList): AxisList {
  const c = coalesce(axes.shape, [axes.strides]);
  return { shape: c.shape, strides: c.strides[0]! };
}

/**
 * out[o] = combine over the reduced axes of x, for every position o of the kept
 * axes (out is row-major over the kept axes). One dispatch.
 */
function launchReduce(
  ctx: GpuContext, op: ReduceOp, x: GpuTensor, outShape: Shape, kept: AxisList, reduced: AxisList,
): GpuTensor {
  const out = ctx.empty(outShape, "f32");
  const k = merged(kept);
  const r = merged(reduced);
  const nOut = out.size;
  const nRed = r.shape.reduce((a, b) => a * b, 1);
  // Many outputs: one invocation each. Few outputs with long reductions: a
  // workgroup each, so the work is spread over more invocations. (A rough rule;
  // on a real GPU ~2048 invocations are enough to keep it busy.)
  const perThread = nOut >= 2048 || nRed <= 64;
  ctx.dispatch({
    kernel: "reduce",
    entry: perThread ? "reduce_thread" : "reduce_group",
    constants: { OP: op === "max" ? 1 : 0 },
    buffers: [x, out],
    uniforms: [
      nOut, nRed, k.shape.length, r.shape.length,
      { f32: op === "mean" ? 1 / nRed : 1 }, { f32: op === "max" ? -Infinity : 0 }, 0, 0,
      ...axes8(k.shape), ...axes8(k.strides), ...axes8(r.shape), ...axes8(r.strides),
    ],
    workgroups: perThread ? elementGrid(ctx, nOut) : ctx.grid(nOut),
    flops: x.size,
  });
  return out;
}

/** a copy of x with another shape (reductions over axes of size 1) */
function copyAs(ctx: GpuContext, x: GpuTensor, shape: Shape): GpuTensor {
  const out = ctx.empty(shape, "f32");
  ctx.copy(x, 0, out, 0, x.size * 4);
  return out;
}

export function reduce(ctx: GpuContext, op: ReduceOp, x: GpuTensor, axis: number): GpuTensor {
  const name = `reduce(${op})`;
  if (op !== "sum" && op !== "mean" && op !== "max") throw new Error(`reduce: unknown op ${String(op)}`);
  checkDType(name, x, "f32");
  const ax = normAxis(name, axis, x.shape.length);
  const n = x.shape[ax]!;
  if (n === 0) throw new ShapeError(`${name}: cannot reduce over an empty axis ${ax} of shape ${fmtShape(x.shape)}`);
  const outShape = x.shape.map((d, i) => (i === ax ? 1 : d));
  if (n === 1) return copyAs(ctx, x, outShape);
  const strides = stridesOf(x.shape);
  const kept: AxisList = { shape: [], strides: [] };
  x.shape.forEach((d, i) => {
    if (i !== ax) {
      kept.shape.push(d);
      kept.strides.push(strides[i]!);
    }
  });
  return launchReduce(ctx, op, x, outShape, kept, { shape: [n], strides: [strides[ax]!] });
}

export function sumTo(ctx: GpuContext, x: GpuTensor, shape: Shape): GpuTensor {
  checkDType("sumTo", x, "f32");
  checkShapeArg("sumTo", shape);
  const xs = x.shape;
  const bad = () =>
    new ShapeError(`sumTo: shape ${fmtShape(xs)} cannot be summed to ${fmtShape(shape)} (it is not a shape ${fmtShape(xs)} was broadcast from)`);
  if (shape.length > xs.length) throw bad();
  const off = xs.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] !== xs[off + i] && shape[i] !== 1) throw bad();
  }
  if (x.size === 0) return fill(ctx, shape, 0, "f32"); // a sum over nothing
  const padded = [...new Array<number>(off).fill(1), ...shape];
  const strides = stridesOf(xs);
  const kept: AxisList = { shape: [], strides: [] };
  const reduced: AxisList = { shape: [], strides: [] };
  xs.forEach((d, i) => {
    const list = padded[i] === 1 && d !== 1 ? reduced : kept;
    list.shape.push(d);
    list.strides.push(strides[i]!);
  });
  if (reduced.shape.length === 0) return copyAs(ctx, x, shape); // nothing to sum
  return launchReduce(ctx, "sum", x, shape, kept, reduced);
}

/** tensors per sum_squares dispatch (the kernel has four input bindings) */
const SQUARES_PER_DISPATCH = 4;

/**
 * Σ x² over every element of every tensor → [1]. Each group of four tensors is one
 * dispatch writing per-workgroup partial sums; one more dispatch adds those up.
 * No float atomics needed, and the result is the same on every run.
 */
export function sumSquares(ctx: GpuContext, xs: readonly GpuTensor[]): GpuTensor {
  xs.forEach((x, i) => checkDType("sumSquares", x, "f32", `tensor ${i}`));
  if (xs.length === 0) return fill(ctx, [1], 0, "f32");
  const groups: GpuTensor[][] = [];
  for (let i = 0; i < xs.length; i += SQUARES_PER_DISPATCH) groups.push(xs.slice(i, i + SQUARES_PER_DISPATCH));
  // ~16 elements per invocation, at most 64 workgroups (partial sums) per dispatch
  const workgroupsOf = (g: GpuTensor[]) => {
    const n = g.reduce((s, t) => s + t.size, 0);
    return Math.min(64, Math.max(1, Math.ceil(n / (256 * 16))));
  };
  const counts = groups.map(workgroupsOf);
  const nPartials = counts.reduce((a, b) => a + b, 0);
  const partials = ctx.empty([nPartials], "f32");
  let offset = 0;
  groups.forEach((g, gi) => {
    const inputs = [0, 1, 2, 3].map((k) => g[k] ?? g[0]!); // unused slots re-bind a tensor, with length 0
    const lengths = [0, 1, 2, 3].map((k) => g[k]?.size ?? 0);
    const n = lengths.reduce((a, b) => a + b, 0);
    ctx.dispatch({
      kernel: "reduce",
      entry: "sum_squares",
      buffers: [...inputs, partials],
      uniforms: [...lengths, offset],
      workgroups: [counts[gi]!],
      flops: 2 * n,
    });
    offset += counts[gi]!;
  });
  const out = ctx.empty([1], "f32");
  ctx.dispatch({
    kernel: "reduce",
    entry: "sum_partials",
    buffers: [partials, out],
    uniforms: [nPartials],
    workgroups: [1],
    flops: nPartials,
  });
  ctx.free(partials); // later dispatches in this encoder run after the ones above
  return out;
}

/** [1] → [1]: min(1, maxNorm/(sqrt(Σg²)+1e-6)), 0 if Σg² is not finite, 1 (or 0) when maxNorm ≤ 0 */
export function clipCoefficient(ctx: GpuContext, sumSq: GpuTensor, maxNorm: number): GpuTensor {
  checkDType("clipCoefficient", sumSq, "f32", "sumSq");
  if (sumSq.size !== 1) throw new ShapeError(`clipCoefficient: sumSq must hold one value, got shape ${fmtShape(sumSq.shape)}`);
  const out = ctx.empty([1], "f32");
  ctx.dispatch({
    kernel: "reduce",
    entry: "clip_coefficient",
    buffers: [sumSq, out],
    uniforms: [{ f32: maxNorm > 0 ? maxNorm : 0 }, maxNorm > 0 ? 1 : 0],
    workgroups: [1],
    flops: 4,
  });
  return out;
}
