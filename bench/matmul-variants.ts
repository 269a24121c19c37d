// Times the three matmul kernels (tiled, blocked, naive; see src/gpu/ops/matmul.ts)
// on square products of size 128, 256 and 512 on this machine's WebGPU adapter, and
// prints GFLOP/s (2·n³ flops per product).
//
//   node --import tsx bench/matmul-variants.ts [--sizes 128,256,512] [--reps 5] [--per 1|auto]
//
// Each kernel's result is first checked: against the CPU matmul for n ≤ 512, and for
// larger n (where a full CPU product takes seconds) against 256 float64 entries,
// relative to Σ|a·b| (bench/lib/common.ts). Then one warm-up run (it also compiles
// the pipeline) and `reps` timed samples. A sample launches `per` products
// (default 1), submits them and awaits onSubmittedWorkDone(); the median sample
// divided by `per` is reported. With `--per auto` a sample does about 2^33 flops
// (at most 256 products): on a real GPU a single small product is over before the
// submit round trip, so one product per sample understates what the kernel can do.
//
// On a software adapter (SwiftShader) the numbers say how the kernels suit a CPU
// emulating a GPU, not what any real GPU does.
//
// runMatmulVariants() is what bench/device-check.ts calls; the command-line part at
// the end runs only when this file is the program (also as the bundled
// .device-kit/matmul-variants.mjs).

import { CpuBackend } from "../src/cpu/index.js";
import { GpuContext } from "../src/gpu/context.js";
import { requestDevice } from "../src/gpu/device.js";
import { MATMUL_VARIANTS, matmul, type MatmulVariant } from "../src/gpu/ops/matmul.js";
import { checkAgainstReference, median, referenceSamples, squareCase, uniformValues } from "./lib/common.js";

export interface MatmulVariantsOptions {
  sizes: number[];
  /** timed samples per kernel and size; the median is reported */
  reps: number;
  /** products per timed sample, or "auto" (about 2^33 flops a sample, 1–256 products) */
  per: number | "auto";
}

export interface MatmulVariantRow {
  n: number;
  variant: MatmulVariant;
  /** products per timed sample */
  per: number;
  /** median milliseconds per product (sample time ÷ per) */
  ms: number;
  gflops: number;
  /** every sample, ms per product */
  samples_ms: number[];
  /** "cpu": whole product against the CPU engine (abs. error ≤ 1e-3); "sampled": 256 float64 entries (rel. error ≤ 1e-5) */
  check: "cpu" | "sampled";
  /** worst error found by the check (absolute for "cpu", relative to Σ|a·b| for "sampled") */
  worst: number;
  ok: boolean;
}

export const DEFAULT_SIZES = [128, 256, 512];
/** above this size the check samples entries instead of running the CPU matmul */
const FULL_CHECK_MAX = 512;

export function productsPerSample(n: number, per: number | "auto"): number {
  if (per !== "auto") return per;
  return Math.max(1, Math.min(256, Math.round(2 ** 33 / (2 * n ** 3))));
}

/**
 * Check and time every matmul variant at every size on `ctx`. A variant whose result
 * is wrong gets a row with ok: false and no timing (a fast wrong kernel is not a
 * result); the others go on.
 */
