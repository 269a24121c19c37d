// Transformer ops on the GPU: rotary embedding and fused attention (forward and
// backward). Kernels: kernels/rope.wgsl, kernels/attention.wgsl,
// kernels/attention_bwd_dq.wgsl, kernels/attention_bwd_dkdv.wgsl.
//
// Attention never materialises the [Tq, Tk] score matrix: the forward pass keeps an
// online softmax per query row and saves only the row's log-sum-exp; the backward
// pass recomputes each probability from it. That is the FlashAttention idea, here
// in its simplest form (one thread per row, no tiling), which is plenty at the
// sequence lengths of this course.

import type { AttentionOptions, RopeOptions } from "../../tensor/backend.js";
import { attentionShape, checkDType, fmtShape, ShapeError } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";

/** threads per workgroup in every kernel of this file */
const WORKGROUP = 64;
/** columns of an output row one thread accumulates (the kernels' CHUNK) */
const CHUNK = 64;

function workgroupsFor(ctx: GpuContext, threads: number): [number, number] {
  return ctx.grid(Math.ceil(threads / WORKGROUP));
}

/** rotary embedding, half-split pairs (x[i], x[i + D/2]); x: [B, T, H, D] */
export function rope(ctx: GpuContext, x: GpuTensor, opts: RopeOptions): GpuTensor {
  const op = "rope";
  checkDType(op, x, "f32");
  if (x.shape.length !== 4) throw new ShapeError(`${op}: x must be [B, T, H, D], got ${fmtShape(x.shape)}`);
  const [, T, H, D] = x.shape as [number, number, number, number];
  if (D % 2 !== 0) throw new ShapeError(`${op}: head size D must be even, got shape ${fmtShape(x.shape)}`);
  if (!Number.isInteger(opts.pos0)) throw new RangeError(`${op}: pos0 must be an integer, got ${opts.pos0}`);
  if (!(opts.theta > 0)) throw new RangeError(`${op}: theta must be positive, got ${opts.theta}`);
  const y = ctx.empty(x.shape, "f32");
  const pairs = x.size / 2;
  ctx.dispatch({
    kernel: "rope",
    buffers: [x, y],
    uniforms: [T, H, D, pairs, { i32: opts.pos0 }, { f32: Math.log2(opts.theta) }, { f32: opts.inverse ? -1 : 1 }],
    workgroups: workgroupsFor(ctx, pairs),
    flops: x.size,
  });
  return y;
}

type AttnDims = ReturnType<typeof attentionShape>;

/** the Params struct shared by the three attention kernels (same field order) */
function attnUniforms(s: AttnDims, opts: AttentionOptions, chunks: number, threads: number) {
  return [
    s.Tq, s.Hq, s.D, s.Tk, s.Hkv, s.Dv, s.kvLen, s.group, opts.causal ? 1 : 0, chunks, threads,
    { f32: opts.scale },
  ];
}

function checkAttentionInputs(op: string, q: GpuTensor, k: GpuTensor, v: GpuTensor, opts: AttentionOptions): AttnDims {
  checkDType(op, q, "f32", "q");
  checkDType(op, k, "f32", "k");
  checkDType(op, v, "f32", "v");
  if (!Number.isFinite(opts.scale)) throw new RangeError(`${op}: scale must be a finite number, got ${opts.scale}`);
  return attentionShape(q.shape, k.shape, v.shape, opts);
}

/**
 * Scaled dot-product attention (see Backend.attention): out [B, Tq, Hq, Dv] and
 * lse [B, Tq, Hq]. Counts 2·B·Hq·Tq·Tk·(D + Dv) flops, like the CPU twin.
 */
export function attention(
  ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, opts: AttentionOptions,
): { out: GpuTensor; lse: GpuTensor } {
  const s = checkAttentionInputs("attention", q, k, v, opts);
  const { B, Tq, Hq, Dv, Tk, D } = s;
  const out = ctx.empty([B, Tq, Hq, Dv], "f32");
  const lse = ctx.empty([B, Tq, Hq], "f32");
  const rows = B * Tq * Hq;
  const chunks = Math.max(1, Math.ceil(Dv / CHUNK));
  ctx.dispatch({
    kernel: "attention",
    buffers: [q, k, v, out, lse],
    uniforms: attnUniforms(s, opts, chunks, rows * chunks),
    workgroups: workgroupsFor(ctx, rows * chunks),
    flops: 2 * B * Hq * Tq * Tk * (D + Dv),
  });
  return { out, lse };
}

/**
 * Gradients of attention (see Backend.attentionBackward), in two dispatches and
 * without float atomics: dq (and delta_i = dO_i·O_i) one query row per thread,
 * then dk and dv one key row per thread. Counts 2·B·Hq·Tq·Tk·(3D + 2Dv) flops,
 * like the CPU twin.
 */
export function attentionBackward(
  ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, out: GpuTensor, lse: GpuTensor, dout: GpuTensor,
  opts: AttentionOptions,
): { dq: GpuTensor; dk: GpuTensor; dv: GpuTensor } {
  const op = "attentionBackward";
  const s = checkAttentionInputs(op, q, k, v, opts);
  const { B, Tq, Hq, Dv, Tk, Hkv, D } = s;
  const ref = `q ${fmtShape(q.shape)}, v ${fmtShape(v.shape)}`;
  const expect = (what: string, t: GpuTensor, want: number[]) => {
    checkDType(op, t, "f32", what);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new ShapeError(`${op}: ${what} has shape ${fmtShape(t.shape)} but ${ref} need ${fmtShape(want)}`);
    }
  };
  expect("out", out, [B, Tq, Hq, Dv]);
  expect("dout", dout, [B, Tq, Hq, Dv]);
  expect("lse", lse, [B, Tq, Hq]);

  const dq = ctx.empty(q.shape, "f32");
  const dk = ctx.empty(k.shape, "f32");
  const dv = ctx.empty(v.shape, "f32");
  const delta = ctx.empty([B, Tq, Hq], "f32");
  const flops = 2 * B * Hq * Tq * Tk * (3 * D + 2 * Dv);

  const rows = B * Tq * Hq;
  const chunksQ = Math.max(1, Math.ceil(D / CHUNK));
  ctx.dispatch({
    kernel: "attention_bwd_dq",
    buffers: [q, k, v, out, lse, dout, delta, dq],
    uniforms: attnUniforms(s, opts, chunksQ, rows * chunksQ),
    workgroups: workgroupsFor(ctx, rows * chunksQ),
    flops: flops / 2,
  });
  const kvRows = B * Tk * Hkv;
  const chunksKV = Math.max(1, Math.ceil(Math.max(D, Dv) / CHUNK));
  ctx.dispatch({
    kernel: "attention_bwd_dkdv",
    buffers: [q, k, v, lse, dout, delta, dk, dv],
    uniforms: attnUniforms(s, opts, chunksKV, kvRows * chunksKV),
    workgroups: workgroupsFor(ctx, kvRows * chunksKV),
    flops: flops / 2,
  });
  // Safe while the dispatches are still queued: the pool hands a freed buffer only
  // to later work in the same encoder, which runs after them.
  ctx.free(delta);
  return { dq, dk, dv };
}
