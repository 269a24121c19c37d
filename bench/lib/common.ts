// Types and small helpers shared by the benchmark's browser half (bench/browser.ts,
// bundled into the page) and its Node half (bench/run.ts). Nothing here touches a
// device, so both sides can import it.

import type { GPTConfig } from "../../src/nn/gpt.js";
import { PRETRAIN_PRESETS, type PresetName } from "../../src/train/presets.js";

/** One matrix product to time: C[m, n] = op(A) · op(B), with op = transpose where asked. */
export interface MatmulCase {
  /** "256²" for square sizes, or a lesson label such as "default · MLP up" */
  label: string;
  m: number;
  k: number;
  n: number;
  /** A is stored as [k, m] and used transposed (dW = Xᵀ·dY in backward passes) */
  transA: boolean;
  /** B is stored as [n, k] and used transposed (a Linear layer: y = x·Wᵀ) */
  transB: boolean;
  square: boolean;
}

/** The training step every library runs: the same GPT, the same batch, the same AdamW. */
export interface TrainSpec {
  preset: string;
  model: GPTConfig;
  batch: number;
  seqLen: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
  /** seeds the weights (the GPT constructor) and the token batch */
  seed: number;
}

export interface Reps {
  /** untimed runs after the correctness check (pipelines compiled, pools filled) */
  warmup: number;
  /** timed runs at least; the median is reported */
  reps: number;
  /**
   * More rounds, up to this many, while a measurement has used less than budgetMs:
   * cheap measurements get more samples, so a loaded machine's noise averages out.
   */
  maxReps?: number;
  budgetMs?: number;
}

/** whether another timed round is due after `done` rounds that took `elapsedMs` */
export function wantAnotherRound(t: Reps, done: number, elapsedMs: number): boolean {
  if (done < t.reps) return true;
  return done < (t.maxReps ?? t.reps) && elapsedMs < (t.budgetMs ?? 0);
}

