// Checks a lesson page runs live on the learner's machine:
//  - parity: the same Backend ops on two engines (WebGPU vs the CPU twin, or the
//    float32 CPU engine vs the float64 one) on random inputs of awkward shapes;
//  - a gradient check of a small GPT: autograd against central finite differences
//    computed in float64 on the CPU;
//  - matmul throughput, with FLOPs counted by the engine (backend.stats().flops).
// They depend only on the Backend contract, the engine and src/nn, so the unit
// tests and the pages exercise the same code.
import type { Backend, HostArray, RawTensor, Shape } from "../tensor/backend.js";
import { shapeSize } from "../tensor/backend.js";
import { Engine } from "../tensor/engine.js";
import { Rng } from "../tensor/random.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";

// ---- parity -------------------------------------------------------------------------

/** Deterministic inputs: two Makers with the same seed produce the same data. */
export class Maker {
  private rng: Rng;
  private made: RawTensor[] = [];
  constructor(readonly backend: Backend, seed: number) {
    this.rng = new Rng(seed);
  }
  /** uniform floats in [lo, hi) */
  f32(shape: Shape, lo = -1, hi = 1): RawTensor {
    const n = shapeSize(shape);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * this.rng.next();
    return this.keep(this.backend.upload(d, shape, "f32"));
  }
  /** integers in [0, n) */
  i32(shape: Shape, n: number): RawTensor {
    const size = shapeSize(shape);
    const d = new Int32Array(size);
    for (let i = 0; i < size; i++) d[i] = this.rng.int(n);
    return this.keep(this.backend.upload(d, shape, "i32"));
  }
  /** 0/1 mask with about `p` ones */
  mask(shape: Shape, p = 0.7): RawTensor {
    const size = shapeSize(shape);
    const d = new Float32Array(size);
    for (let i = 0; i < size; i++) d[i] = this.rng.next() < p ? 1 : 0;
    return this.keep(this.backend.upload(d, shape, "f32"));
  }
  keep(t: RawTensor): RawTensor {
    this.made.push(t);
    return t;
  }
  freeAll(): void {
    for (const t of this.made) if (!t.freed) this.backend.free(t);
    this.made = [];
  }
}

export interface ParityCase {
  op: string;
  shapes: string;
  /** tolerance: |a − b| ≤ tol · max(1, max|b|) */
  tol?: number;
  /** run the op; return the outputs to compare (the Maker frees inputs; outputs are freed by the runner) */
  run(b: Backend, m: Maker): RawTensor[];
}

const att = { scale: 1 / 4, causal: true };

