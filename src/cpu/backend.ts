// CpuBackend: the Backend contract (src/tensor/backend.ts) on the CPU, with two
// engines behind one class:
//   - "reference" (the default of `new CpuBackend()`): plain TypeScript kernels
//     (reference/), float32 or float64 storage; what every other engine is tested
//     against, and what the float64 gradient checks use;
//   - "wasm": WebAssembly SIMD kernels (wasm/, built from kernels/wasm/) over one
//     WebAssembly memory that holds every tensor; what `--backend cpu` runs.
// This class checks every input and allocates every output; the kernel set does the
// arithmetic (kernels.ts). On the wasm engine an allocation can grow the memory,
// which detaches typed-array views taken before it: so each method allocates its
// outputs first and only then takes the views it passes to a kernel.
//
// - precision "f32" stores float tensors in Float32Array (what the GPU does);
//   "f64" stores them in Float64Array, for finite-difference gradient checks.
//   i32 tensors always use Int32Array. Kernels accumulate sums in float64 and
//   round once on store.
// - Every method validates its inputs (liveness, dtype, shapes, index ranges)
//   and throws FreedTensorError / DTypeError / ShapeError / RangeError with a
//   message that names the op and the shapes involved.
// - stats(): `dispatches` counts op calls (one per method that computes
//   something), `uploads` upload() calls, `readbacks` read() calls, `liveBytes`
//   the bytes of live storage as actually held (4 B/element for f32 and i32,
//   8 B/element for floats in f64 mode), `pooledBytes` equals `liveBytes`
//   (there is no pool), `submits` stays 0. FLOPs: 2·M·N·K per matmul,
//   2·B·Hq·Tq·Tk·(D + Dv) for attention forward (= 4·B·H·Tq·Tk·D when Dv = D),
//   2·B·Hq·Tq·Tk·(3D + 2Dv) for its backward, and 1 per element elsewhere (the
//   larger of the input and output element counts).

import {
  type AdamWHyper, type AttentionOptions, type Backend, type BackendStats, type BinaryOp, type DType,
  type FloatArray, type HostArray, type MatmulOptions, type RawTensor, type ReduceOp, type RopeOptions,
  type Shape, type UnaryOp,
  BINARY_OPS, DTypeError, FreedTensorError, ShapeError, UNARY_OPS,
  attentionShape, broadcastShapes, checkDType, checkLive, fmtShape, groupedGradWShape, groupedMatmulShape, matmulShape,
  normAxis, shapeSize,
} from "../tensor/backend.js";
import { checkWriteSlice } from "../tensor/strides.js";
import { type CpuKernels, referenceKernels } from "./kernels.js";
import {
  checkIndexRange, gatherLastKernel, gatherRowsKernel, scatterAddLastKernel, scatterAddRowsKernel, topkKernel,
} from "./reference/indexing.js";
import { copyAxisBlock, permuteKernel, splitAt } from "./reference/layout.js";
import { checkOffsets, moeSortKernel } from "./reference/moe.js";
import { clipCoefficientValue } from "./reference/optim.js";
import { reduceKernel, sumToKernel } from "./reference/reduce.js";
import { CpuStorage, CpuTensor } from "./tensor.js";
import type { WasmEngine } from "./wasm/engine.js";

export type CpuPrecision = "f32" | "f64";

export interface CpuBackendOptions {
  /** storage for float tensors: Float32Array ("f32", default) or Float64Array ("f64"; reference engine only) */
  precision?: CpuPrecision;
  /**
   * The WebAssembly engine to run on (from createWasmEngine / createWasmEngineSync in
   * wasm/engine.ts); without one, the reference kernels run on plain typed arrays.
   * `createCpuBackend()` (index.ts) makes the right one for you.
   */
  wasm?: WasmEngine;
}

/** F(t): the float view of a tensor, taken after the op's allocations (see the header) */
const F = (t: CpuTensor): FloatArray => t.data as FloatArray;
const I = (t: CpuTensor): Int32Array => t.data as Int32Array;

