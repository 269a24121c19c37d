// Tensors with reverse-mode autograd, on any Backend.
//
// How it works, in three ideas:
//  1. Every differentiable op runs its forward pass on the backend and, when an
//     input needs a gradient, appends an entry to a *tape*: the inputs, the output
//     and a closure that turns the output's gradient into the inputs' gradients.
//  2. `backward(loss)` walks the tape from the end, so each output's gradient is
//     complete before it is pushed to its inputs (the tape is in creation order,
//     which is a topological order). Leaf tensors (parameters) *accumulate* into
//     `.grad`, so several backward calls before an optimiser step add up.
//  3. `scope(fn)` frees every tensor created inside fn except what fn returns (or
//     `keep`s), and drops tape entries made inside it. A training step written as
//     one scope cannot leak GPU memory however many steps run.

import {
  type Backend, type DType, type HostArray, type RawTensor, type Shape, type UnaryOp,
  type AttentionOptions, type MatmulOptions, type BinaryOp,
  FreedTensorError, ShapeError, checkDType, fmtShape, normAxis, shapeSize,
} from "./backend.js";

type GradFn = (g: RawTensor) => (RawTensor | null)[];

/** `ge` is a step function with no gradient: the engine uses it, never differentiates it */
type DifferentiableBinaryOp = Exclude<BinaryOp, "ge">;

interface TapeEntry {
  /** the op that made the output (the Engine method, or the elementwise op: "matmul", "add", "tanh"…) */
  op: string;
  inputs: Tensor[];
  output: Tensor;
  backward: GradFn;
  /** extra backend tensors kept only for the backward pass (lse, rstd, ...) */
  saved: RawTensor[];
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  /** the accumulated gradient of a leaf tensor (a parameter) after backward() */
  grad: Tensor | null = null;
  /** set by Engine.keep: survives the end of the scope that created it */
  keepAlive = false;
  private rawHandle: RawTensor | null;

  constructor(
    readonly engine: Engine,
    raw: RawTensor,
    readonly requiresGrad: boolean,
    /** a leaf is a tensor not produced by a differentiable op: parameters, inputs */
    readonly isLeaf: boolean,
  ) {
    this.rawHandle = raw;
  }

  get raw(): RawTensor {
    if (!this.rawHandle) throw new FreedTensorError(`tensor #${this.id} was used after it was disposed`);
    return this.rawHandle;
  }
  get shape(): Shape {
    return this.raw.shape;
  }
  get dtype(): DType {
    return this.raw.dtype;
  }
  get size(): number {
    return this.raw.size;
  }
  get disposed(): boolean {
    return this.rawHandle === null;
  }

  /** copy to the host */
  data(): Promise<HostArray> {
    return this.engine.backend.read(this.raw);
  }
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item: expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return (await this.data())[0]!;
  }
  /** release the storage now (also done automatically at the end of a scope) */
  dispose(): void {
    if (!this.rawHandle) return;
    this.engine.backend.free(this.rawHandle);
    this.rawHandle = null;
  }
  toString(): string {
    return `Tensor#${this.id}(${fmtShape(this.rawHandle?.shape ?? [])}, ${this.rawHandle?.dtype ?? "disposed"})`;
  }
}

export class Engine {
  private tape: TapeEntry[] = [];
  private gradEnabled = true;
  private scopes: Set<Tensor>[] = [];

  constructor(readonly backend: Backend) {}

  // ---- tensors -----------------------------------------------------------------

  /** wrap a backend tensor; registers it with the innermost scope */
  wrap(raw: RawTensor, requiresGrad = false, isLeaf = true): Tensor {
    const t = new Tensor(this, raw, requiresGrad, isLeaf);
    this.scopes[this.scopes.length - 1]?.add(t);
    return t;
  }