/** Ops with shapes that are deliberately not multiples of any tile size. */
export const PARITY_CASES: readonly ParityCase[] = [
  { op: "matmul", shapes: "[37,53]·[53,29]", run: (b, m) => [b.matmul(m.f32([37, 53]), m.f32([53, 29]))] },
  { op: "matmul bᵀ, batched", shapes: "[3,17,33]·[3,21,33]ᵀ", run: (b, m) => [b.matmul(m.f32([3, 17, 33]), m.f32([3, 21, 33]), { transB: true })] },
  { op: "matmul aᵀ", shapes: "[45,19]ᵀ·[45,23]", run: (b, m) => [b.matmul(m.f32([45, 19]), m.f32([45, 23]), { transA: true })] },
  { op: "add (broadcast)", shapes: "[7,1,13]+[5,13]", run: (b, m) => [b.binary("add", m.f32([7, 1, 13]), m.f32([5, 13]))] },
  { op: "div", shapes: "[31,9]/[9]", run: (b, m) => [b.binary("div", m.f32([31, 9]), m.f32([9], 0.5, 2))] },
  {
    op: "min, max (broadcast)", shapes: "[9,1,17]·[5,17]",
    run: (b, m) => { const x = m.f32([9, 1, 17]); const y = m.f32([5, 17]); return [b.binary("min", x, y), b.binary("max", x, y)]; },
  },
  { op: "gelu", shapes: "[1001]", run: (b, m) => [b.unary("gelu", m.f32([1001], -4, 4))] },
  { op: "exp", shapes: "[333]", run: (b, m) => [b.unary("exp", m.f32([333], -3, 3))] },
  { op: "tanh backward", shapes: "[257]", run: (b, m) => [b.unaryBackward("tanh", m.f32([257], -3, 3), m.f32([257]))] },
  { op: "sum (axis 1)", shapes: "[17,33,5]", run: (b, m) => [b.reduce("sum", m.f32([17, 33, 5]), 1)] },
  { op: "max (axis 0)", shapes: "[29,11]", run: (b, m) => [b.reduce("max", m.f32([29, 11]), 0)] },
  { op: "softmax", shapes: "[19,67]", run: (b, m) => [b.softmax(m.f32([19, 67], -5, 5))] },
  { op: "log-softmax", shapes: "[7,129]", run: (b, m) => [b.logSoftmax(m.f32([7, 129], -5, 5))] },
  {
    op: "cross-entropy + backward", shapes: "[23,41]",
    run: (b, m) => {
      const logits = m.f32([23, 41], -3, 3);
      const t = m.i32([23], 41);
      const mask = m.mask([23]);
      const { loss, lse } = b.crossEntropy(logits, t, mask);
      const d = b.crossEntropyBackward(logits, t, mask, lse, m.f32([23]));
      return [loss, lse, d];
    },
  },
  {
    op: "RMSNorm + backward", shapes: "[13,97]",
    run: (b, m) => {
      const x = m.f32([13, 97]);
      const w = m.f32([97], 0.5, 1.5);
      const { y, rstd } = b.rmsnorm(x, w, 1e-5);
      const { dx, dw } = b.rmsnormBackward(x, w, rstd, m.f32([13, 97]));
      return [y, rstd, dx, dw];
    },
  },
  {
    op: "attention (causal, GQA)", shapes: "q[2,11,4,16] kv[2,11,2,16]",
    run: (b, m) => {
      const { out, lse } = b.attention(m.f32([2, 11, 4, 16]), m.f32([2, 11, 2, 16]), m.f32([2, 11, 2, 16]), att);
      return [out, lse];
    },
  },
  {
    op: "attention backward", shapes: "q[1,9,2,8] kv[1,9,1,8]", tol: 5e-4,
    run: (b, m) => {
      const q = m.f32([1, 9, 2, 8]); const k = m.f32([1, 9, 1, 8]); const v = m.f32([1, 9, 1, 8]);
      const o = { scale: 1 / Math.sqrt(8), causal: true };
      const { out, lse } = b.attention(q, k, v, o);
      const { dq, dk, dv } = b.attentionBackward(q, k, v, out, lse, m.f32([1, 9, 2, 8]), o);
      return [out, dq, dk, dv];
    },
  },
  {
    // rows padded on the left by 0, 4 and all 7 positions (how GRPO batches prompts of different lengths)
    op: "attention, left padding", shapes: "q[3,7,2,8] kv[3,7,1,8]", tol: 5e-4,
    run: (b, m) => {
      const q = m.f32([3, 7, 2, 8]); const k = m.f32([3, 7, 1, 8]); const v = m.f32([3, 7, 1, 8]);
      const o = { scale: 1 / Math.sqrt(8), causal: true, keyStart: m.keep(b.upload([0, 4, 7], [3], "i32")) };
      const { out, lse } = b.attention(q, k, v, o);
      const { dq, dk, dv } = b.attentionBackward(q, k, v, out, lse, m.f32([3, 7, 2, 8]), o);
      return [out, dq, dk, dv];
    },
  },
  { op: "RoPE", shapes: "[2,7,3,10]", run: (b, m) => [b.rope(m.f32([2, 7, 3, 10]), { pos0: 3, theta: 10000, inverse: false })] },
  {
    op: "top-k", shapes: "[9,50], k=5",
    run: (b, m) => { const { values, indices } = b.topk(m.f32([9, 50]), 5); return [values, indices]; },
  },
  { op: "gather rows", shapes: "[37,12][idx 5×3]", run: (b, m) => [b.gatherRows(m.f32([37, 12]), m.i32([5, 3], 37))] },
  { op: "scatter-add rows", shapes: "[5,3,12]→[37,12]", run: (b, m) => [b.scatterAddRows(m.f32([5, 3, 12]), m.i32([5, 3], 37), 37)] },
  {
    op: "MoE sort (histogram, prefix sum)", shapes: "[13,3] of 6 experts",
    run: (b, m) => { const r = b.moeSort(m.i32([13, 3], 6), 6); return [r.offsets, r.tokens, r.slot, r.order]; },
  },
  {
    // expert 1 and 4 get no row; blocks end inside tiles
    op: "grouped matmul + backward", shapes: "[37,19]·[5,21,19]ᵀ",
    run: (b, m) => {
      const x = m.f32([37, 19]); const w = m.f32([5, 21, 19]); const dy = m.f32([37, 21]);
      const off = m.keep(b.upload([0, 9, 9, 20, 37, 37], [6], "i32"));
      return [b.groupedMatmul(x, w, off, true), b.groupedMatmul(dy, w, off, false), b.groupedMatmulGradW(dy, x, off, 5)];
    },
  },
  { op: "permute", shapes: "[3,5,7]→(2,0,1)", run: (b, m) => [b.permute(m.f32([3, 5, 7]), [2, 0, 1])] },
  {
    op: "AdamW (in place)", shapes: "[41,7]",
    run: (b, m) => {
      const p = m.f32([41, 7]); const g = m.f32([41, 7]); const mm = m.f32([41, 7], -0.1, 0.1); const v = m.f32([41, 7], 0, 0.01);
      const ss = m.keep(b.sumSquares([g]));
      const coef = m.keep(b.clipCoefficient(ss, 1));
      b.adamw(p, g, mm, v, { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3 }, coef);
      // copies, so the runner can free them independently of the Maker's inputs
      return [b.affine(p, 1, 0), b.affine(mm, 1, 0), b.affine(v, 1, 0), b.affine(coef, 1, 0)];
    },
  },
];

