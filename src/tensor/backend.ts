// The contract every compute backend meets. Two implementations exist:
//   - src/cpu  (CpuBackend): typed arrays, the reference in tests and the fallback;
//   - src/gpu  (WebGPUBackend): WGSL kernels from kernels/, the fast path.
// Each method below has the same name and semantics on both, so a test can run
// one call on each and compare. Autograd lives one layer up (src/tensor/engine.ts)
// and only ever calls these primitives, which is why the backward rules that need
// their own kernel (softmax, cross-entropy, RMSNorm, attention, ...) appear here.
//
// Conventions
// - Shapes are row-major (last axis contiguous). Rank ≤ 6.
// - "last axis" ops (softmax, cross-entropy, top-k, RMSNorm) treat every leading
//   axis as a batch of rows.
// - Outputs are always new tensors unless a method says "in place".
// - f32 tensors hold floats; i32 tensors hold token ids and indices.

export type DType = "f32" | "i32";
export type Shape = readonly number[];
export type FloatArray = Float32Array | Float64Array;
export type HostArray = FloatArray | Int32Array;

/** A tensor as a backend sees it: shape, dtype and an opaque handle to storage. */
export interface RawTensor {
  readonly shape: Shape;
  readonly dtype: DType;
  /** number of elements */
  readonly size: number;
  /** true once free() was called on it */
  readonly freed: boolean;
}

export type UnaryOp =
  | "neg" | "exp" | "log" | "tanh" | "sigmoid" | "silu" | "gelu" | "relu"
  | "sqrt" | "rsqrt" | "square";
export const UNARY_OPS: readonly UnaryOp[] = [
  "neg", "exp", "log", "tanh", "sigmoid", "silu", "gelu", "relu", "sqrt", "rsqrt", "square",
];
/**
 * Elementwise ops on two f32 tensors with numpy broadcasting.
 * - min, max: NaN wins (like Math.min / Math.max), so a poisoned value is never hidden.
 * - ge: 1.0 where a ≥ b, else 0.0 (0.0 when either is NaN). It has no gradient: it is
 *   the mask the backward rules of min and max use to send dy to the input that won.
 */
export type BinaryOp = "add" | "sub" | "mul" | "div" | "min" | "max" | "ge";
export const BINARY_OPS: readonly BinaryOp[] = ["add", "sub", "mul", "div", "min", "max", "ge"];
export type ReduceOp = "sum" | "mean" | "max";

export interface MatmulOptions {
  /** use aᵀ: a is [..., K, M] */
  transA?: boolean;
  /** use bᵀ: b is [..., N, K] */
  transB?: boolean;
}

export interface AttentionOptions {
  /** multiplier on q·k; usually 1/sqrt(head_dim) */
  scale: number;
  /** mask j > (position of query i) */
  causal: boolean;
  /**
   * How many key/value positions are valid (KV-cached decoding keeps a buffer of
   * Tmax positions and fills it over time). Defaults to Tk. Query i sits at
   * absolute position kvLen - Tq + i.
   */
  kvLen?: number;
  /**
   * Left padding, for batches of sequences of different lengths (i32 [B]). In batch
   * row b the positions before keyStart[b] are padding: a query at or after
   * keyStart[b] never sees them. A query before it (a padding position itself) sees
   * only its own key, so its output stays finite; it means nothing and is never used.
   * In general query i sees keys min(keyStart[b], last_i) … last_i, where last_i is
   * its position (causal) or kvLen − 1. Because RoPE scores depend only on the
   * distance between positions, a left-padded sequence attends exactly as it would
   * alone. Negative values count as 0.
   */
  keyStart?: RawTensor;
}

export interface RopeOptions {
  /** absolute position of t = 0 (for KV-cached decoding) */
  pos0: number;
  /** base of the frequencies, 10000 in most models */
  theta: number;
  /** rotate by -angle: the backward pass of RoPE */
  inverse: boolean;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
}

