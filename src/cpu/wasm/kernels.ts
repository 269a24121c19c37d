// The WebAssembly kernels behind the CpuKernels interface (../kernels.ts): the
// same functions, with the same arguments, as the reference kernels. Each wrapper
// turns its typed arrays into byte offsets in the heap and calls the module.
// Cases a kernel does not cover (a broadcast pattern other than rows or columns,
// the unary ops tanh, log and gelu) run the reference code on the same arrays.

import {
  type AdamWHyper, type BinaryOp, type FloatArray, type Shape, type UnaryOp, BINARY_OPS, UNARY_OPS,
} from "../../tensor/backend.js";
import { broadcastStrides, coalesce } from "../../tensor/strides.js";
import type { CpuKernels } from "../kernels.js";
import type { AttnDims } from "../reference/attention.js";
import { binaryKernel, unaryBackwardKernel, unaryKernel } from "../reference/elementwise.js";
import type { WasmHeap } from "./heap.js";

/** what the module exports (kernels/wasm/index.ts); pointers are byte offsets, bools are 0/1 */
export interface KernelExports {
  heapBase(): number;
  gemmScratchFloats(M: number, N: number, K: number): number;
  batchedGemm(a: number, b: number, c: number, batch: number, M: number, N: number, K: number,
    transA: number, transB: number, aShared: number, bShared: number, scratch: number): void;
  hasUnary(op: number): number;
  unary(op: number, x: number, out: number, n: number): void;
  unaryBackward(op: number, x: number, dy: number, out: number, n: number): void;
  binary(op: number, a: number, aRow: number, aCol: number, b: number, bRow: number, bCol: number,
    out: number, outer: number, inner: number): void;
  affine(x: number, alpha: number, beta: number, out: number, n: number): void;
  softmax(x: number, rows: number, n: number, out: number, log: number): void;
  softmaxBackward(y: number, dy: number, rows: number, n: number, out: number, log: number): void;
  crossEntropy(logits: number, targets: number, mask: number, rows: number, V: number, loss: number, lse: number): void;
  crossEntropyBackward(logits: number, targets: number, mask: number, lse: number, dloss: number,
    rows: number, V: number, out: number): void;
  rmsnorm(x: number, w: number, eps: number, rows: number, D: number, y: number, rstd: number): void;
  rmsnormBackward(x: number, w: number, rstd: number, dy: number, rows: number, D: number, dx: number, dw: number): void;
  attention(q: number, k: number, v: number, B: number, Tq: number, Hq: number, D: number, Tk: number, Hkv: number,
    Dv: number, kvLen: number, causal: number, scale: number, keyStart: number, out: number, lse: number, s: number): void;
  attentionBackward(q: number, k: number, v: number, out: number, lse: number, dout: number, B: number, Tq: number,
    Hq: number, D: number, Tk: number, Hkv: number, Dv: number, kvLen: number, causal: number, scale: number,
    keyStart: number, dq: number, dk: number, dv: number, s: number, s2: number): void;
  rope(x: number, B: number, T: number, H: number, D: number, cs: number, out: number): void;
  sumSquares(x: number, n: number): number;
  adamw(p: number, grad: number, m: number, v: number, n: number, lr: number, beta1: number, beta2: number,
    eps: number, wd: number, bc1: number, bc2: number, coef: number): void;
}

const b01 = (x: boolean): number => (x ? 1 : 0);

export class WasmKernels implements CpuKernels {
  readonly name = "wasm-simd";
  /** a heap block for kernels' scratch space (packed matrices, a row of scores), grown on demand */
  private scratchAt = 0;
  private scratchFloats = 0;

  constructor(private readonly x: KernelExports, private readonly heap: WasmHeap) {}

  /** the byte offset of an array that lives in this engine's heap */
  private ptr(a: ArrayBufferView): number {
    if (a.buffer !== this.heap.memory.buffer) {
      throw new Error("wasm kernels: an array outside this engine's heap (or a view made before the heap grew) was passed");
    }
    return a.byteOffset;
  }