export interface ParityResult {
  op: string;
  shapes: string;
  maxAbsErr: number;
  tol: number;
  pass: boolean;
  ms: number;
  error?: string;
}

function maxAbs(a: HostArray): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Run every case on `test` and on `ref`; yields one result per case as it completes. */
export async function* runParity(
  test: Backend, ref: Backend, seed = 1234, cases: readonly ParityCase[] = PARITY_CASES,
): AsyncGenerator<ParityResult> {
  let k = 0;
  for (const c of cases) {
    k++;
    const t0 = performance.now();
    const mt = new Maker(test, seed + k);
    const mr = new Maker(ref, seed + k);
    try {
      const outT = c.run(test, mt);
      const outR = c.run(ref, mr);
      const [hostT, hostR] = await Promise.all([
        Promise.all(outT.map((t) => test.read(t))),
        Promise.all(outR.map((t) => ref.read(t))),
      ]);
      let err = 0;
      let scale = 1;
      let mismatch = "";
      hostR.forEach((r, i) => {
        const t = hostT[i]!;
        if (t.length !== r.length) mismatch = `output ${i} has ${t.length} values, reference ${r.length}`;
        scale = Math.max(scale, maxAbs(r));
        for (let j = 0; j < Math.min(t.length, r.length); j++) {
          const d = Math.abs(t[j]! - r[j]!);
          err = Number.isNaN(d) ? Infinity : Math.max(err, d);
        }
      });
      for (const t of outT) if (!t.freed) test.free(t);
      for (const t of outR) if (!t.freed) ref.free(t);
      const tol = (c.tol ?? 2e-4) * scale;
      const res: ParityResult = { op: c.op, shapes: c.shapes, maxAbsErr: err, tol, pass: !mismatch && err <= tol, ms: performance.now() - t0 };
      if (mismatch) res.error = mismatch;
      yield res;
    } catch (e) {
      yield { op: c.op, shapes: c.shapes, maxAbsErr: NaN, tol: NaN, pass: false, ms: performance.now() - t0, error: e instanceof Error ? e.message : String(e) };
    } finally {
      mt.freeAll();
      mr.freeAll();
    }
  }
}

// ---- gradient check -------------------------------------------------------------------

