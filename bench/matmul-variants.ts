// Times the three matmul kernels (tiled, blocked, naive; see src/gpu/ops/matmul.ts)
// on square products of size 128, 256 and 512 on this machine's WebGPU adapter, and
// prints GFLOP/s (2·n³ flops per product).
//
//   node --import tsx bench/matmul-variants.ts [--sizes 128,256,512] [--reps 5]
//
// Each kernel's result is first checked against the CPU matmul; then one warm-up
// run (it also compiles the pipeline) and `reps` timed runs, each submitted alone
// and awaited with onSubmittedWorkDone(). The median is reported. Small sizes
// include the submit round trip, so they understate what the kernel can do.
//
// On a software adapter (SwiftShader) the numbers say how the kernels suit a CPU
// emulating a GPU, not what any real GPU does.

import { CpuBackend } from "../src/cpu/index.js";
import { GpuContext } from "../src/gpu/context.js";
import { requestDevice } from "../src/gpu/device.js";
import { MATMUL_VARIANTS, matmul } from "../src/gpu/ops/matmul.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const sizes = arg("sizes", "128,256,512").split(",").map(Number);
const reps = Number(arg("reps", "5"));
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(reps) || reps < 1) {
  console.error("usage: bench/matmul-variants.ts [--sizes 128,256,512] [--reps 5]");
  process.exit(1);
}

const r = await requestDevice();
if (!r.ok) {
  console.error(`no WebGPU adapter: ${r.report.reason}`);
  process.exit(1);
}
const { report } = r.handle;
const ctx = new GpuContext(r.handle.device);
console.log(`adapter: ${[report.vendor, report.architecture, report.description].filter(Boolean).join(" / ")}${report.software ? " (software: not what a real GPU does)" : ""}`);

/** pseudo-random values in [−1, 1), reproducible */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: { n: number; variant: string; ms: number; gflops: number }[] = [];

for (const n of sizes) {
  const hostA = values(n * n, 1);
  const hostB = values(n * n, 2);
  const cpu = new CpuBackend();
  const want = await cpu.read(cpu.matmul(cpu.upload(hostA, [n, n], "f32"), cpu.upload(hostB, [n, n], "f32")));
  cpu.destroy();
  const a = ctx.upload(hostA, [n, n], "f32");
  const b = ctx.upload(hostB, [n, n], "f32");
  for (const variant of MATMUL_VARIANTS) {
    // correctness first: a fast wrong kernel is not a result
    const c = matmul(ctx, a, b, {}, variant);
    const got = await ctx.read(c);
    ctx.free(c);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    if (!(worst <= 1e-3)) throw new Error(`${variant} ${n}³: result differs from the CPU by ${worst}`);

    const times: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const t0 = performance.now();
      ctx.free(matmul(ctx, a, b, {}, variant));
      ctx.flush();
      await ctx.device.queue.onSubmittedWorkDone();
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    rows.push({ n, variant, ms, gflops: (2 * n ** 3) / (ms * 1e6) });
    console.log(`  ${variant.padEnd(7)} ${String(n).padStart(4)}³  ${ms.toFixed(2).padStart(9)} ms  ${((2 * n ** 3) / (ms * 1e6)).toFixed(2).padStart(7)} GFLOP/s`);
  }
  ctx.free(a);
  ctx.free(b);
}

console.log("\nGFLOP/s (median of " + reps + " runs)");
console.log(["size", ...MATMUL_VARIANTS].map((s) => s.padStart(9)).join(""));
for (const n of sizes) {
  console.log([String(n), ...MATMUL_VARIANTS.map((v) => rows.find((x) => x.n === n && x.variant === v)!.gflops.toFixed(2))].map((s) => s.padStart(9)).join(""));
}

ctx.destroy();
r.handle.release();