/** Counters a page or benchmark can show; GPU counts dispatches, CPU counts op calls. */
export interface BackendStats {
  dispatches: number;
  submits: number;
  readbacks: number;
  uploads: number;
  /** bytes held by live tensors */
  liveBytes: number;
  /** bytes held by the pool, live or free */
  pooledBytes: number;
  /** floating-point operations counted by the ops since the last reset */
  flops: number;
}

export interface Backend {
  readonly name: "cpu" | "webgpu";
  /** human-readable description of the device (adapter name, or "CPU (float32)") */
  readonly description: string;

  // ---- memory -------------------------------------------------------------
  /** copy host data into a new tensor; data.length must equal the shape's size */
  upload(data: ArrayLike<number>, shape: Shape, dtype: DType): RawTensor;
  /** a new tensor filled with one value */
  fill(shape: Shape, value: number, dtype: DType): RawTensor;
  /** read a tensor back to the host (f32 → Float32Array, or Float64Array on a float64 CPU backend) */
  read(t: RawTensor): Promise<HostArray>;
  /** release storage; using t afterwards throws */
  free(t: RawTensor): void;
  /** same storage seen with another shape of equal size (no copy); freeing either releases one reference */
  reshape(t: RawTensor, shape: Shape): RawTensor;
  /** make all queued work run now (GPU: submit the current command encoder) */
  flush(): void;
  stats(): BackendStats;
  resetStats(): void;
  /** free everything and release the device */
  destroy(): void;

  // ---- dense math ---------------------------------------------------------
  /**
   * Batched matrix product. a: [...batch, M, K], b: [...batch, K, N] (or transposed
   * per options). Batch axes must be equal, or one operand is rank 2 and is shared
   * by every batch. Result: [...batch, M, N].
   */
  matmul(a: RawTensor, b: RawTensor, opts?: MatmulOptions): RawTensor;
  /** elementwise with numpy broadcasting */
  binary(op: BinaryOp, a: RawTensor, b: RawTensor): RawTensor;
  /** alpha * x + beta, elementwise */
  affine(x: RawTensor, alpha: number, beta: number): RawTensor;
  unary(op: UnaryOp, x: RawTensor): RawTensor;
  /** dx = f'(x) * dy for the unary op */
  unaryBackward(op: UnaryOp, x: RawTensor, dy: RawTensor): RawTensor;
  /** reduce over one axis, keeping it with size 1 */
  reduce(op: ReduceOp, x: RawTensor, axis: number): RawTensor;
  /** sum a broadcast result back to a shape it was broadcast from (gradient of broadcasting) */
  sumTo(x: RawTensor, shape: Shape): RawTensor;

  // ---- rows: softmax, losses, norms -------------------------------------------
  softmax(x: RawTensor): RawTensor;
  logSoftmax(x: RawTensor): RawTensor;
  /** dx = y ⊙ (dy − Σ dy⊙y), with y = softmax(x) */
  softmaxBackward(y: RawTensor, dy: RawTensor): RawTensor;
  /** dx = dy − softmax(x)·Σdy, with y = logSoftmax(x) */
  logSoftmaxBackward(y: RawTensor, dy: RawTensor): RawTensor;
  /**
   * Fused softmax cross-entropy per row. logits [N, V], targets i32 [N],
   * mask f32 [N] or null (1 = count this row). loss[n] = mask[n]·(lse[n] − logits[n, t]).
   */
  crossEntropy(logits: RawTensor, targets: RawTensor, mask: RawTensor | null): { loss: RawTensor; lse: RawTensor };
  /** dlogits[n, v] = dloss[n]·mask[n]·(softmax(logits)[n, v] − [v = t_n]) */
  crossEntropyBackward(logits: RawTensor, targets: RawTensor, mask: RawTensor | null, lse: RawTensor, dloss: RawTensor): RawTensor;
  /** y = x / rms(x) ⊙ w over the last axis; rstd [rows] is kept for backward */
  rmsnorm(x: RawTensor, w: RawTensor, eps: number): { y: RawTensor; rstd: RawTensor };
  rmsnormBackward(x: RawTensor, w: RawTensor, rstd: RawTensor, dy: RawTensor): { dx: RawTensor; dw: RawTensor };