const MAX_RANK = 6;

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class CpuBackend implements Backend {
  readonly name = "cpu" as const;
  readonly description: string;
  readonly precision: CpuPrecision;
  /** "reference" or "wasm-simd" */
  readonly engine: string;
  private readonly k: CpuKernels;
  private readonly wasm: WasmEngine | null;

  // Live tensors are not tracked (a tensor the caller drops without free() is
  // simply garbage-collected); destroy() flips this flag instead, which makes
  // every tensor of this backend read as freed.
  private _destroyed = false;
  private counters: BackendStats = {
    dispatches: 0, submits: 0, readbacks: 0, uploads: 0, liveBytes: 0, pooledBytes: 0, flops: 0,
  };

  constructor(opts: CpuBackendOptions = {}) {
    this.precision = opts.precision ?? "f32";
    if (this.precision !== "f32" && this.precision !== "f64") {
      throw new Error(`CpuBackend: precision must be "f32" or "f64", got ${String(this.precision)}`);
    }
    this.wasm = opts.wasm ?? null;
    if (this.wasm && this.precision !== "f32") throw new Error("CpuBackend: the WebAssembly engine stores float32 only");
    this.k = this.wasm ? this.wasm.kernels : referenceKernels;
    this.engine = this.k.name;
    this.description = this.wasm ? "CPU (WebAssembly SIMD, float32)" : this.precision === "f64" ? "CPU (float64)" : "CPU (float32)";
  }

  // ---- internals ---------------------------------------------------------------

  private checkShape(op: string, shape: Shape): void {
    if (!Array.isArray(shape)) throw new ShapeError(`${op}: shape must be an array of sizes`);
    if (shape.length > MAX_RANK) throw new ShapeError(`${op}: shape ${fmtShape(shape)} has rank ${shape.length} > ${MAX_RANK}`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${op}: shape ${fmtShape(shape)} has an invalid size ${d}`);
    }
  }

  private newArray(n: number, dtype: DType): HostArray {
    if (dtype === "i32") return new Int32Array(n);
    return this.precision === "f64" ? new Float64Array(n) : new Float32Array(n);
  }

  /**
   * A new tensor. Its elements are zero unless `overwrite` says the op's kernel
   * writes every one of them (the wasm heap reuses blocks, so zeroing costs a pass).
   */
  private alloc(op: string, shape: Shape, dtype: DType, overwrite = false): CpuTensor {
    if (this._destroyed) throw new Error(`${op}: the CPU backend was destroyed`);
    this.checkShape(op, shape);
    const n = shapeSize(shape);
    const storage = this.wasm ? this.wasm.heap.storage(n, dtype, !overwrite) : new CpuStorage(this.newArray(n, dtype));
    const t = new CpuTensor(this, shape, dtype, storage);
    this.counters.liveBytes += storage.byteLength;
    return t;
  }

  private allocF(op: string, shape: Shape, overwrite = false): CpuTensor {
    return this.alloc(op, shape, "f32", overwrite);
  }

  /** a live f32 tensor of this backend */
  private f32(op: string, x: RawTensor, what = "input"): CpuTensor {
    const t = this.cpu(op, x);
    checkDType(op, t, "f32", what);
    return t;
  }

  /** a live i32 tensor of this backend */
  private i32(op: string, x: RawTensor, what = "indices"): CpuTensor {
    const t = this.cpu(op, x);
    checkDType(op, t, "i32", what);
    return t;
  }

  /** a live tensor of this backend */
  private cpu(op: string, x: RawTensor): CpuTensor {
    if (!(x instanceof CpuTensor)) throw new TypeError(`${op}: expected a tensor made by a CpuBackend`);
    if (x.owner !== this) throw new TypeError(`${op}: the tensor of shape ${fmtShape(x.shape)} belongs to another backend`);
    if (this._destroyed) throw new FreedTensorError(`${op}: the CPU backend was destroyed`);
    checkLive(op, x);
    return x;
  }

  private count(flops: number): void {
    this.counters.dispatches++;
    this.counters.flops += flops;
  }

  private expectShape(op: string, what: string, got: Shape, want: Shape, ref = ""): void {
    if (!sameShape(got, want)) {
      throw new ShapeError(`${op}: ${what} has shape ${fmtShape(got)} but ${ref || `${fmtShape(want)} was expected`}`);
    }
  }

  // ---- memory --------------------------------------------------------------------

  upload(data: ArrayLike<number>, shape: Shape, dtype: DType): RawTensor {
    if (dtype !== "f32" && dtype !== "i32") throw new DTypeError(`upload: unknown dtype ${String(dtype)}`);
    this.checkShape("upload", shape);
    const n = shapeSize(shape);
    if (data.length !== n) {
      throw new ShapeError(`upload: data has ${data.length} elements but shape ${fmtShape(shape)} needs ${n}`);
    }
    if (dtype === "i32") {
      for (let i = 0; i < n; i++) {
        const v = data[i]!;
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
          throw new DTypeError(`upload: i32 data has a non-integer value ${v} at position ${i}`);
        }
      }
    }
    const t = this.alloc("upload", shape, dtype);
    const d = t.data;
    if (ArrayBuffer.isView(data)) d.set(data as unknown as ArrayLike<number>);
    else for (let i = 0; i < n; i++) d[i] = data[i]!;
    this.counters.uploads++;
    return t;
  }

  fill(shape: Shape, value: number, dtype: DType): RawTensor {
    if (dtype !== "f32" && dtype !== "i32") throw new DTypeError(`fill: unknown dtype ${String(dtype)}`);
    if (dtype === "i32" && !Number.isInteger(value)) throw new DTypeError(`fill: i32 fill value must be an integer, got ${value}`);
    const t = this.alloc("fill", shape, dtype);
    if (value !== 0) t.data.fill(value);
    this.count(t.size);
    return t;
  }

  async read(t: RawTensor): Promise<HostArray> {
    return this.readSync(t);
  }

  /** read() without the promise (CPU only): a copy of the tensor's data */
  readSync(t: RawTensor): HostArray {
    const x = this.cpu("read", t);
    this.counters.readbacks++;
    return x.data.slice();
  }

  free(t: RawTensor): void {
    const x = this.cpu("free", t);
    if (x.markFreed()) this.counters.liveBytes -= x.storage.byteLength;
  }

  reshape(t: RawTensor, shape: Shape): RawTensor {
    const x = this.cpu("reshape", t);
    this.checkShape("reshape", shape);
    if (shapeSize(shape) !== x.size) {
      throw new ShapeError(`reshape: cannot view shape ${fmtShape(x.shape)} (${x.size} elements) as ${fmtShape(shape)} (${shapeSize(shape)} elements)`);
    }
    x.storage.refs++;
    return new CpuTensor(this, shape, x.dtype, x.storage);
  }

  flush(): void {
    // nothing is queued on the CPU
  }

  stats(): BackendStats {
    const pooled = this.wasm ? this.wasm.heap.capacity : this.counters.liveBytes;
    return { ...this.counters, pooledBytes: pooled };
  }

  resetStats(): void {
    const live = this.counters.liveBytes;
    this.counters = { dispatches: 0, submits: 0, readbacks: 0, uploads: 0, liveBytes: live, pooledBytes: 0, flops: 0 };
  }

  get destroyed(): boolean {
    return this._destroyed;
  }

  destroy(): void {
    this._destroyed = true;
    this.counters.liveBytes = 0;
  }

  // ---- dense math ----------------------------------------------------------------

  matmul(a: RawTensor, b: RawTensor, opts: MatmulOptions = {}): RawTensor {
    const ad = this.f32("matmul", a, "a");
    const bd = this.f32("matmul", b, "b");
    const s = matmulShape(a.shape, b.shape, opts);
    const t = this.allocF("matmul", s.outShape, true);
    const { M, N, K } = s;
    this.k.batchedGemm(F(ad), F(bd), F(t), s.batchCount, M, N, K, !!opts.transA, !!opts.transB, s.aShared, s.bShared);
    this.count(2 * s.batchCount * M * N * K);
    return t;
  }

  binary(op: BinaryOp, a: RawTensor, b: RawTensor): RawTensor {
    if (!BINARY_OPS.includes(op)) throw new Error(`binary: unknown op ${String(op)}`);
    const ad = this.f32(op, a, "a");
    const bd = this.f32(op, b, "b");
    const shape = broadcastShapes(op, a.shape, b.shape);
    const t = this.allocF(op, shape, true);
    this.k.binary(op, F(ad), a.shape, F(bd), b.shape, F(t), shape);
    this.count(t.size);
    return t;
  }

  affine(x: RawTensor, alpha: number, beta: number): RawTensor {
    const xd = this.f32("affine", x);
    const t = this.allocF("affine", x.shape, true);
    this.k.affine(F(xd), alpha, beta, F(t));
    this.count(t.size);
    return t;
  }

  unary(op: UnaryOp, x: RawTensor): RawTensor {
    if (!UNARY_OPS.includes(op)) throw new Error(`unary: unknown op ${String(op)}`);
    const xd = this.f32(op, x);
    const t = this.allocF(op, x.shape, true);
    this.k.unary(op, F(xd), F(t));
    this.count(t.size);
    return t;
  }

  unaryBackward(op: UnaryOp, x: RawTensor, dy: RawTensor): RawTensor {
    const name = `unaryBackward(${op})`;
    if (!UNARY_OPS.includes(op)) throw new Error(`unaryBackward: unknown op ${String(op)}`);
    const xd = this.f32(name, x, "x");
    const gd = this.f32(name, dy, "dy");
    this.expectShape(name, "dy", dy.shape, x.shape, `x has shape ${fmtShape(x.shape)}`);
    const t = this.allocF(name, x.shape, true);
    this.k.unaryBackward(op, F(xd), F(gd), F(t));
    this.count(t.size);
    return t;
  }

  reduce(op: ReduceOp, x: RawTensor, axis: number): RawTensor {
    const name = `reduce(${op})`;
    if (op !== "sum" && op !== "mean" && op !== "max") throw new Error(`reduce: unknown op ${String(op)}`);
    const xd = this.f32(name, x);
    const ax = normAxis(name, axis, x.shape.length);
    const { outer, n, inner } = splitAt(x.shape, ax);
    if (n === 0) throw new ShapeError(`${name}: cannot reduce over an empty axis ${ax} of shape ${fmtShape(x.shape)}`);
    const outShape = x.shape.map((dim, i) => (i === ax ? 1 : dim));
    const t = this.allocF(name, outShape);
    reduceKernel(op, F(xd), outer, n, inner, F(t));
    this.count(x.size);
    return t;
  }

  sumTo(x: RawTensor, shape: Shape): RawTensor {
    const xd = this.f32("sumTo", x);
    this.checkShape("sumTo", shape);
    const xs = x.shape;
    const bad = () => new ShapeError(`sumTo: shape ${fmtShape(xs)} cannot be summed to ${fmtShape(shape)} (it is not a shape ${fmtShape(xs)} was broadcast from)`);
    if (shape.length > xs.length) throw bad();
    const off = xs.length - shape.length;
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] !== xs[off + i] && shape[i] !== 1) throw bad();
    }
    const t = this.allocF("sumTo", shape);
    sumToKernel(F(xd), xs, shape, F(t));
    this.count(x.size);
    return t;
  }

  // ---- rows ------------------------------------------------------------------------

  private rowsOf(op: string, x: RawTensor): { rows: number; n: number } {
    if (x.shape.length < 1) throw new ShapeError(`${op}: needs rank ≥ 1, got shape ${fmtShape(x.shape)}`);
    const n = x.shape[x.shape.length - 1]!;
    if (n === 0) throw new ShapeError(`${op}: the last axis of shape ${fmtShape(x.shape)} is empty`);
    return { rows: x.size / n, n };
  }

  softmax(x: RawTensor): RawTensor {
    return this.softmaxImpl("softmax", x, false);
  }

  logSoftmax(x: RawTensor): RawTensor {
    return this.softmaxImpl("logSoftmax", x, true);
  }

  private softmaxImpl(op: string, x: RawTensor, log: boolean): RawTensor {
    const xd = this.f32(op, x);
    const { rows, n } = this.rowsOf(op, x);
    const t = this.allocF(op, x.shape, true);
    this.k.softmax(F(xd), rows, n, F(t), log);
    this.count(x.size);
    return t;
  }

  softmaxBackward(y: RawTensor, dy: RawTensor): RawTensor {
    return this.softmaxBackwardImpl("softmaxBackward", y, dy, false);
  }

  logSoftmaxBackward(y: RawTensor, dy: RawTensor): RawTensor {
    return this.softmaxBackwardImpl("logSoftmaxBackward", y, dy, true);
  }

  private softmaxBackwardImpl(op: string, y: RawTensor, dy: RawTensor, log: boolean): RawTensor {
    const yd = this.f32(op, y, "y");
    const gd = this.f32(op, dy, "dy");
    this.expectShape(op, "dy", dy.shape, y.shape, `y has shape ${fmtShape(y.shape)}`);
    const { rows, n } = this.rowsOf(op, y);
    const t = this.allocF(op, y.shape, true);
    this.k.softmaxBackward(F(yd), F(gd), rows, n, F(t), log);
    this.count(y.size);
    return t;
  }

  private ceCheck(op: string, logits: RawTensor, targets: RawTensor, mask: RawTensor | null) {
    const ld = this.f32(op, logits, "logits");
    const td = this.i32(op, targets, "targets");
    const md = mask === null ? null : this.f32(op, mask, "mask");
    const { rows, n: V } = this.rowsOf(op, logits);
    const rowShape = logits.shape.slice(0, -1);
    if (!sameShape(targets.shape, rowShape)) {
      throw new ShapeError(`${op}: logits ${fmtShape(logits.shape)} and targets ${fmtShape(targets.shape)} disagree (targets must be ${fmtShape(rowShape)})`);
    }
    if (mask !== null && !sameShape(mask.shape, rowShape)) {
      throw new ShapeError(`${op}: logits ${fmtShape(logits.shape)} and mask ${fmtShape(mask.shape)} disagree (mask must be ${fmtShape(rowShape)})`);
    }
    const tv = I(td);
    for (let r = 0; r < rows; r++) {
      const v = tv[r]!;
      if (v < 0 || v >= V) throw new RangeError(`${op}: target ${v} of row ${r} is out of range for ${V} classes (valid: 0..${V - 1})`);
    }
    return { ld, td, md, rows, V, rowShape };
  }

  crossEntropy(logits: RawTensor, targets: RawTensor, mask: RawTensor | null): { loss: RawTensor; lse: RawTensor } {
    const op = "crossEntropy";
    const { ld, td, md, rows, V, rowShape } = this.ceCheck(op, logits, targets, mask);
    const loss = this.allocF(op, rowShape, true);
    const lse = this.allocF(op, rowShape, true);
    this.k.crossEntropy(F(ld), I(td), md ? F(md) : null, rows, V, F(loss), F(lse));
    this.count(rows * V);
    return { loss, lse };
  }

  crossEntropyBackward(
    logits: RawTensor, targets: RawTensor, mask: RawTensor | null, lse: RawTensor, dloss: RawTensor,
  ): RawTensor {
    const op = "crossEntropyBackward";
    const { ld, td, md, rows, V, rowShape } = this.ceCheck(op, logits, targets, mask);
    const sd = this.f32(op, lse, "lse");
    const gd = this.f32(op, dloss, "dloss");
    this.expectShape(op, "lse", lse.shape, rowShape, `logits have shape ${fmtShape(logits.shape)}`);
    this.expectShape(op, "dloss", dloss.shape, rowShape, `logits have shape ${fmtShape(logits.shape)}`);
    const t = this.allocF(op, logits.shape, true);
    this.k.crossEntropyBackward(F(ld), I(td), md ? F(md) : null, F(sd), F(gd), rows, V, F(t));
    this.count(rows * V);
    return t;
  }

  rmsnorm(x: RawTensor, w: RawTensor, eps: number): { y: RawTensor; rstd: RawTensor } {
    const op = "rmsnorm";
    const xd = this.f32(op, x, "x");
    const wd = this.f32(op, w, "w");
    const { rows, n: D } = this.rowsOf(op, x);
    this.expectShape(op, "w", w.shape, [D], `x has shape ${fmtShape(x.shape)} (w must be [${D}])`);
    const y = this.allocF(op, x.shape, true);
    const rstd = this.allocF(op, x.shape.slice(0, -1), true);
    this.k.rmsnorm(F(xd), F(wd), eps, rows, D, F(y), F(rstd));
    this.count(x.size);
    return { y, rstd };
  }

  rmsnormBackward(x: RawTensor, w: RawTensor, rstd: RawTensor, dy: RawTensor): { dx: RawTensor; dw: RawTensor } {
    const op = "rmsnormBackward";
    const xd = this.f32(op, x, "x");
    const wd = this.f32(op, w, "w");
    const rd = this.f32(op, rstd, "rstd");
    const gd = this.f32(op, dy, "dy");
    const { rows, n: D } = this.rowsOf(op, x);
    const ref = `x has shape ${fmtShape(x.shape)}`;
    this.expectShape(op, "w", w.shape, [D], ref);
    this.expectShape(op, "rstd", rstd.shape, x.shape.slice(0, -1), ref);
    this.expectShape(op, "dy", dy.shape, x.shape, ref);
    const dx = this.allocF(op, x.shape, true);
    const dw = this.allocF(op, [D], true);
    this.k.rmsnormBackward(F(xd), F(wd), F(rd), F(gd), rows, D, F(dx), F(dw));
    this.count(x.size);
    return { dx, dw };
  }

  // ---- indexing ----------------------------------------------------------------------

  gatherRows(table: RawTensor, idx: RawTensor): RawTensor {
    const op = "gatherRows";
    const td = this.f32(op, table, "table");
    const id = this.i32(op, idx, "idx");
    if (table.shape.length !== 2) throw new ShapeError(`${op}: table must be [V, D], got ${fmtShape(table.shape)} (idx ${fmtShape(idx.shape)})`);
    const [V, D] = table.shape as [number, number];
    checkIndexRange(op, I(id), V, `a table of ${V} rows`);
    const t = this.allocF(op, [...idx.shape, D]);
    gatherRowsKernel(F(td), I(id), D, F(t));
    this.count(t.size);
    return t;
  }

  scatterAddRows(src: RawTensor, idx: RawTensor, rows: number): RawTensor {
    const op = "scatterAddRows";
    const sd = this.f32(op, src, "src");
    const id = this.i32(op, idx, "idx");
    if (!Number.isInteger(rows) || rows < 1) throw new ShapeError(`${op}: rows must be a positive integer, got ${rows}`);
    if (src.shape.length !== idx.shape.length + 1 || !sameShape(src.shape.slice(0, -1), idx.shape)) {
      throw new ShapeError(`${op}: src ${fmtShape(src.shape)} must be [...idx.shape, D] for idx ${fmtShape(idx.shape)}`);
    }
    const D = src.shape[src.shape.length - 1]!;
    checkIndexRange(op, I(id), rows, `${rows} rows`);
    const t = this.allocF(op, [rows, D]);
    scatterAddRowsKernel(F(sd), I(id), D, rows, F(t));
    this.count(src.size);
    return t;
  }

  private lastAxisPair(op: string, x: Shape, idx: Shape, xName: string): { R: number; k: number } {
    if (x.length < 1 || x.length !== idx.length || !sameShape(x.slice(0, -1), idx.slice(0, -1))) {
      throw new ShapeError(`${op}: ${xName} ${fmtShape(x)} and idx ${fmtShape(idx)} must agree on every axis but the last`);
    }
    const k = idx[idx.length - 1]!;
    return { R: shapeSize(idx.slice(0, -1)), k };
  }

  gatherLast(x: RawTensor, idx: RawTensor): RawTensor {
    const op = "gatherLast";
    const xd = this.f32(op, x, "x");
    const id = this.i32(op, idx, "idx");
    const { R, k } = this.lastAxisPair(op, x.shape, idx.shape, "x");
    const E = x.shape[x.shape.length - 1]!;
    checkIndexRange(op, I(id), E, `a last axis of size ${E}`);
    const t = this.allocF(op, idx.shape);
    gatherLastKernel(F(xd), I(id), R, E, k, F(t));
    this.count(t.size);
    return t;
  }

  scatterAddLast(src: RawTensor, idx: RawTensor, E: number): RawTensor {
    const op = "scatterAddLast";
    const sd = this.f32(op, src, "src");
    const id = this.i32(op, idx, "idx");
    if (!Number.isInteger(E) || E < 1) throw new ShapeError(`${op}: E must be a positive integer, got ${E}`);
    if (!sameShape(src.shape, idx.shape) || src.shape.length < 1) {
      throw new ShapeError(`${op}: src ${fmtShape(src.shape)} and idx ${fmtShape(idx.shape)} must have the same shape (rank ≥ 1)`);
    }
    const { R, k } = this.lastAxisPair(op, src.shape, idx.shape, "src");
    checkIndexRange(op, I(id), E, `a last axis of size ${E}`);
    const t = this.allocF(op, [...src.shape.slice(0, -1), E]);
    scatterAddLastKernel(F(sd), I(id), R, E, k, F(t));
    this.count(src.size);
    return t;
  }

  topk(x: RawTensor, k: number): { values: RawTensor; indices: RawTensor } {
    const op = "topk";
    const xd = this.f32(op, x);
    const { rows, n: E } = this.rowsOf(op, x);
    if (!Number.isInteger(k) || k < 1 || k > E) throw new ShapeError(`${op}: k = ${k} must be in 1..${E} for shape ${fmtShape(x.shape)}`);
    const outShape = [...x.shape.slice(0, -1), k];
    const values = this.allocF(op, outShape);
    const indices = this.alloc(op, outShape, "i32");
    topkKernel(F(xd), rows, E, k, F(values), indices.data as Int32Array);
    this.count(x.size);
    return { values, indices };
  }

  // ---- mixture of experts: sparse dispatch -------------------------------------------

  moeSort(indices: RawTensor, E: number): { offsets: RawTensor; tokens: RawTensor; slot: RawTensor; order: RawTensor } {
    const op = "moeSort";
    const id = this.i32(op, indices);
    if (indices.shape.length !== 2) throw new ShapeError(`${op}: indices must be [N, k], got ${fmtShape(indices.shape)}`);
    if (!Number.isInteger(E) || E < 1) throw new ShapeError(`${op}: E must be a positive integer, got ${E}`);
    checkIndexRange(op, I(id), E, `${E} experts`);
    const offsets = this.alloc(op, [E + 1], "i32", true);
    const tokens = this.alloc(op, [indices.size], "i32", true);
    const slot = this.alloc(op, indices.shape, "i32", true);
    const order = this.alloc(op, [indices.size], "i32", true);
    moeSortKernel(I(id), indices.shape[1]!, E, I(offsets), I(tokens), I(slot), I(order));
    this.count(indices.size);
    return { offsets, tokens, slot, order };
  }

  groupedMatmul(x: RawTensor, w: RawTensor, offsets: RawTensor, transB: boolean): RawTensor {
    const op = "groupedMatmul";
    const xd = this.f32(op, x, "x");
    const wd = this.f32(op, w, "w");
    const od = this.i32(op, offsets, "offsets");
    const { R, E, K, N } = groupedMatmulShape(x.shape, w.shape, offsets.shape, transB);
    checkOffsets(op, I(od), R);
    const t = this.allocF(op, [R, N], true);
    const [xs, ws, ys, off] = [F(xd), F(wd), F(t), I(od)];
    // each expert's block of rows times its matrix: one plain matmul per expert
    for (let e = 0; e < E; e++) {
      const lo = off[e]!, hi = off[e + 1]!;
      if (hi === lo) continue;
      this.k.batchedGemm(xs.subarray(lo * K, hi * K), ws.subarray(e * K * N, (e + 1) * K * N), ys.subarray(lo * N, hi * N), 1, hi - lo, N, K, false, transB, false, false);
    }
    this.count(2 * R * N * K);
    return t;
  }

  groupedMatmulGradW(dy: RawTensor, x: RawTensor, offsets: RawTensor, E: number): RawTensor {
    const op = "groupedMatmulGradW";
    const gd = this.f32(op, dy, "dy");
    const xd = this.f32(op, x, "x");
    const od = this.i32(op, offsets, "offsets");
    const { R, A, B } = groupedGradWShape(dy.shape, x.shape, offsets.shape, E);
    checkOffsets(op, I(od), R);
    const t = this.allocF(op, [E, A, B]); // zeroed: an expert without rows gets a zero gradient
    const [gs, xs, ws, off] = [F(gd), F(xd), F(t), I(od)];
    for (let e = 0; e < E; e++) {
      const lo = off[e]!, hi = off[e + 1]!;
      if (hi === lo) continue;
      // dw[e] [A, B] = dy[lo:hi]ᵀ · x[lo:hi]
      this.k.batchedGemm(gs.subarray(lo * A, hi * A), xs.subarray(lo * B, hi * B), ws.subarray(e * A * B, (e + 1) * A * B), 1, A, B, hi - lo, true, false, false, false);
    }
    this.count(2 * R * A * B);
    return t;
  }

  // ---- layout ------------------------------------------------------------------------

  permute(x: RawTensor, perm: readonly number[]): RawTensor {
    const xt = this.cpu("permute", x);
    const r = x.shape.length;
    const seen = new Array<boolean>(r).fill(false);
    const ok = perm.length === r && perm.every((p) => Number.isInteger(p) && p >= 0 && p < r && !seen[p] && (seen[p] = true));
    if (!ok) throw new ShapeError(`permute: [${perm.join(", ")}] is not a permutation of the axes of shape ${fmtShape(x.shape)}`);
    const outShape = perm.map((p) => x.shape[p]!);
    const t = this.alloc("permute", outShape, x.dtype);
    permuteKernel(xt.data, x.shape, perm, t.data);
    this.count(t.size);
    return t;
  }

  slice(x: RawTensor, axis: number, start: number, end: number): RawTensor {
    const xt = this.cpu("slice", x);
    const ax = normAxis("slice", axis, x.shape.length);
    const n = x.shape[ax]!;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw new ShapeError(`slice: range ${start}..${end} is invalid for axis ${ax} of shape ${fmtShape(x.shape)} (need 0 ≤ start ≤ end ≤ ${n})`);
    }
    const outShape = x.shape.map((d, i) => (i === ax ? end - start : d));
    const t = this.alloc("slice", outShape, x.dtype);
    const { outer, inner } = splitAt(x.shape, ax);
    copyAxisBlock(xt.data, n, start, t.data, end - start, 0, outer, end - start, inner);
    this.count(t.size);
    return t;
  }

  concat(xs: readonly RawTensor[], axis: number): RawTensor {
    if (xs.length === 0) throw new ShapeError("concat: needs at least one tensor");
    const ts = xs.map((x) => this.cpu("concat", x));
    const first = ts[0]!;
    const ax = normAxis("concat", axis, first.shape.length);
    let total = 0;
    for (const t of ts) {
      if (t.dtype !== first.dtype) {
        throw new DTypeError(`concat: dtypes differ (${first.dtype} ${fmtShape(first.shape)} and ${t.dtype} ${fmtShape(t.shape)})`);
      }
      const ok = t.shape.length === first.shape.length && t.shape.every((d, i) => i === ax || d === first.shape[i]);
      if (!ok) {
        throw new ShapeError(`concat: shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ on an axis other than ${ax}`);
      }
      total += t.shape[ax]!;
    }
    const outShape = first.shape.map((d, i) => (i === ax ? total : d));
    const out = this.alloc("concat", outShape, first.dtype);
    const { outer, inner } = splitAt(outShape, ax);
    let at = 0;
    for (const t of ts) {
      const len = t.shape[ax]!;
      copyAxisBlock(t.data, len, 0, out.data, total, at, outer, len, inner);
      at += len;
    }
    this.count(out.size);
    return out;
  }

  writeSlice(dst: RawTensor, src: RawTensor, axis: number, start: number): void {
    const dt = this.cpu("writeSlice", dst);
    const st = this.cpu("writeSlice", src);
    const { ax, len, n } = checkWriteSlice(dst, src, axis, start);
    const { outer, inner } = splitAt(dst.shape, ax);
    copyAxisBlock(st.data, len, 0, dt.data, n, start, outer, len, inner);
    this.count(src.size);
  }

  // ---- transformer ops --------------------------------------------------------------------

  rope(x: RawTensor, opts: RopeOptions): RawTensor {
    const op = "rope";
    const xd = this.f32(op, x);
    if (x.shape.length !== 4) throw new ShapeError(`${op}: x must be [B, T, H, D], got ${fmtShape(x.shape)}`);
    const [B, T, H, D] = x.shape as [number, number, number, number];
    if (D % 2 !== 0) throw new ShapeError(`${op}: head size D must be even, got shape ${fmtShape(x.shape)}`);
    const t = this.allocF(op, x.shape, true);
    this.k.rope(F(xd), B, T, H, D, opts.pos0, opts.theta, opts.inverse, F(t));
    this.count(t.size);
    return t;
  }

  attention(q: RawTensor, k: RawTensor, v: RawTensor, opts: AttentionOptions): { out: RawTensor; lse: RawTensor } {
    const op = "attention";
    const qd = this.f32(op, q, "q");
    const kd = this.f32(op, k, "k");
    const vd = this.f32(op, v, "v");
    const dims = attentionShape(q.shape, k.shape, v.shape, opts);
    const keyStart = opts.keyStart ? this.i32(op, opts.keyStart, "keyStart") : null;
    const { B, Tq, Hq, Dv, Tk, D } = dims;
    const out = this.allocF(op, [B, Tq, Hq, Dv], true);
    const lse = this.allocF(op, [B, Tq, Hq], true);
    this.k.attention(F(qd), F(kd), F(vd), dims, opts.scale, opts.causal, keyStart ? I(keyStart) : null, F(out), F(lse));
    this.count(2 * B * Hq * Tq * Tk * (D + Dv));
    return { out, lse };
  }

  attentionBackward(
    q: RawTensor, k: RawTensor, v: RawTensor, out: RawTensor, lse: RawTensor, dout: RawTensor, opts: AttentionOptions,
  ): { dq: RawTensor; dk: RawTensor; dv: RawTensor } {
    const op = "attentionBackward";
    const qd = this.f32(op, q, "q");
    const kd = this.f32(op, k, "k");
    const vd = this.f32(op, v, "v");
    const od = this.f32(op, out, "out");
    const ld = this.f32(op, lse, "lse");
    const gd = this.f32(op, dout, "dout");
    const dims = attentionShape(q.shape, k.shape, v.shape, opts);
    const keyStart = opts.keyStart ? this.i32(op, opts.keyStart, "keyStart") : null;
    const { B, Tq, Hq, Dv, Tk, D } = dims;
    const ref = `q ${fmtShape(q.shape)}, v ${fmtShape(v.shape)}`;
    this.expectShape(op, "out", out.shape, [B, Tq, Hq, Dv], `${ref} need [${B}, ${Tq}, ${Hq}, ${Dv}]`);
    this.expectShape(op, "dout", dout.shape, [B, Tq, Hq, Dv], `${ref} need [${B}, ${Tq}, ${Hq}, ${Dv}]`);
    this.expectShape(op, "lse", lse.shape, [B, Tq, Hq], `${ref} need [${B}, ${Tq}, ${Hq}]`);
    const dq = this.allocF(op, q.shape, true);
    const dk = this.allocF(op, k.shape, true);
    const dv = this.allocF(op, v.shape, true);
    this.k.attentionBackward(F(qd), F(kd), F(vd), F(od), F(ld), F(gd), dims, opts.scale, opts.causal, keyStart ? I(keyStart) : null, F(dq), F(dk), F(dv));
    this.count(2 * B * Hq * Tq * Tk * (3 * D + 2 * Dv));
    return { dq, dk, dv };
  }

  // ---- optimiser ------------------------------------------------------------------------------

  sumSquares(xs: readonly RawTensor[]): RawTensor {
    const op = "sumSquares";
    const arrays = xs.map((x) => this.f32(op, x));
    const t = this.allocF(op, [1]);
    F(t)[0] = this.k.sumSquares(arrays.map(F));
    let n = 0;
    for (const a of arrays) n += a.size;
    this.count(n);
    return t;
  }

  clipCoefficient(sumSq: RawTensor, maxNorm: number): RawTensor {
    const op = "clipCoefficient";
    const sd = this.f32(op, sumSq, "sumSq");
    if (sumSq.size !== 1) throw new ShapeError(`${op}: sumSq must hold one value, got shape ${fmtShape(sumSq.shape)}`);
    const t = this.allocF(op, [1]);
    F(t)[0] = clipCoefficientValue(F(sd)[0]!, maxNorm);
    this.count(1);
    return t;
  }

  adamw(param: RawTensor, grad: RawTensor, m: RawTensor, v: RawTensor, hyper: AdamWHyper, coef: RawTensor): void {
    const op = "adamw";
    const pd = this.f32(op, param, "param");
    const gd = this.f32(op, grad, "grad");
    const md = this.f32(op, m, "m");
    const vd = this.f32(op, v, "v");
    const cd = this.f32(op, coef, "coef");
    const ref = `param has shape ${fmtShape(param.shape)}`;
    this.expectShape(op, "grad", grad.shape, param.shape, ref);
    this.expectShape(op, "m", m.shape, param.shape, ref);
    this.expectShape(op, "v", v.shape, param.shape, ref);
    if (coef.size !== 1) throw new ShapeError(`${op}: coef must hold one value, got shape ${fmtShape(coef.shape)}`);
    if (!(hyper.step >= 1)) throw new RangeError(`${op}: step is 1-based, got ${hyper.step}`);
    this.k.adamw(F(pd), F(gd), F(md), F(vd), hyper, F(cd)[0]!);
    this.count(param.size);
  }
}