  /**
   * Scratch of at least n floats. Call it after taking every pointer: growing the
   * heap detaches the caller's views (their byte offsets stay right).
   */
  private scratch(n: number): number {
    if (n > this.scratchFloats) {
      if (this.scratchFloats > 0) this.heap.release(this.scratchAt, this.scratchFloats * 4);
      this.scratchFloats = Math.max(n, Math.ceil(this.scratchFloats * 1.5));
      this.scratchAt = this.heap.alloc(this.scratchFloats * 4, false);
    }
    return this.scratchAt;
  }

  batchedGemm = (
    a: FloatArray, b: FloatArray, c: FloatArray, batch: number, M: number, N: number, K: number,
    transA: boolean, transB: boolean, aShared: boolean, bShared: boolean,
  ): void => {
    const pa = this.ptr(a), pb = this.ptr(b), pc = this.ptr(c);
    const s = this.scratch(this.x.gemmScratchFloats(M, N, K));
    this.x.batchedGemm(pa, pb, pc, batch, M, N, K, b01(transA), b01(transB), b01(aShared), b01(bShared), s);
  };

  binary = (op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, out: FloatArray, outShape: Shape): void => {
    const n = out.length;
    if (n === 0) return;
    const code = BINARY_OPS.indexOf(op);
    if (a.length === n && b.length === n) {
      this.x.binary(code, this.ptr(a), 0, 1, this.ptr(b), 0, 1, this.ptr(out), 1, n);
      return;
    }
    // Collapse the broadcast to [outer, inner]; the kernel takes any row stride and
    // an element stride of 1 (a full row) or 0 (one value per row).
    const c = coalesce(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
    const r = c.shape.length;
    const [sa, sb] = c.strides as [number[], number[]];
    const twoD = r === 1 ? { outer: 1, inner: c.shape[0]!, aRow: 0, bRow: 0, aCol: sa[0]!, bCol: sb[0]! }
      : r === 2 ? { outer: c.shape[0]!, inner: c.shape[1]!, aRow: sa[0]!, bRow: sb[0]!, aCol: sa[1]!, bCol: sb[1]! }
      : null;
    if (twoD && twoD.aCol <= 1 && twoD.bCol <= 1) {
      const { outer, inner, aRow, bRow, aCol, bCol } = twoD;
      this.x.binary(code, this.ptr(a), aRow, aCol, this.ptr(b), bRow, bCol, this.ptr(out), outer, inner);
      return;
    }
    binaryKernel(op, a, aShape, b, bShape, out, outShape);
  };

  affine = (x: FloatArray, alpha: number, beta: number, out: FloatArray): void => {
    this.x.affine(this.ptr(x), alpha, beta, this.ptr(out), x.length);
  };

  unary = (op: UnaryOp, x: FloatArray, out: FloatArray): void => {
    const code = UNARY_OPS.indexOf(op);
    if (this.x.hasUnary(code)) this.x.unary(code, this.ptr(x), this.ptr(out), x.length);
    else unaryKernel(op, x, out);
  };

  unaryBackward = (op: UnaryOp, x: FloatArray, dy: FloatArray, out: FloatArray): void => {
    const code = UNARY_OPS.indexOf(op);
    if (this.x.hasUnary(code)) this.x.unaryBackward(code, this.ptr(x), this.ptr(dy), this.ptr(out), x.length);
    else unaryBackwardKernel(op, x, dy, out);
  };

  softmax = (x: FloatArray, rows: number, n: number, out: FloatArray, log: boolean): void => {
    this.x.softmax(this.ptr(x), rows, n, this.ptr(out), b01(log));
  };

  softmaxBackward = (y: FloatArray, dy: FloatArray, rows: number, n: number, out: FloatArray, log: boolean): void => {
    this.x.softmaxBackward(this.ptr(y), this.ptr(dy), rows, n, this.ptr(out), b01(log));
  };

  crossEntropy = (
    logits: FloatArray, targets: Int32Array, mask: FloatArray | null, rows: number, V: number, loss: FloatArray, lse: FloatArray,
  ): void => {
    this.x.crossEntropy(this.ptr(logits), this.ptr(targets), mask ? this.ptr(mask) : 0, rows, V, this.ptr(loss), this.ptr(lse));
  };

  crossEntropyBackward = (
    logits: FloatArray, targets: Int32Array, mask: FloatArray | null, lse: FloatArray, dloss: FloatArray,
    rows: number, V: number, out: FloatArray,
  ): void => {
    this.x.crossEntropyBackward(
      this.ptr(logits), this.ptr(targets), mask ? this.ptr(mask) : 0, this.ptr(lse), this.ptr(dloss), rows, V, this.ptr(out),
    );
  };

  rmsnorm = (x: FloatArray, w: FloatArray, eps: number, rows: number, D: number, y: FloatArray, rstd: FloatArray): void => {
    this.x.rmsnorm(this.ptr(x), this.ptr(w), eps, rows, D, this.ptr(y), this.ptr(rstd));
  };

  rmsnormBackward = (
    x: FloatArray, w: FloatArray, rstd: FloatArray, dy: FloatArray, rows: number, D: number, dx: FloatArray, dw: FloatArray,
  ): void => {
    this.x.rmsnormBackward(this.ptr(x), this.ptr(w), this.ptr(rstd), this.ptr(dy), rows, D, this.ptr(dx), this.ptr(dw));
  };

  attention = (
    q: FloatArray, k: FloatArray, v: FloatArray, dims: AttnDims, scale: number, causal: boolean,
    keyStart: ArrayLike<number> | null, out: FloatArray, lse: FloatArray,
  ): void => {
    const { B, Tq, Hq, D, Tk, Hkv, Dv, kvLen } = dims;
    const pq = this.ptr(q), pk = this.ptr(k), pv = this.ptr(v), po = this.ptr(out), pl = this.ptr(lse);
    const ks = keyStart ? this.ptr(keyStart as Int32Array) : 0;
    const s = this.scratch(Tk);
    this.x.attention(pq, pk, pv, B, Tq, Hq, D, Tk, Hkv, Dv, kvLen, b01(causal), scale, ks, po, pl, s);
  };

  attentionBackward = (
    q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, dout: FloatArray,
    dims: AttnDims, scale: number, causal: boolean, keyStart: ArrayLike<number> | null,
    dq: FloatArray, dk: FloatArray, dv: FloatArray,
  ): void => {
    const { B, Tq, Hq, D, Tk, Hkv, Dv, kvLen } = dims;
    const ptrs = [q, k, v, out, lse, dout].map((a) => this.ptr(a)) as [number, number, number, number, number, number];
    const [pdq, pdk, pdv] = [this.ptr(dq), this.ptr(dk), this.ptr(dv)];
    const ks = keyStart ? this.ptr(keyStart as Int32Array) : 0;
    const s = this.scratch(2 * Tk); // p_ij, then dO_i·v_j
    this.x.attentionBackward(...ptrs, B, Tq, Hq, D, Tk, Hkv, Dv, kvLen, b01(causal), scale, ks, pdq, pdk, pdv, s, s + 4 * Tk);
  };

  rope = (
    x: FloatArray, B: number, T: number, H: number, D: number, pos0: number, theta: number, inverse: boolean, out: FloatArray,
  ): void => {
    const px = this.ptr(x), po = this.ptr(out);
    const half = D / 2;
    const at = this.scratch(T * D);
    // the angles in float64, as the reference computes them; rounded once into the table
    const cs = new Float32Array(this.heap.memory.buffer, at, T * D);
    const sign = inverse ? -1 : 1;
    for (let i = 0; i < half; i++) {
      const freq = Math.pow(theta, (-2 * i) / D);
      for (let t = 0; t < T; t++) {
        const a = (pos0 + t) * freq;
        cs[t * D + i] = Math.cos(a);
        cs[t * D + half + i] = sign * Math.sin(a);
      }
    }
    this.x.rope(px, B, T, H, D, at, po);
  };

  sumSquares = (xs: readonly FloatArray[]): number => {
    let s = 0;
    for (const x of xs) s += this.x.sumSquares(this.ptr(x), x.length);
    return s;
  };

  adamw = (p: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, h: AdamWHyper, coef: number): void => {
    if (coef === 0) return;
    const bc1 = 1 - Math.pow(h.beta1, h.step);
    const bc2 = 1 - Math.pow(h.beta2, h.step);
    this.x.adamw(this.ptr(p), this.ptr(grad), this.ptr(m), this.ptr(v), p.length,
      h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2, coef);
  };
}
