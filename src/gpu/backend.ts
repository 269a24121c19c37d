// WebGPUBackend: the Backend contract (src/tensor/backend.ts) on WGSL kernels.
// This class only checks arguments and hands each call to the op family's file in
// src/gpu/ops/, where the shapes are worked out and kernels/ are dispatched.

import type {
  AdamWHyper, AttentionOptions, Backend, BackendStats, BinaryOp, DType, HostArray, MatmulOptions,
  RawTensor, ReduceOp, RopeOptions, Shape, UnaryOp,
} from "../tensor/backend.js";
import { checkLive, fmtShape, shapeSize, ShapeError } from "../tensor/backend.js";
import { GpuContext, GpuTensor } from "./context.js";
import type { GpuHandle } from "./device.js";
import * as ew from "./ops/elementwise.js";
import * as red from "./ops/reduce.js";
import * as rows from "./ops/rows.js";
import * as layout from "./ops/layout.js";
import * as optim from "./ops/optim.js";
import * as mm from "./ops/matmul.js";
import * as attn from "./ops/attention.js";
import * as idx from "./ops/indexing.js";
import * as moe from "./ops/moe.js";

function g(op: string, t: RawTensor): GpuTensor {
  if (!(t instanceof GpuTensor)) throw new TypeError(`${op}: got a tensor from another backend (shape ${fmtShape(t.shape)})`);
  checkLive(op, t);
  return t;
}
function gOpt(op: string, t: RawTensor | null): GpuTensor | null {
  return t === null ? null : g(op, t);
}

export class WebGPUBackend implements Backend {
  readonly name = "webgpu" as const;
  readonly description: string;
  readonly ctx: GpuContext;

  constructor(readonly handle: GpuHandle) {
    this.ctx = new GpuContext(handle.device);
    const r = handle.report;
    this.description = `WebGPU: ${[r.vendor, r.architecture, r.description].filter(Boolean).join(" / ") || "unknown adapter"}`;
  }

  // ---- memory ----
  upload(data: ArrayLike<number>, shape: Shape, dtype: DType): RawTensor {
    if (data.length !== shapeSize(shape)) throw new ShapeError(`upload: ${data.length} values do not fill shape ${fmtShape(shape)}`);
    return this.ctx.upload(data, shape, dtype);
  }
  fill(shape: Shape, value: number, dtype: DType): RawTensor {
    return ew.fill(this.ctx, shape, value, dtype);
  }
  read(t: RawTensor): Promise<HostArray> {
    return this.ctx.read(g("read", t));
  }
  free(t: RawTensor): void {
    if (t instanceof GpuTensor) this.ctx.free(t);
  }
  reshape(t: RawTensor, shape: Shape): RawTensor {
    const x = g("reshape", t);
    if (shapeSize(shape) !== x.size) throw new ShapeError(`reshape: cannot view ${fmtShape(x.shape)} (${x.size} elements) as ${fmtShape(shape)}`);
    return this.ctx.view(x, shape);
  }
  flush(): void {
    this.ctx.flush();
  }
  stats(): BackendStats {
    return this.ctx.stats();
  }
  resetStats(): void {
    this.ctx.resetStats();
  }
  destroy(): void {
    this.ctx.destroy();
    this.handle.release();
  }

  // ---- dense math ----
  matmul(a: RawTensor, b: RawTensor, opts: MatmulOptions = {}): RawTensor {
    return mm.matmul(this.ctx, g("matmul", a), g("matmul", b), opts);
  }
  binary(op: BinaryOp, a: RawTensor, b: RawTensor): RawTensor {
    return ew.binary(this.ctx, op, g(op, a), g(op, b));
  }
  affine(x: RawTensor, alpha: number, beta: number): RawTensor {
    return ew.affine(this.ctx, g("affine", x), alpha, beta);
  }
  unary(op: UnaryOp, x: RawTensor): RawTensor {
    return ew.unary(this.ctx, op, g(op, x));
  }
  unaryBackward(op: UnaryOp, x: RawTensor, dy: RawTensor): RawTensor {
    return ew.unaryBackward(this.ctx, op, g(op, x), g(op, dy));
  }
  reduce(op: ReduceOp, x: RawTensor, axis: number): RawTensor {
    return red.reduce(this.ctx, op, g(op, x), axis);
  }
  sumTo(x: RawTensor, shape: Shape): RawTensor {
    return red.sumTo(this.ctx, g("sumTo", x), shape);
  }