export async function runMatmulVariants(ctx: GpuContext, o: MatmulVariantsOptions, log: (line: string) => void = () => {}): Promise<MatmulVariantRow[]> {
  const rows: MatmulVariantRow[] = [];
  for (const n of o.sizes) {
    const hostA = uniformValues(n * n, 1);
    const hostB = uniformValues(n * n, 2);
    const full = n <= FULL_CHECK_MAX;
    let want: Float32Array | null = null;
    let ref: ReturnType<typeof referenceSamples> | null = null;
    if (full) {
      const cpu = new CpuBackend();
      want = (await cpu.read(cpu.matmul(cpu.upload(hostA, [n, n], "f32"), cpu.upload(hostB, [n, n], "f32")))) as Float32Array;
      cpu.destroy();
    } else {
      ref = referenceSamples(squareCase(n), hostA, hostB);
    }
    const a = ctx.upload(hostA, [n, n], "f32");
    const b = ctx.upload(hostB, [n, n], "f32");
    const per = productsPerSample(n, o.per);
    for (const variant of MATMUL_VARIANTS) {
      // correctness first: a fast wrong kernel is not a result
      const c = matmul(ctx, a, b, {}, variant);
      const got = await ctx.read(c);
      ctx.free(c);
      let worst = 0;
      let ok: boolean;
      if (want) {
        for (let i = 0; i < got.length; i++) {
          const d = Math.abs(got[i]! - want[i]!);
          if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
        }
        ok = worst <= 1e-3;
      } else {
        ({ ok, worst } = checkAgainstReference(got, ref!));
      }
      const check = full ? "cpu" : "sampled";
      if (!ok) {
        log(`  ${variant.padEnd(7)} ${String(n).padStart(4)}³  WRONG: result differs from the ${full ? "CPU" : "float64 reference"} by ${worst}`);
        rows.push({ n, variant, per, ms: NaN, gflops: NaN, samples_ms: [], check, worst, ok });
        continue;
      }

      const times: number[] = [];
      for (let rep = -1; rep < o.reps; rep++) {
        const t0 = performance.now();
        for (let p = 0; p < per; p++) ctx.free(matmul(ctx, a, b, {}, variant));
        ctx.flush();
        await ctx.device.queue.onSubmittedWorkDone();
        if (rep >= 0) times.push((performance.now() - t0) / per); // rep −1 is the warm-up
      }
      const ms = median(times);
      const gflops = (2 * n ** 3) / (ms * 1e6);
      rows.push({ n, variant, per, ms, gflops, samples_ms: times, check, worst, ok });
      log(`  ${variant.padEnd(7)} ${String(n).padStart(4)}³  ${ms.toFixed(3).padStart(9)} ms  ${gflops.toFixed(2).padStart(9)} GFLOP/s${per > 1 ? `  (${per} per sample)` : ""}`);
    }
    ctx.free(a);
    ctx.free(b);
  }
  return rows;
}

/** GFLOP/s, one row per size, one column per kernel, plus tiled ÷ naive */
export function formatMatmulTable(rows: readonly MatmulVariantRow[], reps: number): string {
  const sizes = [...new Set(rows.map((r) => r.n))];
  const cell = (n: number, v: MatmulVariant) => rows.find((x) => x.n === n && x.variant === v);
  const lines = [`GFLOP/s (median of ${reps} samples)`];
  lines.push(["size", ...MATMUL_VARIANTS, "tiled÷naive"].map((s) => s.padStart(12)).join(""));
  for (const n of sizes) {
    const t = cell(n, "tiled");
    const nv = cell(n, "naive");
    const ratio = t?.ok && nv?.ok ? (t.gflops / nv.gflops).toFixed(2) : "-";
    lines.push([String(n), ...MATMUL_VARIANTS.map((v) => {
      const r = cell(n, v);
      return !r ? "-" : r.ok ? r.gflops.toFixed(2) : "WRONG";
    }), ratio].map((s) => s.padStart(12)).join(""));
  }
  return lines.join("\n");
}

export function adapterLine(report: { vendor: string; architecture: string; description: string; software: boolean }): string {
  return `${[report.vendor, report.architecture, report.description].filter(Boolean).join(" / ")}${report.software ? " (software: not what a real GPU does)" : ""}`;
}

async function main(): Promise<number> {
  function arg(name: string, fallback: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
  }
  const sizes = arg("sizes", DEFAULT_SIZES.join(",")).split(",").map(Number);
  const reps = Number(arg("reps", "5"));
  const perArg = arg("per", "1");
  const per = perArg === "auto" ? "auto" : Number(perArg);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(reps) || reps < 1 || (per !== "auto" && (!Number.isInteger(per) || per < 1))) {
    console.error("usage: bench/matmul-variants.ts [--sizes 128,256,512] [--reps 5] [--per 1|auto]");
    return 1;
  }

  const r = await requestDevice();
  if (!r.ok) {
    console.error(`no WebGPU adapter: ${r.report.reason}`);
    return 1;
  }
  const ctx = new GpuContext(r.handle.device);
  console.log(`adapter: ${adapterLine(r.handle.report)}`);
  try {
    const rows = await runMatmulVariants(ctx, { sizes, reps, per }, (line) => console.log(line));
    console.log("\n" + formatMatmulTable(rows, reps));
    const wrong = rows.filter((x) => !x.ok);
    if (wrong.length) {
      console.error(`\n${wrong.length} kernel result(s) differ from the reference: ${wrong.map((x) => `${x.variant} ${x.n}³`).join(", ")}`);
      return 1;
    }
    return 0;
  } finally {
    ctx.destroy();
    r.handle.release();
  }
}

// The program itself, not an import (bench/device-check.ts imports this file, and in
// a bundle import.meta.url would be the bundle's, so the file name decides).
if (/(^|[\\/])matmul-variants\.(ts|mjs|js)$/.test(process.argv[1] ?? "")) process.exitCode = await main();