/** What the page is asked to do. Plain data: it crosses page.evaluate(). */
export interface BrowserBenchOptions {
  matmul: { cases: MatmulCase[]; timing: Reps };
  train: { spec: TrainSpec; timing: Reps; checkSteps: number };
  /** CPU engines, one thread each: R1 Lab's WebAssembly and TypeScript engines, tfjs-wasm, tfjs-cpu */
  cpuMatmul: { cases: MatmulCase[]; timing: Reps } | null;
  /** the training step on the CPU engines, one row per spec (the ci and the default GPT) */
  cpuTrain: { specs: TrainSpec[]; timing: Reps; checkSteps: number } | null;
  peers: { tfjs: boolean; jax: boolean; tfjsWasm: boolean; tfjsCpu: boolean };
  /** URL prefix the tfjs wasm binaries are served from (ends with "/") */
  wasmPath: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface MatmulRow {
  n: number;
  m: number;
  k: number;
  label: string;
  trans: "" | "a" | "b";
  r1lab_gflops: number | null;
  tfjs_gflops: number | null;
  jax_gflops: number | null;
  /** the kernel R1 Lab picked for this adapter */
  r1lab_kernel: string;
  /** products launched per timed sample (one sync per sample) */
  per_sample: number;
  /** timed samples per library (the median of these is reported) */
  samples: number;
}

/**
 * One product on the CPU engines, GFLOP/s (null: not run, or failed its check).
 * wasm: R1 Lab's WebAssembly SIMD engine (what `--backend cpu` runs); reference: its
 * plain TypeScript engine (`new CpuBackend()`).
 */
export interface CpuMatmulRow {
  label: string;
  m: number;
  k: number;
  n: number;
  trans: "" | "a" | "b";
  wasm_gflops: number | null;
  reference_gflops: number | null;
  tfjs_wasm_gflops: number | null;
  tfjs_cpu_gflops: number | null;
  per_sample: number;
  samples: number;
}

/** One training step (forward + backward + AdamW) on the CPU engines, median ms. */
export interface CpuTrainRow {
  preset: string;
  model: string;
  params: number;
  batch: number;
  seq_len: number;
  wasm_ms: number | null;
  reference_ms: number | null;
  tfjs_wasm_ms: number | null;
  tfjs_cpu_ms: number | null;
  /** timed steps per engine */
  samples: number;
}

export interface CpuBenchResult {
  matmul: CpuMatmulRow[];
  train: CpuTrainRow[];
  /** the WebAssembly module's sha256 prefix, or why the page could not run it */
  wasm_engine: string;
  tfjs_wasm_simd: boolean | null;
  tfjs_wasm_threads: boolean | null;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
  user_agent: string;
  limits: Record<string, number>;
}

/** What the page hands back. */
export interface BrowserBenchResult {
  adapter: AdapterInfo;
  matmul: MatmulRow[];
  train: {
    r1lab_ms: number | null;
    tfjs_ms: number | null;
    r1lab_samples: number[];
    tfjs_samples: number[];
    params: number;
  };
  cpu: CpuBenchResult | null;
  per_step: {
    dispatches: number;
    submits: number;
    readbacks: number;
    uploads: number;
    pooled_bytes: number;
    live_bytes: number;
    flops: number;
    /** kernels tfjs-webgpu ran for the same step (tf.profile), null when not measured */
    tfjs_kernels: number | null;
  };
  checks: Check[];
  /** peers that could not run, and why */
  skipped: string[];
}

/** The JSON file `--json FILE` writes: the shape, plus context fields. */
export interface BenchJson {
  adapter: AdapterInfo & { runtime: "browser"; browser: string };
  matmul: MatmulRow[];
  train_step: {
    r1lab_ms: number | null;
    tfjs_ms: number | null;
    /** the CPU rows of the same GPT (cpu.train): R1 Lab's CPU engine (WebAssembly) */
    r1lab_cpu_ms: number | null;
    /** R1 Lab's TypeScript reference engine */
    r1lab_cpu_reference_ms: number | null;
    tfjs_wasm_ms: number | null;
    tfjs_cpu_ms: number | null;
    model: string;
    params: number;
    batch: number;
    seq_len: number;
    cpu_model: string | null;
  };
  per_step: BrowserBenchResult["per_step"];
  /** the CPU engines side by side (null with --no-cpu) */
  cpu: CpuBenchResult | null;
  checks: Check[];
  skipped: string[];
  timing: { matmul: Reps; train: Reps; cpu_matmul: Reps | null; cpu_train: Reps | null; statistic: "median" };
  /** the machine the browser ran on: other load skews timings on a software adapter */
  host: { platform: string; cpus: number; cpu_model: string; loadavg_start: number[]; loadavg_end: number[] };
  command: string;
  quick: boolean;
  date: string;
  wall_s: number;
}

// ---- numbers ----------------------------------------------------------------------

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** reproducible values in [−1, 1) (an LCG: fast for millions of entries) */
export function uniformValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** 2·m·n·k */
export function matmulFlops(c: MatmulCase): number {
  return 2 * c.m * c.n * c.k;
}

/**
 * How many products one timed sample launches before it waits: enough that a
 * sample does ~2^27 flops (so the wait and the submit do not dominate tiny
 * products), at most 32.
 */
export function productsPerSample(c: MatmulCase): number {
  return Math.max(1, Math.min(32, Math.round(2 ** 27 / matmulFlops(c))));
}

/**
 * Reference entries of C = op(A)·op(B) in float64 at `count` reproducible positions
 * (a full float64 product at 1024³ would take seconds of page time).
 */
export function referenceSamples(c: MatmulCase, a: Float32Array, b: Float32Array, count = 256): { idx: number[]; want: number[]; scale: number[] } {
  const idx: number[] = [];
  const want: number[] = [];
  const scale: number[] = [];
  let s = 12345;
  const total = c.m * c.n;
  for (let t = 0; t < Math.min(count, total); t++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const flat = t === 0 ? total - 1 : s % total; // always include the last entry (edge tiles)
    const i = Math.floor(flat / c.n);
    const j = flat % c.n;
    let acc = 0;
    let abs = 0;
    for (let p = 0; p < c.k; p++) {
      const av = c.transA ? a[p * c.m + i]! : a[i * c.k + p]!;
      const bv = c.transB ? b[j * c.k + p]! : b[p * c.n + j]!;
      acc += av * bv;
      abs += Math.abs(av * bv);
    }
    idx.push(flat);
    want.push(acc);
    scale.push(abs);
  }
  return { idx, want, scale };
}

/**
 * Worst error of `got` at the reference positions, relative to Σ|a·b| of each
 * entry (float32 accumulation error grows with that sum). Fails above 1e-5
 * relative, i.e. about 100 float32 ulps of the sum.
 */
export function checkAgainstReference(got: ArrayLike<number>, ref: { idx: number[]; want: number[]; scale: number[] }): { ok: boolean; worst: number } {
  let worst = 0;
  for (let t = 0; t < ref.idx.length; t++) {
    const g = got[ref.idx[t]!]!;
    const e = Math.abs(g - ref.want[t]!) / Math.max(ref.scale[t]!, 1e-6);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return { ok: worst <= 1e-5, worst };
}

/** largest |x − y| over two whole outputs */
export function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** losses and gradient norms of the first steps agree between two libraries */
export function compareTrajectories(
  a: readonly { loss: number; gradNorm: number }[],
  b: readonly { loss: number; gradNorm: number }[],
): { ok: boolean; lossDiff: number; gradNormRel: number } {
  let lossDiff = 0;
  let gradNormRel = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    lossDiff = Math.max(lossDiff, Math.abs(a[i]!.loss - b[i]!.loss));
    gradNormRel = Math.max(gradNormRel, Math.abs(a[i]!.gradNorm - b[i]!.gradNorm) / Math.max(a[i]!.gradNorm, 1e-6));
  }
  const finite = Number.isFinite(lossDiff) && Number.isFinite(gradNormRel);
  return { ok: finite && a.length === b.length && lossDiff <= 2e-3 && gradNormRel <= 1e-2, lossDiff, gradNormRel };
}

// ---- what to measure ------------------------------------------------------------------

export const SQUARE_SIZES = [128, 256, 512, 1024] as const;

export function squareCase(n: number): MatmulCase {
  return { label: `${n}²`, m: n, k: n, n, transA: false, transB: false, square: true };
}

/**
 * The products one training step of a lesson's GPT runs (see src/nn): x·Wᵀ for the
 * attention projections, the SwiGLU layers and the tied output head, and one weight
 * gradient (dW = dYᵀ·X, long K) from the backward pass.
 */
export function lessonCases(preset: PresetName = "default"): MatmulCase[] {
  const p = PRETRAIN_PRESETS[preset];
  const c = p.model;
  const rows = p.batchSize * p.seqLen;
  const lin = (label: string, k: number, n: number): MatmulCase => ({
    label: `${preset} · ${label}`, m: rows, k, n, transA: false, transB: true, square: false,
  });
  return [
    lin("attn q/o", c.dModel, c.dModel),
    lin("MLP up", c.dModel, c.dFF),
    lin("MLP down", c.dFF, c.dModel),
    lin("head", c.dModel, c.vocabSize),
    { label: `${preset} · MLP up dW`, m: c.dFF, k: rows, n: c.dModel, transA: true, transB: false, square: false },
  ];
}

/** The training-step spec for a preset, with the preset's optimiser settings. */
export function trainSpec(preset: PresetName, seed = 1): TrainSpec {
  const p = PRETRAIN_PRESETS[preset];
  return {
    preset,
    model: structuredClone(p.model),
    batch: p.batchSize,
    seqLen: p.seqLen,
    lr: p.lr,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    weightDecay: p.weightDecay,
    maxGradNorm: p.maxGradNorm,
    seed,
  };
}

export function describeSpec(s: TrainSpec, params: number): string {
  const c = s.model;
  return `GPT ${c.nLayers} layers, d=${c.dModel}, ${c.nHeads} heads (${c.nKvHeads} KV), SwiGLU ${c.dFF}, vocab ${c.vocabSize}, tied head, ${params} parameters, batch ${s.batch}×${s.seqLen}`;
}

/** The token batch every library trains on: `batch·seqLen` ids and next-token targets. */
export function tokenBatch(s: TrainSpec): { ids: Int32Array; targets: Int32Array } {
  const n = s.batch * s.seqLen;
  const stream = new Int32Array(n + s.batch);
  let x = (s.seed * 2654435761) >>> 0;
  for (let i = 0; i < stream.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    stream[i] = (x >>> 8) % s.model.vocabSize;
  }
  const ids = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let b = 0; b < s.batch; b++) {
    for (let t = 0; t < s.seqLen; t++) {
      ids[b * s.seqLen + t] = stream[b * (s.seqLen + 1) + t]!;
      targets[b * s.seqLen + t] = stream[b * (s.seqLen + 1) + t + 1]!;
    }
  }
  return { ids, targets };
}