export const GRADCHECK_GPT: GPTConfig = {
  vocabSize: 13, dModel: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, dFF: 12, maxSeqLen: 8,
  ropeTheta: 10000, tiedHead: true, normEps: 1e-5,
};

export interface GradCheckRow {
  param: string;
  shape: string;
  /** elements compared */
  samples: number;
  /** max over samples of |analytic − numeric| / max(|analytic| + |numeric|, 1e-3) */
  relErr: number;
  /** the same for the float64 CPU engine's own autograd (the reference's sanity check) */
  relErrRef: number;
  pass: boolean;
}

/**
 * Gradient check of a tiny GPT (embedding, RMSNorm, attention with RoPE and GQA,
 * SwiGLU, tied head, cross-entropy). Analytic gradients come from `test` (e.g.
 * WebGPU, float32) and from `ref64` (the CPU engine in float64); numeric gradients
 * are central differences (f(θ+h) − f(θ−h)) / 2h on `ref64`, at `samples` random
 * elements of every parameter.
 */
export async function gradCheck(
  test: Backend, ref64: Backend, opts: { seed?: number; samples?: number; h?: number; tol?: number } = {},
): Promise<GradCheckRow[]> {
  const seed = opts.seed ?? 7;
  const samples = opts.samples ?? 4;
  const h = opts.h ?? 1e-5;
  const tol = opts.tol ?? (test.name === "cpu" ? 1e-3 : 2e-2);
  const cfg = GRADCHECK_GPT;
  const B = 2, T = 6;
  const rng = new Rng(seed);
  const ids = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));

  async function analytic(backend: Backend): Promise<{ names: string[]; shapes: Shape[]; grads: HostArray[] }> {
    const e = new Engine(backend);
    const model = new GPT(e, cfg, seed);
    const params = model.parameters();
    await e.scope(async () => {
      const loss = model.loss(e.tensor(ids, [B, T], "i32"), e.tensor(targets, [B, T], "i32"));
      e.backward(loss);
    });
    const grads = await Promise.all(params.map((p) => (p.tensor.grad ? p.tensor.grad.data() : Promise.resolve(new Float32Array(p.tensor.size)))));
    const out = { names: params.map((p) => p.name), shapes: params.map((p) => p.tensor.shape), grads };
    for (const p of params) { p.tensor.grad?.dispose(); p.tensor.dispose(); }
    return out;
  }

  const a = await analytic(test);
  const aRef = await analytic(ref64);

  // numeric gradients on the float64 engine
  const e = new Engine(ref64);
  const model = new GPT(e, cfg, seed);
  const params = model.parameters();
  const lossAt = async (): Promise<number> =>
    e.noGrad(() => e.scope(async () => {
      const loss = model.loss(e.tensor(ids, [B, T], "i32"), e.tensor(targets, [B, T], "i32"));
      return (await loss.data())[0]!;
    }));
  const rows: GradCheckRow[] = [];
  const pick = new Rng(seed + 1);
  for (let pi = 0; pi < params.length; pi++) {
    const p = params[pi]!;
    const base = Float64Array.from(await p.tensor.data());
    let rel = 0;
    let relRef = 0;
    const n = Math.min(samples, base.length);
    for (let s = 0; s < n; s++) {
      const j = pick.int(base.length);
      const orig = base[j]!;
      base[j] = orig + h; e.assign(p.tensor, base);
      const fp = await lossAt();
      base[j] = orig - h; e.assign(p.tensor, base);
      const fm = await lossAt();
      base[j] = orig; e.assign(p.tensor, base);
      const num = (fp - fm) / (2 * h);
      const an = a.grads[pi]![j]!;
      const anRef = aRef.grads[pi]![j]!;
      rel = Math.max(rel, Math.abs(an - num) / Math.max(Math.abs(an) + Math.abs(num), 1e-3));
      relRef = Math.max(relRef, Math.abs(anRef - num) / Math.max(Math.abs(anRef) + Math.abs(num), 1e-3));
    }
    rows.push({
      param: p.name, shape: `[${p.tensor.shape.join(",")}]`, samples: n, relErr: rel, relErrRef: relRef,
      pass: Number.isFinite(rel) && rel <= tol,
    });
  }
  for (const p of params) p.tensor.dispose();
  return rows;
}