  tensor(data: ArrayLike<number>, shape: Shape, dtype: DType = "f32"): Tensor {
    if (data.length !== shapeSize(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmtShape(shape)}`);
    }
    return this.wrap(this.backend.upload(data, shape, dtype));
  }
  full(shape: Shape, value: number, dtype: DType = "f32"): Tensor {
    return this.wrap(this.backend.fill(shape, value, dtype));
  }
  zeros(shape: Shape): Tensor {
    return this.full(shape, 0);
  }
  /** a trainable leaf tensor; lives until disposed (not freed by scopes) */
  parameter(data: ArrayLike<number>, shape: Shape): Tensor {
    const t = new Tensor(this, this.backend.upload(data, shape, "f32"), true, true);
    return t;
  }

  /** overwrite a tensor's contents in place (loading checkpoints, finite differences) */
  assign(t: Tensor, data: ArrayLike<number>): void {
    if (data.length !== t.size) throw new ShapeError(`assign: ${data.length} values for a tensor of shape ${fmtShape(t.shape)}`);
    const src = this.backend.upload(data, t.shape, t.dtype);
    this.backend.writeSlice(t.raw, src, 0, 0);
    this.backend.free(src);
  }

  // ---- memory scopes -------------------------------------------------------------

  /**
   * Run fn; afterwards free every tensor it created except those it returns or
   * keep()s. Works with async functions too (await the result).
   */
  scope<T>(fn: () => T): T {
    const created = new Set<Tensor>();
    const tapeStart = this.tape.length;
    this.scopes.push(created);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.closeScope(created, tapeStart, undefined);
      throw e;
    }
    if (result instanceof Promise) {
      return result.then(
        (v) => {
          this.closeScope(created, tapeStart, v);
          return v;
        },
        (e: unknown) => {
          this.closeScope(created, tapeStart, undefined);
          throw e;
        },
      ) as T;
    }
    this.closeScope(created, tapeStart, result);
    return result;
  }

  private closeScope(created: Set<Tensor>, tapeStart: number, result: unknown): void {
    const idx = this.scopes.lastIndexOf(created);
    if (idx >= 0) this.scopes.splice(idx, 1);
    const kept = new Set<Tensor>();
    collectTensors(result, kept);
    // Drop tape entries recorded inside the scope: their tensors are about to go.
    if (this.tape.length > tapeStart) {
      for (const e of this.tape.splice(tapeStart)) for (const s of e.saved) this.backend.free(s);
    }
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of created) {
      if (kept.has(t) || t.keepAlive) {
        parent?.add(t);
        continue;
      }
      t.dispose();
    }
  }

  /** exempt a tensor created in a scope from being freed when the scope ends */
  keep<T extends Tensor>(t: T): T {
    t.keepAlive = true;
    for (const s of this.scopes) s.delete(t);
    return t;
  }

  /** run fn without recording anything on the tape */
  noGrad<T>(fn: () => T): T {
    const prev = this.gradEnabled;
    this.gradEnabled = false;
    try {
      return fn();
    } finally {
      this.gradEnabled = prev;
    }
  }

  get recording(): boolean {
    return this.gradEnabled;
  }

  /** number of tape entries waiting for backward (for tests and diagnostics) */
  get tapeLength(): number {
    return this.tape.length;
  }

  // ---- the tape ----------------------------------------------------------------

  /** What is on the tape now, oldest first: each entry's op and shapes (for the Engine lesson's diagram). */
  tapeSummary(): { op: string; inputs: Shape[]; output: Shape }[] {
    return this.tape.map((e) => ({ op: e.op, inputs: e.inputs.map((t) => t.shape), output: e.output.shape }));
  }

  /** Record an op. Returns the wrapped output. `saved` is freed with the entry. */
  private record(op: string, out: RawTensor, inputs: Tensor[], backward: GradFn, saved: RawTensor[] = []): Tensor {
    const needs = this.gradEnabled && inputs.some((t) => t.requiresGrad);
    const t = this.wrap(out, needs, !needs);
    if (needs) this.tape.push({ op, inputs, output: t, backward, saved });
    else for (const s of saved) this.backend.free(s);
    return t;
  }

  /**
   * Gradients of a scalar with respect to every tensor that requires them.
   * Leaves accumulate into `.grad`; the tape is consumed.
   */
  backward(loss: Tensor): void {
    if (loss.size !== 1) throw new ShapeError(`backward: the loss must have one element, got shape ${fmtShape(loss.shape)}`);
    if (!loss.requiresGrad) throw new Error("backward: the loss does not depend on any tensor that requires a gradient");
    const b = this.backend;
    const grads = new Map<Tensor, RawTensor>();
    grads.set(loss, b.fill(loss.shape, 1, "f32"));
    const accumulate = (t: Tensor, g: RawTensor) => {
      const prev = grads.get(t);
      if (!prev) {
        grads.set(t, g);
        return;
      }
      grads.set(t, b.binary("add", prev, g));
      b.free(prev);
      b.free(g);
    };
    const entries = this.tape;
    this.tape = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      const g = grads.get(e.output);
      if (g) {
        grads.delete(e.output);
        const inGrads = e.backward(g);
        // A rule may hand the incoming gradient straight through (add, reshape);
        // each input must own its gradient, so a second use gets a copy.
        const used = new Set<RawTensor>();
        e.inputs.forEach((input, k) => {
          let ig = inGrads[k];
          if (!ig) return;
          if (used.has(ig)) ig = b.affine(ig, 1, 0);
          used.add(ig);
          if (!input.requiresGrad) {
            b.free(ig);
            return;
          }
          if (ig.shape.length !== input.shape.length || ig.shape.some((d, j) => d !== input.shape[j])) {
            throw new ShapeError(`backward: gradient of shape ${fmtShape(ig.shape)} for an input of shape ${fmtShape(input.shape)}`);
          }
          accumulate(input, ig);
        });
        if (!used.has(g)) b.free(g);
      }
      for (const s of e.saved) b.free(s);
    }
    // What is left belongs to leaves.
    for (const [t, g] of grads) {
      if (!t.isLeaf || t === loss) {
        b.free(g);
        continue;
      }
      if (t.grad && !t.grad.disposed) {
        const sum = b.binary("add", t.grad.raw, g);
        b.free(g);
        t.grad.dispose();
        t.grad = this.persistent(sum);
      } else {
        t.grad = this.persistent(g);
      }
    }
  }

  /** a tensor that no scope owns (gradients, optimiser state) */
  persistent(raw: RawTensor): Tensor {
    return new Tensor(this, raw, false, true);
  }

  /** free the gradients of these tensors (an optimiser does this after its step) */
  zeroGrad(params: readonly Tensor[]): void {
    for (const p of params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  // ---- differentiable ops ----------------------------------------------------------

  private binaryOp(op: DifferentiableBinaryOp, a: Tensor, b: Tensor): Tensor {
    const B = this.backend;
    const out = B.binary(op, a.raw, b.raw);
    const ar = a.raw;
    const br = b.raw;
    return this.record(op, out, [a, b], (g) => {
      const needA = a.requiresGrad;
      const needB = b.requiresGrad;
      switch (op) {
        case "add":
          return [needA ? this.reduceTo(g, ar.shape) : null, needB ? this.reduceTo(g, br.shape) : null];
        case "sub":
          return [needA ? this.reduceTo(g, ar.shape) : null, needB ? this.reduceToScaled(g, br.shape, -1) : null];
        case "mul":
          return [needA ? this.consumeTo(B.binary("mul", g, br), ar.shape) : null, needB ? this.consumeTo(B.binary("mul", g, ar), br.shape) : null];
        case "div": {
          const ga = needA ? this.consumeTo(B.binary("div", g, br), ar.shape) : null;
          let gb: RawTensor | null = null;
          if (needB) {
            // d(a/b)/db = -a/b² = -(a/b)/b
            const q = B.binary("div", ar, br);
            const q2 = B.binary("div", q, br);
            const prod = B.binary("mul", g, q2);
            gb = this.reduceToScaled(prod, br.shape, -1);
            for (const t of [q, q2, prod]) B.free(t);
          }
          return [ga, gb];
        }
        case "min":
        case "max": {
          // The gradient goes to the input that was picked. On a tie (a = b) all of
          // it goes to a, the first argument: picked = [b ≥ a] for min, [a ≥ b] for max.
          const picked = op === "min" ? B.binary("ge", br, ar) : B.binary("ge", ar, br);
          const toA = B.binary("mul", g, picked); // g where a was picked, 0 elsewhere
          const gb = needB ? this.consumeTo(B.binary("sub", g, toA), br.shape) : null;
          B.free(picked);
          if (!needA) B.free(toA);
          return [needA ? this.consumeTo(toA, ar.shape) : null, gb];
        }
      }
    });
  }

  /** g summed back to the shape it was broadcast from; returns g itself when nothing to sum */
  private reduceTo(g: RawTensor, shape: Shape): RawTensor {
    if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
    return this.backend.sumTo(g, shape);
  }
  /** like reduceTo, but takes ownership of x (frees it if a new tensor was made) */
  private consumeTo(x: RawTensor, shape: Shape): RawTensor {
    const r = this.reduceTo(x, shape);
    if (r !== x) this.backend.free(x);
    return r;
  }
  /** alpha · reduceTo(g): always a new tensor */
  private reduceToScaled(g: RawTensor, shape: Shape, alpha: number): RawTensor {
    const r = this.reduceTo(g, shape);
    const out = this.backend.affine(r, alpha, 0);
    if (r !== g) this.backend.free(r);
    return out;
  }

  add(a: Tensor, b: Tensor): Tensor {
    return this.binaryOp("add", a, b);
  }
  sub(a: Tensor, b: Tensor): Tensor {
    return this.binaryOp("sub", a, b);
  }
  mul(a: Tensor, b: Tensor): Tensor {
    return this.binaryOp("mul", a, b);
  }
  div(a: Tensor, b: Tensor): Tensor {
    return this.binaryOp("div", a, b);
  }
  /** elementwise min with broadcasting; on a tie the gradient goes to a */
  minimum(a: Tensor, b: Tensor): Tensor {
    return this.binaryOp("min", a, b);
  }
  /** elementwise max with broadcasting; on a tie the gradient goes to a */
  maximum(a: Tensor, b: Tensor): Tensor {
    return this.binaryOp("max", a, b);
  }

  /**
   * x limited to [lo, hi] (GRPO's clipped ratio). The gradient is 1 where
   * lo ≤ x ≤ hi, bounds included, and 0 outside, where the output does not move with x.
   */
  clamp(x: Tensor, lo: number, hi: number): Tensor {
    if (!(lo <= hi)) throw new RangeError(`clamp: lo (${lo}) must be ≤ hi (${hi})`);
    const B = this.backend;
    const xr = x.raw;
    checkDType("clamp", xr, "f32", "x"); // before allocating: nothing below can fail then
    // the bounds as scalar tensors, broadcast against x; kept for the backward pass
    const loT = B.fill([], lo, "f32");
    const hiT = B.fill([], hi, "f32");
    const aboveLo = B.binary("max", xr, loT);
    const out = B.binary("min", aboveLo, hiT);
    B.free(aboveLo);
    return this.record("clamp", out, [x], (g) => {
      const geLo = B.binary("ge", xr, loT);
      const leHi = B.binary("ge", hiT, xr);
      const inside = B.binary("mul", geLo, leHi);
      const gx = B.binary("mul", g, inside);
      for (const t of [geLo, leHi, inside]) B.free(t);
      return [gx];
    }, [loT, hiT]);
  }

  /** alpha·x + beta */
  affine(x: Tensor, alpha: number, beta = 0): Tensor {
    const B = this.backend;
    return this.record("affine", B.affine(x.raw, alpha, beta), [x], (g) => [B.affine(g, alpha, 0)]);
  }
  scale(x: Tensor, alpha: number): Tensor {
    return this.affine(x, alpha, 0);
  }

  unary(op: UnaryOp, x: Tensor): Tensor {
    const B = this.backend;
    const xr = x.raw;
    return this.record(op, B.unary(op, xr), [x], (g) => [B.unaryBackward(op, xr, g)]);
  }
  neg = (x: Tensor) => this.unary("neg", x);
  exp = (x: Tensor) => this.unary("exp", x);
  log = (x: Tensor) => this.unary("log", x);
  tanh = (x: Tensor) => this.unary("tanh", x);
  sigmoid = (x: Tensor) => this.unary("sigmoid", x);
  silu = (x: Tensor) => this.unary("silu", x);
  gelu = (x: Tensor) => this.unary("gelu", x);
  relu = (x: Tensor) => this.unary("relu", x);
  sqrt = (x: Tensor) => this.unary("sqrt", x);
  rsqrt = (x: Tensor) => this.unary("rsqrt", x);
  square = (x: Tensor) => this.unary("square", x);

  matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
    const B = this.backend;
    const ar = a.raw;
    const br = b.raw;
    const tA = !!opts.transA;
    const tB = !!opts.transB;
    const out = B.matmul(ar, br, opts);
    return this.record("matmul", out, [a, b], (g) => {
      // C = op(A)·op(B): dop(A) = dC·op(B)ᵀ and dop(B) = op(A)ᵀ·dC, written so no
      // transpose is ever materialised.
      let ga: RawTensor | null = null;
      let gb: RawTensor | null = null;
      if (a.requiresGrad) {
        ga = tA ? B.matmul(br, g, { transA: tB, transB: true }) : B.matmul(g, br, { transB: !tB });
        ga = this.sumBatch(ga, ar.shape);
      }
      if (b.requiresGrad) {
        gb = tB ? B.matmul(g, ar, { transA: true, transB: tA }) : B.matmul(ar, g, { transA: !tA });
        gb = this.sumBatch(gb, br.shape);
      }
      return [ga, gb];
    });
  }

  /** a rank-2 operand shared by every batch gets the sum of the per-batch gradients */
  private sumBatch(g: RawTensor, shape: Shape): RawTensor {
    if (g.shape.length === shape.length) return g;
    const B = this.backend;
    const rows = shapeSize(g.shape.slice(0, -2));
    const flat = B.reshape(g, [rows, shapeSize(shape)]);
    const summed = B.reduce("sum", flat, 0);
    const out = B.reshape(summed, shape);
    for (const t of [g, flat, summed]) B.free(t);
    return out;
  }

  /** sum over one axis, keeping it (size 1) */
  sum(x: Tensor, axis: number): Tensor {
    const B = this.backend;
    const shape = x.shape;
    const ax = normAxis("sum", axis, shape.length);
    return this.record("sum", B.reduce("sum", x.raw, ax), [x], (g) => [this.broadcastTo(g, shape)]);
  }
  mean(x: Tensor, axis: number): Tensor {
    const ax = normAxis("mean", axis, x.shape.length);
    return this.scale(this.sum(x, ax), 1 / x.shape[ax]!);
  }
  /** sum of every element → shape [1] */
  sumAll(x: Tensor): Tensor {
    return this.sum(this.reshape(x, [x.size]), 0);
  }
  meanAll(x: Tensor): Tensor {
    return this.scale(this.sumAll(x), 1 / x.size);
  }
  /** max over one axis (kept, size 1); the gradient goes to the first maximal element */
  max(x: Tensor, axis: number): Tensor {
    const rank = x.shape.length;
    const ax = normAxis("max", axis, rank);
    if (ax === rank - 1) return this.topk(x, 1).values;
    const perm = [...Array(rank).keys()];
    perm[ax] = rank - 1;
    perm[rank - 1] = ax;
    const m = this.topk(this.permute(x, perm), 1).values;
    return this.permute(m, perm);
  }

  /** x + zeros(shape): the gradient of a reduction */
  private broadcastTo(g: RawTensor, shape: Shape): RawTensor {
    const B = this.backend;
    const zeros = B.fill(shape, 0, "f32");
    const out = B.binary("add", zeros, g);
    B.free(zeros);
    return out;
  }

  softmax(x: Tensor): Tensor {
    const B = this.backend;
    const y = B.softmax(x.raw);
    return this.record("softmax", y, [x], (g) => [B.softmaxBackward(y, g)]);
  }
  logSoftmax(x: Tensor): Tensor {
    const B = this.backend;
    const y = B.logSoftmax(x.raw);
    return this.record("logSoftmax", y, [x], (g) => [B.logSoftmaxBackward(y, g)]);
  }

  /**
   * Per-row cross-entropy, logits [N, V] and targets i32 [N]; rows with mask 0 give 0.
   * Returns the loss per row [N].
   */
  crossEntropy(logits: Tensor, targets: Tensor, mask: Tensor | null = null): Tensor {
    const B = this.backend;
    const lr = logits.raw;
    const tr = targets.raw;
    const mr = mask?.raw ?? null;
    const { loss, lse } = B.crossEntropy(lr, tr, mr);
    return this.record("crossEntropy", loss, [logits], (g) => [B.crossEntropyBackward(lr, tr, mr, lse, g)], [lse]);
  }
  /** mean cross-entropy over the rows that count (count = number of mask ones, or N) */
  meanCrossEntropy(logits: Tensor, targets: Tensor, mask: Tensor | null = null, count?: number): Tensor {
    const n = count ?? logits.shape[0]!;
    return this.scale(this.sumAll(this.crossEntropy(logits, targets, mask)), 1 / Math.max(1, n));
  }

  rmsnorm(x: Tensor, w: Tensor, eps = 1e-5): Tensor {
    const B = this.backend;
    const xr = x.raw;
    const wr = w.raw;
    const { y, rstd } = B.rmsnorm(xr, wr, eps);
    return this.record(
      "rmsnorm", y, [x, w],
      (g) => {
        const { dx, dw } = B.rmsnormBackward(xr, wr, rstd, g);
        return [dx, dw];
      },
      [rstd],
    );
  }

  /**
   * Rows of x [N, C] picked by i32 indices of any shape → [...idx.shape, C]: an
   * embedding lookup, or the dispatch of tokens to experts in an MoE layer. A row
   * picked k times gets the sum of its k gradients. Indices carry no gradient.
   * (On the GPU an index outside 0..N−1 reads a zero row; the CPU throws.)
   */
  gatherRows(x: Tensor, idx: Tensor): Tensor {
    const B = this.backend;
    const ir = idx.raw;
    const rows = x.shape[0]!;
    return this.record("gatherRows", B.gatherRows(x.raw, ir), [x], (g) => [B.scatterAddRows(g, ir, rows)]);
  }
  /** embedding lookup: table [V, D], ids of any shape → [...ids.shape, D] (gatherRows) */
  embedding(table: Tensor, ids: Tensor): Tensor {
    return this.gatherRows(table, ids);
  }
  /**
   * The reverse of gatherRows: src [...idx.shape, C] added into a zero [rows, C],
   * src's row m landing on row idx[m] (rows with equal index are summed) — how an
   * MoE layer combines the experts' outputs back into token order. Each src row's
   * gradient is the upstream gradient of the row it landed on: a gatherRows.
   * (On the GPU a row with an index outside 0..rows−1 is dropped; the CPU throws.)
   */
  scatterAddRows(src: Tensor, idx: Tensor, rows: number): Tensor {
    const B = this.backend;
    const ir = idx.raw;
    return this.record("scatterAddRows", B.scatterAddRows(src.raw, ir, rows), [src], (g) => [B.gatherRows(g, ir)]);
  }
  gatherLast(x: Tensor, idx: Tensor): Tensor {
    const B = this.backend;
    const E = x.shape[x.shape.length - 1]!;
    const ir = idx.raw;
    return this.record("gatherLast", B.gatherLast(x.raw, ir), [x], (g) => [B.scatterAddLast(g, ir, E)]);
  }
  /**
   * The routed rows of a top-k choice (indices i32 [N, k]) sorted by expert, for
   * sparse MoE dispatch: offsets [E + 1], the token of each sorted row [N·k], and
   * each choice's sorted position slot [N, k] (Backend.moeSort). No gradient.
   */
  moeSort(indices: Tensor, E: number): { offsets: Tensor; tokens: Tensor; slot: Tensor; order: Tensor } {
    const r = this.backend.moeSort(indices.raw, E);
    return { offsets: this.wrap(r.offsets), tokens: this.wrap(r.tokens), slot: this.wrap(r.slot), order: this.wrap(r.order) };
  }
  /**
   * x [N, C] → [N·k, C]: each token's row copied to the k sorted positions of its
   * choices (tokens from moeSort). The gradient of token n is the sum of its k rows'
   * gradients, found by gathering at slot [N, k] and summing over k: no scatter-add
   * over all N·k indices, as gatherRows's backward would need.
   */
  moeGather(x: Tensor, tokens: Tensor, slot: Tensor): Tensor {
    const B = this.backend;
    const [tr, sr] = [tokens.raw, slot.raw];
    const [N, C] = x.shape as [number, number];
    return this.record("moeGather", B.gatherRows(x.raw, tr), [x], (g) => {
      const rows = B.gatherRows(g, sr); // [N, k, C]
      const summed = B.reduce("sum", rows, 1); // [N, 1, C]
      const out = B.reshape(summed, [N, C]);
      B.free(rows);
      B.free(summed);
      return [out];
    });
  }
  /**
   * Rows of x [R, C] reordered by a permutation perm i32 [R] (row p of the result is
   * x[perm[p]]), given its inverse too: the gradient goes back by gathering with the
   * inverse, a copy, where gatherRows would need a scatter-add over all R indices.
   */
  permuteRows(x: Tensor, perm: Tensor, inverse: Tensor): Tensor {
    const B = this.backend;
    const [pr, ir] = [perm.raw, inverse.raw];
    return this.record("permuteRows", B.gatherRows(x.raw, pr), [x], (g) => [B.gatherRows(g, ir)]);
  }
  /**
   * Each row of x [R, C] (sorted by expert, offsets from moeSort) times its expert's
   * matrix of w [E, O, C], transposed: y[p] = x[p] · w[e(p)]ᵀ → [R, O]. The experts'
   * Linear layers applied to exactly their own tokens. Gradients: dx[p] = dy[p] · w[e(p)]
   * and dw[e] = Σ over e's rows dy[p]ᵀ x[p] (zero for an expert without rows).
   */
  groupedMatmul(x: Tensor, w: Tensor, offsets: Tensor): Tensor {
    const B = this.backend;
    const [xr, wr, or] = [x.raw, w.raw, offsets.raw];
    const E = w.shape[0]!;
    return this.record("groupedMatmul", B.groupedMatmul(xr, wr, or, true), [x, w], (g) => [
      x.requiresGrad ? B.groupedMatmul(g, wr, or, false) : null,
      w.requiresGrad ? B.groupedMatmulGradW(g, xr, or, E) : null,
    ]);
  }
  /** the k largest along the last axis; values carry gradients, indices do not */
  topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
    const { values, indices } = this.backend.topk(x.raw, k);
    this.backend.free(values);
    const idx = this.wrap(indices);
    return { values: this.gatherLast(x, idx), indices: idx };
  }

  rope(x: Tensor, pos0 = 0, theta = 10000): Tensor {
    const B = this.backend;
    return this.record("rope", B.rope(x.raw, { pos0, theta, inverse: false }), [x], (g) => [B.rope(g, { pos0, theta, inverse: true })]);
  }

  /** fused scaled-dot-product attention; q [B,Tq,Hq,D], k [B,Tk,Hkv,D], v [B,Tk,Hkv,Dv] */
  attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
    const B = this.backend;
    const [qr, kr, vr] = [q.raw, k.raw, v.raw];
    const { out, lse } = B.attention(qr, kr, vr, opts);
    return this.record(
      "attention", out, [q, k, v],
      (g) => {
        const { dq, dk, dv } = B.attentionBackward(qr, kr, vr, out, lse, g, opts);
        return [dq, dk, dv];
      },
      [lse],
    );
  }

  // ---- layout ----------------------------------------------------------------------

  reshape(x: Tensor, shape: Shape): Tensor {
    const B = this.backend;
    const inShape = x.shape;
    let s = [...shape];
    const infer = s.indexOf(-1);
    if (infer >= 0) s[infer] = x.size / -shapeSize(s);
    if (shapeSize(s) !== x.size) throw new ShapeError(`reshape: cannot view ${fmtShape(inShape)} as ${fmtShape(shape)}`);
    return this.record("reshape", B.reshape(x.raw, s), [x], (g) => [B.reshape(g, inShape)]);
  }
  permute(x: Tensor, perm: readonly number[]): Tensor {
    const B = this.backend;
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return this.record("permute", B.permute(x.raw, perm), [x], (g) => [B.permute(g, inverse)]);
  }
  /** swap two axes */
  transpose(x: Tensor, a: number, b: number): Tensor {
    const rank = x.shape.length;
    const perm = [...Array(rank).keys()];
    const [i, j] = [normAxis("transpose", a, rank), normAxis("transpose", b, rank)];
    perm[i] = j;
    perm[j] = i;
    return this.permute(x, perm);
  }
  slice(x: Tensor, axis: number, start: number, end: number): Tensor {
    const B = this.backend;
    const shape = x.shape;
    const ax = normAxis("slice", axis, shape.length);
    return this.record("slice", B.slice(x.raw, ax, start, end), [x], (g) => {
      const full = B.fill(shape, 0, "f32");
      B.writeSlice(full, g, ax, start);
      return [full];
    });
  }
  concat(xs: readonly Tensor[], axis: number): Tensor {
    const B = this.backend;
    const ax = normAxis("concat", axis, xs[0]!.shape.length);
    const sizes = xs.map((t) => t.shape[ax]!);
    return this.record("concat", B.concat(xs.map((t) => t.raw), ax), [...xs], (g) => {
      let start = 0;
      return sizes.map((n, i) => {
        const part = xs[i]!.requiresGrad ? B.slice(g, ax, start, start + n) : null;
        start += n;
        return part;
      });
    });
  }
}


function collectTensors(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || v === null || typeof v !== "object") return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) collectTensors(x, out, depth + 1);
    return;
  }
  for (const x of Object.values(v as Record<string, unknown>)) collectTensors(x, out, depth + 1);
}