  // ---- rows ----
  softmax(x: RawTensor): RawTensor {
    return rows.softmax(this.ctx, g("softmax", x));
  }
  logSoftmax(x: RawTensor): RawTensor {
    return rows.logSoftmax(this.ctx, g("logSoftmax", x));
  }
  softmaxBackward(y: RawTensor, dy: RawTensor): RawTensor {
    return rows.softmaxBackward(this.ctx, g("softmaxBackward", y), g("softmaxBackward", dy));
  }
  logSoftmaxBackward(y: RawTensor, dy: RawTensor): RawTensor {
    return rows.logSoftmaxBackward(this.ctx, g("logSoftmaxBackward", y), g("logSoftmaxBackward", dy));
  }
  crossEntropy(logits: RawTensor, targets: RawTensor, mask: RawTensor | null) {
    const op = "crossEntropy";
    return rows.crossEntropy(this.ctx, g(op, logits), g(op, targets), gOpt(op, mask));
  }
  crossEntropyBackward(logits: RawTensor, targets: RawTensor, mask: RawTensor | null, lse: RawTensor, dloss: RawTensor): RawTensor {
    const op = "crossEntropyBackward";
    return rows.crossEntropyBackward(this.ctx, g(op, logits), g(op, targets), gOpt(op, mask), g(op, lse), g(op, dloss));
  }
  rmsnorm(x: RawTensor, w: RawTensor, eps: number) {
    return rows.rmsnorm(this.ctx, g("rmsnorm", x), g("rmsnorm", w), eps);
  }
  rmsnormBackward(x: RawTensor, w: RawTensor, rstd: RawTensor, dy: RawTensor) {
    const op = "rmsnormBackward";
    return rows.rmsnormBackward(this.ctx, g(op, x), g(op, w), g(op, rstd), g(op, dy));
  }

  // ---- indexing ----
  gatherRows(table: RawTensor, i: RawTensor): RawTensor {
    return idx.gatherRows(this.ctx, g("gatherRows", table), g("gatherRows", i));
  }
  scatterAddRows(src: RawTensor, i: RawTensor, nRows: number): RawTensor {
    return idx.scatterAddRows(this.ctx, g("scatterAddRows", src), g("scatterAddRows", i), nRows);
  }
  gatherLast(x: RawTensor, i: RawTensor): RawTensor {
    return idx.gatherLast(this.ctx, g("gatherLast", x), g("gatherLast", i));
  }
  scatterAddLast(src: RawTensor, i: RawTensor, E: number): RawTensor {
    return idx.scatterAddLast(this.ctx, g("scatterAddLast", src), g("scatterAddLast", i), E);
  }
  topk(x: RawTensor, k: number) {
    return idx.topk(this.ctx, g("topk", x), k);
  }

  // ---- mixture of experts ----
  moeSort(indices: RawTensor, E: number) {
    return moe.moeSort(this.ctx, g("moeSort", indices), E);
  }
  groupedMatmul(x: RawTensor, w: RawTensor, offsets: RawTensor, transB: boolean): RawTensor {
    const op = "groupedMatmul";
    return moe.groupedMatmul(this.ctx, g(op, x), g(op, w), g(op, offsets), transB);
  }
  groupedMatmulGradW(dy: RawTensor, x: RawTensor, offsets: RawTensor, E: number): RawTensor {
    const op = "groupedMatmulGradW";
    return moe.groupedMatmulGradW(this.ctx, g(op, dy), g(op, x), g(op, offsets), E);
  }

  // ---- layout ----
  permute(x: RawTensor, perm: readonly number[]): RawTensor {
    return layout.permute(this.ctx, g("permute", x), perm);
  }
  slice(x: RawTensor, axis: number, start: number, end: number): RawTensor {
    return layout.slice(this.ctx, g("slice", x), axis, start, end);
  }
  concat(xs: readonly RawTensor[], axis: number): RawTensor {
    return layout.concat(this.ctx, xs.map((x) => g("concat", x)), axis);
  }
  writeSlice(dst: RawTensor, src: RawTensor, axis: number, start: number): void {
    layout.writeSlice(this.ctx, g("writeSlice", dst), g("writeSlice", src), axis, start);
  }

  // ---- transformer ----
  rope(x: RawTensor, opts: RopeOptions): RawTensor {
    return attn.rope(this.ctx, g("rope", x), opts);
  }
  attention(q: RawTensor, k: RawTensor, v: RawTensor, opts: AttentionOptions) {
    const op = "attention";
    return attn.attention(this.ctx, g(op, q), g(op, k), g(op, v), opts, gOpt(op, opts.keyStart ?? null));
  }
  attentionBackward(q: RawTensor, k: RawTensor, v: RawTensor, out: RawTensor, lse: RawTensor, dout: RawTensor, opts: AttentionOptions) {
    const op = "attentionBackward";
    return attn.attentionBackward(
      this.ctx, g(op, q), g(op, k), g(op, v), g(op, out), g(op, lse), g(op, dout), opts, gOpt(op, opts.keyStart ?? null),
    );
  }

  // ---- optimiser ----
  sumSquares(xs: readonly RawTensor[]): RawTensor {
    return red.sumSquares(this.ctx, xs.map((x) => g("sumSquares", x)));
  }
  clipCoefficient(sumSq: RawTensor, maxNorm: number): RawTensor {
    return red.clipCoefficient(this.ctx, g("clipCoefficient", sumSq), maxNorm);
  }
  adamw(param: RawTensor, grad: RawTensor, m: RawTensor, v: RawTensor, hyper: AdamWHyper, coef: RawTensor): void {
    const op = "adamw";
    optim.adamw(this.ctx, g(op, param), g(op, grad), g(op, m), g(op, v), hyper, g(op, coef));
  }
}