  // ---- indexing -------------------------------------------------------------
  /** table [V, D], idx i32 of any shape → [...idx.shape, D] (embedding lookup) */
  gatherRows(table: RawTensor, idx: RawTensor): RawTensor;
  /** src [...idx.shape, D] added into a zero [rows, D] at idx (embedding backward; no float atomics) */
  scatterAddRows(src: RawTensor, idx: RawTensor, rows: number): RawTensor;
  /** x [..., E], idx i32 [..., k] → [..., k] */
  gatherLast(x: RawTensor, idx: RawTensor): RawTensor;
  /** src [..., k] added into a zero [..., E] at idx */
  scatterAddLast(src: RawTensor, idx: RawTensor, E: number): RawTensor;
  /** the k largest along the last axis, descending; ties go to the lower index */
  topk(x: RawTensor, k: number): { values: RawTensor; indices: RawTensor };

  // ---- mixture of experts: sparse dispatch (src/nn/moe.ts) ----------------------
  /**
   * Sorts the R = N·k routed rows of a top-k choice by expert, with fixed-size outputs
   * (no readback needed to size anything). indices i32 [N, k], each in 0..E−1 →
   *   offsets i32 [E + 1]: expert e's rows sit at sorted positions offsets[e] ..
   *     offsets[e + 1] − 1 (the prefix sum of a per-expert histogram; offsets[E] = R);
   *   tokens i32 [R]: the token n of the row at each sorted position;
   *   slot i32 [N, k]: the sorted position of token n's j-th choice;
   *   order i32 [R]: the row n·k + j at each sorted position (slot's inverse).
   * Stable: within an expert, rows keep their order n·k + j. No row is dropped.
   */
  moeSort(indices: RawTensor, E: number): { offsets: RawTensor; tokens: RawTensor; slot: RawTensor; order: RawTensor };
  /**
   * Grouped matrix product over expert-contiguous rows: row p of x [R, ·] belongs to
   * the expert e with offsets[e] ≤ p < offsets[e + 1] and is multiplied by that
   * expert's matrix of w [E, A, B]: y[p] = x[p] · w[e]ᵀ (transB; x [R, B] → [R, A])
   * or y[p] = x[p] · w[e] (x [R, A] → [R, B]).
   */
  groupedMatmul(x: RawTensor, w: RawTensor, offsets: RawTensor, transB: boolean): RawTensor;
  /** its weight gradient: dw[e] = Σ over expert e's rows p of dy[p]ᵀ x[p]; dy [R, A], x [R, B] → [E, A, B] (0 for an expert with no rows) */
  groupedMatmulGradW(dy: RawTensor, x: RawTensor, offsets: RawTensor, E: number): RawTensor;

  // ---- layout ---------------------------------------------------------------
  /** a contiguous copy with axes reordered: out.shape[i] = x.shape[perm[i]] */
  permute(x: RawTensor, perm: readonly number[]): RawTensor;
  /** elements start..end-1 along axis */
  slice(x: RawTensor, axis: number, start: number, end: number): RawTensor;
  concat(xs: readonly RawTensor[], axis: number): RawTensor;
  /** in place: dst[..., start:start+src.shape[axis], ...] = src (KV-cache append, slice backward) */
  writeSlice(dst: RawTensor, src: RawTensor, axis: number, start: number): void;

  // ---- transformer ops --------------------------------------------------------
  /** rotary embedding, half-split pairs (x[i], x[i + D/2]); x: [B, T, H, D] */
  rope(x: RawTensor, opts: RopeOptions): RawTensor;
  /**
   * Scaled dot-product attention. q [B, Tq, Hq, D], k [B, Tk, Hkv, D], v [B, Tk, Hkv, Dv];
   * Hq is a multiple of Hkv (grouped-query attention). out [B, Tq, Hq, Dv] and the
   * log-sum-exp of each score row lse [B, Tq, Hq] for the backward pass.
   */
  attention(q: RawTensor, k: RawTensor, v: RawTensor, opts: AttentionOptions): { out: RawTensor; lse: RawTensor };
  attentionBackward(
    q: RawTensor, k: RawTensor, v: RawTensor, out: RawTensor, lse: RawTensor, dout: RawTensor, opts: AttentionOptions,
  ): { dq: RawTensor; dk: RawTensor; dv: RawTensor };