// ---- matmul throughput ----------------------------------------------------------------

export interface MatmulBenchRow {
  n: number;
  reps: number;
  ms: number;
  /** FLOPs counted by the backend (not computed here) */
  flops: number;
  gflops: number;
}

/**
 * Square n×n matmuls, repeated until `budgetMs` has passed (after one warm-up run that
 * compiles the kernel). Work is queued back to back; a readback of the last result
 * waits for it all. GFLOP/s = the backend's own FLOP count / wall time.
 */
export async function matmulBench(backend: Backend, n: number, budgetMs = 400, maxReps = 64): Promise<MatmulBenchRow> {
  const m = new Maker(backend, n);
  try {
    const a = m.f32([n, n]);
    const b = m.f32([n, n]);
    const warm = backend.matmul(a, b);
    await backend.read(warm);
    backend.free(warm);
    backend.resetStats();
    const t0 = performance.now();
    let reps = 0;
    let elapsed = 0;
    // grow the batch until the budget is spent: 1, 2, 4, ... queued products per sync
    for (let batch = 1; elapsed < budgetMs && reps < maxReps; batch *= 2) {
      let last: RawTensor | null = null;
      for (let i = 0; i < batch && reps < maxReps; i++, reps++) {
        if (last) backend.free(last);
        last = backend.matmul(a, b);
      }
      if (last) { await backend.read(last); backend.free(last); }
      elapsed = performance.now() - t0;
    }
    const flops = backend.stats().flops;
    return { n, reps, ms: elapsed, flops, gflops: flops / (elapsed / 1000) / 1e9 };
  } finally {
    m.freeAll();
  }
}

/** Parameters of a GPT config, counted by building it on a backend (cheap on the CPU engine). */
export function countParams(backend: Backend, cfg: GPTConfig): number {
  const e = new Engine(backend);
  const model = new GPT(e, cfg, 0);
  let n = 0;
  for (const p of model.parameters()) { n += p.tensor.size; p.tensor.dispose(); }
  return n;
}

// ---- one op, several engines ------------------------------------------------------------

export interface EngineRow {
  /** what the learner reads: "WGSL on WebGPU", "WebAssembly SIMD", "plain TypeScript" */
  label: string;
  description: string;
  /** largest |C − C_ref| over the product, against the first engine given (the reference) */
  maxAbsErr: number;
  /** allowed: float32 rounding of a sum of n products, √n·2e-6·max(1, max|C_ref|) */
  tol: number;
  pass: boolean;
  bench: MatmulBenchRow;
}

/**
 * The same n×n product on several engines: each result compared with the first
 * engine's (the reference), then each timed with matmulBench. One engine at a time,
 * so none slows another down. Each engine first runs the product for `warmupMs`:
 * browsers compile WebAssembly twice (a quick baseline first, the optimised code
 * later, in the background), and timing the baseline code would be unfair to it.
 */
export async function compareEngines(
  engines: readonly { label: string; backend: Backend }[], n: number, budgetMs = 400, warmupMs = 200,
): Promise<EngineRow[]> {
  const product = async (b: Backend): Promise<HostArray> => {
    const m = new Maker(b, 4242); // same seed: the same inputs on every engine
    try {
      const c = b.matmul(m.f32([n, n]), m.f32([n, n]));
      const host = await b.read(c);
      b.free(c);
      return host;
    } finally {
      m.freeAll();
    }
  };
  const ref = await product(engines[0]!.backend);
  const tol = Math.sqrt(n) * 2e-6 * Math.max(1, maxAbs(ref));
  const rows: EngineRow[] = [];
  for (const { label, backend } of engines) {
    const got = await product(backend);
    let err = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(got[i]! - ref[i]!);
      err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    }
    for (const t0 = performance.now(); performance.now() - t0 < warmupMs;) await product(backend);
    const bench = await matmulBench(backend, n, budgetMs);
    rows.push({ label, description: backend.description, maxAbsErr: err, tol, pass: err <= tol, bench });
  }
  return rows;
}
