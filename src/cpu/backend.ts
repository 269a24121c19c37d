// CpuBackend: the reference implementation of the Backend contract
// (src/tensor/backend.ts) on typed arrays.
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
  attentionShape, broadcastShapes, checkDType, checkLive, fmtShape, matmulShape, normAxis, shapeSize,
} from "../tensor/backend.js";
import { checkWriteSlice } from "../tensor/strides.js";
import { attentionBackwardKernel, attentionKernel, ropeKernel } from "./attention.js";
import { affineKernel, binaryKernel, unaryBackwardKernel, unaryKernel } from "./elementwise.js";
import {
  checkIndexRange, gatherLastKernel, gatherRowsKernel, scatterAddLastKernel, scatterAddRowsKernel, topkKernel,
} from "./indexing.js";
import { copyAxisBlock, permuteKernel, splitAt } from "./layout.js";
import { batchedGemm } from "./matmul.js";
import { adamwKernel, clipCoefficientValue, sumSquaresKernel } from "./optim.js";
import { reduceKernel, sumToKernel } from "./reduce.js";
import {
  crossEntropyBackwardKernel, crossEntropyKernel, rmsnormBackwardKernel, rmsnormKernel, softmaxBackwardKernel,
  softmaxKernel,
} from "./rows.js";
import { CpuStorage, CpuTensor } from "./tensor.js";

export type CpuPrecision = "f32" | "f64";

export interface CpuBackendOptions {
  /** storage for float tensors: Float32Array ("f32", default) or Float64Array ("f64") */
  precision?: CpuPrecision;
}