  // ---- optimiser ----------------------------------------------------------------
  /** Σ x² over every element of every tensor → shape [1] */
  sumSquares(xs: readonly RawTensor[]): RawTensor;
  /**
   * From Σg² [1] → [1]: min(1, maxNorm / (sqrt(Σg²) + 1e-6)), or 0 when Σg² is not
   * finite (so a poisoned step changes nothing). maxNorm ≤ 0 means "no clipping" (1 or 0).
   */
  clipCoefficient(sumSq: RawTensor, maxNorm: number): RawTensor;
  /**
   * One fused AdamW update, in place on param, m and v. The gradient is first
   * multiplied by coef[0] (from clipCoefficient); coef[0] = 0 leaves everything unchanged.
   */
  adamw(param: RawTensor, grad: RawTensor, m: RawTensor, v: RawTensor, hyper: AdamWHyper, coef: RawTensor): void;
}

// ---- errors with messages a learner can act on ----------------------------------

export class ShapeError extends Error {
  override name = "ShapeError";
}
export class DTypeError extends Error {
  override name = "DTypeError";
}
export class FreedTensorError extends Error {
  override name = "FreedTensorError";
}
export class DeviceLimitError extends Error {
  override name = "DeviceLimitError";
}

// ---- shape helpers shared by both backends ----------------------------------------

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** numpy broadcasting; throws a ShapeError naming the op and both shapes */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (axis ${i}: ${da} vs ${db})`);
    }
    out[i] = Math.max(da, db);
  }
  return out;
}

export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new ShapeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

export function checkDType(op: string, t: RawTensor, want: DType, what = "input"): void {
  if (t.dtype !== want) throw new DTypeError(`${op}: ${what} must be ${want}, got ${t.dtype} with shape ${fmtShape(t.shape)}`);
}

export function checkLive(op: string, ...ts: (RawTensor | null | undefined)[]): void {
  for (const t of ts) {
    if (t && t.freed) throw new FreedTensorError(`${op}: a tensor of shape ${fmtShape(t.shape)} was used after it was freed`);
  }
}

/**
 * Output shape of a batched matmul, with every check both backends need.
 * Returns the batch shape, M, K, N and whether a/b are shared across batches.
 */
export function matmulShape(a: Shape, b: Shape, opts: MatmulOptions = {}) {
  const fail = (why: string) =>
    new ShapeError(`matmul${opts.transA ? " (aᵀ)" : ""}${opts.transB ? " (bᵀ)" : ""}: shapes ${fmtShape(a)} and ${fmtShape(b)} ${why}`);
  if (a.length < 2 || b.length < 2) throw fail("must both have rank ≥ 2");
  const M = opts.transA ? a[a.length - 1]! : a[a.length - 2]!;
  const Ka = opts.transA ? a[a.length - 2]! : a[a.length - 1]!;
  const Kb = opts.transB ? b[b.length - 1]! : b[b.length - 2]!;
  const N = opts.transB ? b[b.length - 2]! : b[b.length - 1]!;
  if (Ka !== Kb) throw fail(`have inner dimensions ${Ka} and ${Kb}`);
  const ba = a.slice(0, -2);
  const bb = b.slice(0, -2);
  let batch: number[];
  if (ba.length === 0) batch = [...bb];
  else if (bb.length === 0) batch = [...ba];
  else if (ba.length === bb.length && ba.every((d, i) => d === bb[i])) batch = [...ba];
  else throw fail("have different batch axes (they must be equal, or one operand must be rank 2)");
  return {
    batch, M, K: Ka, N,
    batchCount: shapeSize(batch),
    aShared: ba.length === 0,
    bShared: bb.length === 0,
    outShape: [...batch, M, N],
  };
}

/** Checks shared by both attention implementations; returns the sizes. */
export function attentionShape(q: Shape, k: Shape, v: Shape, opts: AttentionOptions) {
  const fail = (why: string) =>
    new ShapeError(`attention: q ${fmtShape(q)}, k ${fmtShape(k)}, v ${fmtShape(v)}: ${why}`);
  if (q.length !== 4 || k.length !== 4 || v.length !== 4) throw fail("expected [B, T, H, D] for each");
  const [B, Tq, Hq, D] = q as [number, number, number, number];
  const [Bk, Tk, Hkv, Dk] = k as [number, number, number, number];
  const [Bv, Tv, Hv, Dv] = v as [number, number, number, number];
  if (B !== Bk || B !== Bv) throw fail("batch sizes differ");
  if (Dk !== D) throw fail("q and k head sizes differ");
  if (Tv !== Tk || Hv !== Hkv) throw fail("k and v disagree on positions or heads");
  if (Hq % Hkv !== 0) throw fail(`query heads (${Hq}) must be a multiple of key/value heads (${Hkv})`);
  const kvLen = opts.kvLen ?? Tk;
  if (!Number.isInteger(kvLen) || kvLen < 1 || kvLen > Tk) throw fail(`kvLen ${kvLen} must be in 1..${Tk}`);
  if (opts.causal && Tq > kvLen) throw fail(`causal attention needs Tq (${Tq}) ≤ kvLen (${kvLen})`);
  const ks = opts.keyStart;
  if (ks) {
    if (ks.dtype !== "i32") throw new DTypeError(`attention: keyStart must be i32, got ${ks.dtype}`);
    if (ks.shape.length !== 1 || ks.shape[0] !== B) throw fail(`keyStart has shape ${fmtShape(ks.shape)}, expected [${B}]`);
  }
  return { B, Tq, Hq, D, Tk, Hkv, Dv, kvLen, group: Hq / Hkv };
}

/** Checks shared by both groupedMatmul implementations; returns the sizes. */
export function groupedMatmulShape(x: Shape, w: Shape, offsets: Shape, transB: boolean) {
  const fail = (why: string) =>
    new ShapeError(`groupedMatmul${transB ? " (wᵀ)" : ""}: x ${fmtShape(x)}, w ${fmtShape(w)}, offsets ${fmtShape(offsets)}: ${why}`);
  if (x.length !== 2 || w.length !== 3 || offsets.length !== 1) throw fail("expected x [R, ·], w [E, A, B] and offsets [E + 1]");
  const [R, K] = x as [number, number];
  const [E, A, B] = w as [number, number, number];
  if (offsets[0] !== E + 1) throw fail(`offsets must have E + 1 = ${E + 1} entries`);
  const inner = transB ? B : A;
  if (K !== inner) throw fail(`x has ${K} columns, the experts' matrices take ${inner}`);
  return { R, E, K, N: transB ? A : B };
}

/** Checks of groupedMatmulGradW; returns the sizes. */
export function groupedGradWShape(dy: Shape, x: Shape, offsets: Shape, E: number) {
  const fail = (why: string) => new ShapeError(`groupedMatmulGradW: dy ${fmtShape(dy)}, x ${fmtShape(x)}, offsets ${fmtShape(offsets)}: ${why}`);
  if (dy.length !== 2 || x.length !== 2 || offsets.length !== 1) throw fail("expected dy [R, A], x [R, B] and offsets [E + 1]");
  if (dy[0] !== x[0]) throw fail("dy and x must have the same rows");
  if (!Number.isInteger(E) || E < 1 || offsets[0] !== E + 1) throw fail(`offsets must have E + 1 = ${E + 1} entries`);
  return { R: dy[0]!, A: dy[1]!, B: x[1]! };
}