const MAX_RANK = 6;

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class CpuBackend implements Backend {
  readonly name = "cpu" as const;
  readonly description: string;
  readonly precision: CpuPrecision;

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
    this.description = this.precision === "f64" ? "CPU (float64)" : "CPU (float32)";
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

  private alloc(op: string, shape: Shape, dtype: DType): CpuTensor {
    if (this._destroyed) throw new Error(`${op}: the CPU backend was destroyed`);
    this.checkShape(op, shape);
    const storage = new CpuStorage(this.newArray(shapeSize(shape), dtype));
    const t = new CpuTensor(this, shape, dtype, storage);
    this.counters.liveBytes += storage.byteLength;
    return t;
  }

  private allocF(op: string, shape: Shape): { t: CpuTensor; d: FloatArray } {
    const t = this.alloc(op, shape, "f32");
    return { t, d: t.data as FloatArray };
  }

  /** a live tensor of this backend */
  private cpu(op: string, x: RawTensor): CpuTensor {
    if (!(x instanceof CpuTensor)) throw new TypeError(`${op}: expected a tensor made by a CpuBackend`);
    if (x.owner !== this) throw new TypeError(`${op}: the tensor of shape ${fmtShape(x.shape)} belongs to another backend`);
    if (this._destroyed) throw new FreedTensorError(`${op}: the CPU backend was destroyed`);
    checkLive(op, x);
    return x;
  }

  /** data of a live f32 tensor */
  private fdata(op: string, x: RawTensor, what = "input"): FloatArray {
    const t = this.cpu(op, x);
    checkDType(op, t, "f32", what);
    return t.data as FloatArray;
  }

  /** data of a live i32 tensor */
  private idata(op: string, x: RawTensor, what = "indices"): Int32Array {
    const t = this.cpu(op, x);
    checkDType(op, t, "i32", what);
    return t.data as Int32Array;
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
    return { ...this.counters, pooledBytes: this.counters.liveBytes };
  }

  resetStats(): void {
    const live = this.counters.liveBytes;
    this.counters = { dispatches: 0, submits: 0, readbacks: 0, uploads: 0, liveBytes: live, pooledBytes: live, flops: 0 };
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
    const ad = this.fdata("matmul", a, "a");
    const bd = this.fdata("matmul", b, "b");
    const s = matmulShape(a.shape, b.shape, opts);
    const { t, d } = this.allocF("matmul", s.outShape);
    const { M, N, K } = s;
    batchedGemm(ad, bd, d, s.batchCount, M, N, K, !!opts.transA, !!opts.transB, s.aShared, s.bShared);
    this.count(2 * s.batchCount * M * N * K);
    return t;
  }

  binary(op: BinaryOp, a: RawTensor, b: RawTensor): RawTensor {
    if (!BINARY_OPS.includes(op)) throw new Error(`binary: unknown op ${String(op)}`);
    const ad = this.fdata(op, a, "a");
    const bd = this.fdata(op, b, "b");
    const shape = broadcastShapes(op, a.shape, b.shape);
    const { t, d } = this.allocF(op, shape);
    binaryKernel(op, ad, a.shape, bd, b.shape, d, shape);
    this.count(t.size);
    return t;
  }

  affine(x: RawTensor, alpha: number, beta: number): RawTensor {
    const xd = this.fdata("affine", x);
    const { t, d } = this.allocF("affine", x.shape);
    affineKernel(xd, alpha, beta, d);
    this.count(t.size);
    return t;
  }

  unary(op: UnaryOp, x: RawTensor): RawTensor {
    if (!UNARY_OPS.includes(op)) throw new Error(`unary: unknown op ${String(op)}`);
    const xd = this.fdata(op, x);
    const { t, d } = this.allocF(op, x.shape);
    unaryKernel(op, xd, d);
    this.count(t.size);
    return t;
  }

  unaryBackward(op: UnaryOp, x: RawTensor, dy: RawTensor): RawTensor {
    const name = `unaryBackward(${op})`;
    if (!UNARY_OPS.includes(op)) throw new Error(`unaryBackward: unknown op ${String(op)}`);
    const xd = this.fdata(name, x, "x");
    const gd = this.fdata(name, dy, "dy");
    this.expectShape(name, "dy", dy.shape, x.shape, `x has shape ${fmtShape(x.shape)}`);
    const { t, d } = this.allocF(name, x.shape);
    unaryBackwardKernel(op, xd, gd, d);
    this.count(t.size);
    return t;
  }

  reduce(op: ReduceOp, x: RawTensor, axis: number): RawTensor {
    const name = `reduce(${op})`;
    if (op !== "sum" && op !== "mean" && op !== "max") throw new Error(`reduce: unknown op ${String(op)}`);
    const xd = this.fdata(name, x);
    const ax = normAxis(name, axis, x.shape.length);
    const { outer, n, inner } = splitAt(x.shape, ax);
    if (n === 0) throw new ShapeError(`${name}: cannot reduce over an empty axis ${ax} of shape ${fmtShape(x.shape)}`);
    const outShape = x.shape.map((dim, i) => (i === ax ? 1 : dim));
    const { t, d } = this.allocF(name, outShape);
    reduceKernel(op, xd, outer, n, inner, d);
    this.count(x.size);
    return t;
  }

  sumTo(x: RawTensor, shape: Shape): RawTensor {
    const xd = this.fdata("sumTo", x);
    this.checkShape("sumTo", shape);
    const xs = x.shape;
    const bad = () => new ShapeError(`sumTo: shape ${fmtShape(xs)} cannot be summed to ${fmtShape(shape)} (it is not a shape ${fmtShape(xs)} was broadcast from)`);
    if (shape.length > xs.length) throw bad();
    const off = xs.length - shape.length;
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] !== xs[off + i] && shape[i] !== 1) throw bad();
    }
    const { t, d } = this.allocF("sumTo", shape);
    sumToKernel(xd, xs, shape, d);
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
    const xd = this.fdata(op, x);
    const { rows, n } = this.rowsOf(op, x);
    const { t, d } = this.allocF(op, x.shape);
    softmaxKernel(xd, rows, n, d, log);
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
    const yd = this.fdata(op, y, "y");
    const gd = this.fdata(op, dy, "dy");
    this.expectShape(op, "dy", dy.shape, y.shape, `y has shape ${fmtShape(y.shape)}`);
    const { rows, n } = this.rowsOf(op, y);
    const { t, d } = this.allocF(op, y.shape);
    softmaxBackwardKernel(yd, gd, rows, n, d, log);
    this.count(y.size);
    return t;
  }

  private ceCheck(op: string, logits: RawTensor, targets: RawTensor, mask: RawTensor | null) {
    const ld = this.fdata(op, logits, "logits");
    const td = this.idata(op, targets, "targets");
    const md = mask === null ? null : this.fdata(op, mask, "mask");
    const { rows, n: V } = this.rowsOf(op, logits);
    const rowShape = logits.shape.slice(0, -1);
    if (!sameShape(targets.shape, rowShape)) {
      throw new ShapeError(`${op}: logits ${fmtShape(logits.shape)} and targets ${fmtShape(targets.shape)} disagree (targets must be ${fmtShape(rowShape)})`);
    }
    if (mask !== null && !sameShape(mask.shape, rowShape)) {
      throw new ShapeError(`${op}: logits ${fmtShape(logits.shape)} and mask ${fmtShape(mask.shape)} disagree (mask must be ${fmtShape(rowShape)})`);
    }
    for (let r = 0; r < rows; r++) {
      const v = td[r]!;
      if (v < 0 || v >= V) throw new RangeError(`${op}: target ${v} of row ${r} is out of range for ${V} classes (valid: 0..${V - 1})`);
    }
    return { ld, td, md, rows, V, rowShape };
  }

  crossEntropy(logits: RawTensor, targets: RawTensor, mask: RawTensor | null): { loss: RawTensor; lse: RawTensor } {
    const op = "crossEntropy";
    const { ld, td, md, rows, V, rowShape } = this.ceCheck(op, logits, targets, mask);
    const loss = this.allocF(op, rowShape);
    const lse = this.allocF(op, rowShape);
    crossEntropyKernel(ld, td, md, rows, V, loss.d, lse.d);
    this.count(rows * V);
    return { loss: loss.t, lse: lse.t };
  }

  crossEntropyBackward(
    logits: RawTensor, targets: RawTensor, mask: RawTensor | null, lse: RawTensor, dloss: RawTensor,
  ): RawTensor {
    const op = "crossEntropyBackward";
    const { ld, td, md, rows, V, rowShape } = this.ceCheck(op, logits, targets, mask);
    const sd = this.fdata(op, lse, "lse");
    const gd = this.fdata(op, dloss, "dloss");
    this.expectShape(op, "lse", lse.shape, rowShape, `logits have shape ${fmtShape(logits.shape)}`);
    this.expectShape(op, "dloss", dloss.shape, rowShape, `logits have shape ${fmtShape(logits.shape)}`);
    const { t, d } = this.allocF(op, logits.shape);
    crossEntropyBackwardKernel(ld, td, md, sd, gd, rows, V, d);
    this.count(rows * V);
    return t;
  }

  rmsnorm(x: RawTensor, w: RawTensor, eps: number): { y: RawTensor; rstd: RawTensor } {
    const op = "rmsnorm";
    const xd = this.fdata(op, x, "x");
    const wd = this.fdata(op, w, "w");
    const { rows, n: D } = this.rowsOf(op, x);
    this.expectShape(op, "w", w.shape, [D], `x has shape ${fmtShape(x.shape)} (w must be [${D}])`);
    const y = this.allocF(op, x.shape);
    const rstd = this.allocF(op, x.shape.slice(0, -1));
    rmsnormKernel(xd, wd, eps, rows, D, y.d, rstd.d);
    this.count(x.size);
    return { y: y.t, rstd: rstd.t };
  }

  rmsnormBackward(x: RawTensor, w: RawTensor, rstd: RawTensor, dy: RawTensor): { dx: RawTensor; dw: RawTensor } {
    const op = "rmsnormBackward";
    const xd = this.fdata(op, x, "x");
    const wd = this.fdata(op, w, "w");
    const rd = this.fdata(op, rstd, "rstd");
    const gd = this.fdata(op, dy, "dy");
    const { rows, n: D } = this.rowsOf(op, x);
    const ref = `x has shape ${fmtShape(x.shape)}`;
    this.expectShape(op, "w", w.shape, [D], ref);
    this.expectShape(op, "rstd", rstd.shape, x.shape.slice(0, -1), ref);
    this.expectShape(op, "dy", dy.shape, x.shape, ref);
    const dx = this.allocF(op, x.shape);
    const dw = this.allocF(op, [D]);
    rmsnormBackwardKernel(xd, wd, rd, gd, rows, D, dx.d, dw.d);
    this.count(x.size);
    return { dx: dx.t, dw: dw.t };
  }

  // ---- indexing ----------------------------------------------------------------------

  gatherRows(table: RawTensor, idx: RawTensor): RawTensor {
    const op = "gatherRows";
    const td = this.fdata(op, table, "table");
    const id = this.idata(op, idx, "idx");
    if (table.shape.length !== 2) throw new ShapeError(`${op}: table must be [V, D], got ${fmtShape(table.shape)} (idx ${fmtShape(idx.shape)})`);
    const [V, D] = table.shape as [number, number];
    checkIndexRange(op, id, V, `a table of ${V} rows`);
    const { t, d } = this.allocF(op, [...idx.shape, D]);
    gatherRowsKernel(td, id, D, d);
    this.count(t.size);
    return t;
  }

  scatterAddRows(src: RawTensor, idx: RawTensor, rows: number): RawTensor {
    const op = "scatterAddRows";
    const sd = this.fdata(op, src, "src");
    const id = this.idata(op, idx, "idx");
    if (!Number.isInteger(rows) || rows < 1) throw new ShapeError(`${op}: rows must be a positive integer, got ${rows}`);
    if (src.shape.length !== idx.shape.length + 1 || !sameShape(src.shape.slice(0, -1), idx.shape)) {
      throw new ShapeError(`${op}: src ${fmtShape(src.shape)} must be [...idx.shape, D] for idx ${fmtShape(idx.shape)}`);
    }
    const D = src.shape[src.shape.length - 1]!;
    checkIndexRange(op, id, rows, `${rows} rows`);
    const { t, d } = this.allocF(op, [rows, D]);
    scatterAddRowsKernel(sd, id, D, rows, d);
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
    const xd = this.fdata(op, x, "x");
    const id = this.idata(op, idx, "idx");
    const { R, k } = this.lastAxisPair(op, x.shape, idx.shape, "x");
    const E = x.shape[x.shape.length - 1]!;
    checkIndexRange(op, id, E, `a last axis of size ${E}`);
    const { t, d } = this.allocF(op, idx.shape);
    gatherLastKernel(xd, id, R, E, k, d);
    this.count(t.size);
    return t;
  }

  scatterAddLast(src: RawTensor, idx: RawTensor, E: number): RawTensor {
    const op = "scatterAddLast";
    const sd = this.fdata(op, src, "src");
    const id = this.idata(op, idx, "idx");
    if (!Number.isInteger(E) || E < 1) throw new ShapeError(`${op}: E must be a positive integer, got ${E}`);
    if (!sameShape(src.shape, idx.shape) || src.shape.length < 1) {
      throw new ShapeError(`${op}: src ${fmtShape(src.shape)} and idx ${fmtShape(idx.shape)} must have the same shape (rank ≥ 1)`);
    }
    const { R, k } = this.lastAxisPair(op, src.shape, idx.shape, "src");
    checkIndexRange(op, id, E, `a last axis of size ${E}`);
    const { t, d } = this.allocF(op, [...src.shape.slice(0, -1), E]);
    scatterAddLastKernel(sd, id, R, E, k, d);
    this.count(src.size);
    return t;
  }

  topk(x: RawTensor, k: number): { values: RawTensor; indices: RawTensor } {
    const op = "topk";
    const xd = this.fdata(op, x);
    const { rows, n: E } = this.rowsOf(op, x);
    if (!Number.isInteger(k) || k < 1 || k > E) throw new ShapeError(`${op}: k = ${k} must be in 1..${E} for shape ${fmtShape(x.shape)}`);
    const outShape = [...x.shape.slice(0, -1), k];
    const values = this.allocF(op, outShape);
    const indices = this.alloc(op, outShape, "i32");
    topkKernel(xd, rows, E, k, values.d, indices.data as Int32Array);
    this.count(x.size);
    return { values: values.t, indices };
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
    const xd = this.fdata(op, x);
    if (x.shape.length !== 4) throw new ShapeError(`${op}: x must be [B, T, H, D], got ${fmtShape(x.shape)}`);
    const [B, T, H, D] = x.shape as [number, number, number, number];
    if (D % 2 !== 0) throw new ShapeError(`${op}: head size D must be even, got shape ${fmtShape(x.shape)}`);
    const { t, d } = this.allocF(op, x.shape);
    ropeKernel(xd, B, T, H, D, opts.pos0, opts.theta, opts.inverse, d);
    this.count(t.size);
    return t;
  }

  attention(q: RawTensor, k: RawTensor, v: RawTensor, opts: AttentionOptions): { out: RawTensor; lse: RawTensor } {
    const op = "attention";
    const qd = this.fdata(op, q, "q");
    const kd = this.fdata(op, k, "k");
    const vd = this.fdata(op, v, "v");
    const dims = attentionShape(q.shape, k.shape, v.shape, opts);
    const keyStart = opts.keyStart ? this.idata(op, opts.keyStart, "keyStart") : null;
    const { B, Tq, Hq, Dv, Tk, D } = dims;
    const out = this.allocF(op, [B, Tq, Hq, Dv]);
    const lse = this.allocF(op, [B, Tq, Hq]);
    attentionKernel(qd, kd, vd, dims, opts.scale, opts.causal, keyStart, out.d, lse.d);
    this.count(2 * B * Hq * Tq * Tk * (D + Dv));
    return { out: out.t, lse: lse.t };
  }

  attentionBackward(
    q: RawTensor, k: RawTensor, v: RawTensor, out: RawTensor, lse: RawTensor, dout: RawTensor, opts: AttentionOptions,
  ): { dq: RawTensor; dk: RawTensor; dv: RawTensor } {
    const op = "attentionBackward";
    const qd = this.fdata(op, q, "q");
    const kd = this.fdata(op, k, "k");
    const vd = this.fdata(op, v, "v");
    const od = this.fdata(op, out, "out");
    const ld = this.fdata(op, lse, "lse");
    const gd = this.fdata(op, dout, "dout");
    const dims = attentionShape(q.shape, k.shape, v.shape, opts);
    const keyStart = opts.keyStart ? this.idata(op, opts.keyStart, "keyStart") : null;
    const { B, Tq, Hq, Dv, Tk, D } = dims;
    const ref = `q ${fmtShape(q.shape)}, v ${fmtShape(v.shape)}`;
    this.expectShape(op, "out", out.shape, [B, Tq, Hq, Dv], `${ref} need [${B}, ${Tq}, ${Hq}, ${Dv}]`);
    this.expectShape(op, "dout", dout.shape, [B, Tq, Hq, Dv], `${ref} need [${B}, ${Tq}, ${Hq}, ${Dv}]`);
    this.expectShape(op, "lse", lse.shape, [B, Tq, Hq], `${ref} need [${B}, ${Tq}, ${Hq}]`);
    const dq = this.allocF(op, q.shape);
    const dk = this.allocF(op, k.shape);
    const dv = this.allocF(op, v.shape);
    attentionBackwardKernel(qd, kd, vd, od, ld, gd, dims, opts.scale, opts.causal, keyStart, dq.d, dk.d, dv.d);
    this.count(2 * B * Hq * Tq * Tk * (3 * D + 2 * Dv));
    return { dq: dq.t, dk: dk.t, dv: dv.t };
  }

  // ---- optimiser ------------------------------------------------------------------------------

  sumSquares(xs: readonly RawTensor[]): RawTensor {
    const op = "sumSquares";
    const arrays = xs.map((x) => this.fdata(op, x));
    const { t, d } = this.allocF(op, [1]);
    d[0] = sumSquaresKernel(arrays);
    let n = 0;
    for (const a of arrays) n += a.length;
    this.count(n);
    return t;
  }

  clipCoefficient(sumSq: RawTensor, maxNorm: number): RawTensor {
    const op = "clipCoefficient";
    const sd = this.fdata(op, sumSq, "sumSq");
    if (sumSq.size !== 1) throw new ShapeError(`${op}: sumSq must hold one value, got shape ${fmtShape(sumSq.shape)}`);
    const { t, d } = this.allocF(op, [1]);
    d[0] = clipCoefficientValue(sd[0]!, maxNorm);
    this.count(1);
    return t;
  }

  adamw(param: RawTensor, grad: RawTensor, m: RawTensor, v: RawTensor, hyper: AdamWHyper, coef: RawTensor): void {
    const op = "adamw";
    const pd = this.fdata(op, param, "param");
    const gd = this.fdata(op, grad, "grad");
    const md = this.fdata(op, m, "m");
    const vd = this.fdata(op, v, "v");
    const cd = this.fdata(op, coef, "coef");
    const ref = `param has shape ${fmtShape(param.shape)}`;
    this.expectShape(op, "grad", grad.shape, param.shape, ref);
    this.expectShape(op, "m", m.shape, param.shape, ref);
    this.expectShape(op, "v", v.shape, param.shape, ref);
    if (coef.size !== 1) throw new ShapeError(`${op}: coef must hold one value, got shape ${fmtShape(coef.shape)}`);
    if (!(hyper.step >= 1)) throw new RangeError(`${op}: step is 1-based, got ${hyper.step}`);
    adamwKernel(pd, gd, md, vd, hyper, cd[0]!);
    this.count(param.size);
  }
}
