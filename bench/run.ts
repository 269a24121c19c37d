// `r1-lab bench`: R1 Lab against TensorFlow.js and jax-js, side by side on the same
// WebGPU adapter, and R1 Lab's two CPU engines (WebAssembly SIMD, TypeScript reference)
// against tfjs-wasm and tfjs-cpu, all in headless Chromium. See bench/browser.ts for
// what is measured and how it is checked, bench/RESULTS.md for a run on this machine.
//
//   r1-lab bench [--quick] [--json FILE]      (npm run bench -- --quick; flags: src/cli/bench.ts)
//   node --import tsx bench/cli.ts [--quick] [--json FILE]    (the same, without the CLI)

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GPTConfig } from "../src/nn/gpt.js";
import type { PresetName } from "../src/train/presets.js";
import {
  type BenchJson, type BrowserBenchOptions, type MatmulCase, type Reps, type TrainSpec,
  describeSpec, lessonCases, squareCase, SQUARE_SIZES, trainSpec,
} from "./lib/common.js";
import { DEFAULT_CHROMIUM, runInChromium } from "./lib/host.js";
import { formatReport, judgeTargets } from "./lib/report.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface BenchRunOptions {
  quick: boolean;
  /** write the JSON here */
  json: string | null;
  /** the GPT of the training-step comparison; default: ci with --quick, else default */
  preset: PresetName | null;
  /** square matmul sizes; default 128, 256, 512, 1024 */
  sizes: number[] | null;
  /** include the lesson shapes (default preset) in the matmul table */
  lessonShapes: boolean;
  /** Chromium to drive; null: Playwright's own */
  chromium: string | null;
  headed: boolean;
  /** serve the page cross-origin isolated, so tfjs-wasm may use threads */
  wasmThreads: boolean;
  peers: BrowserBenchOptions["peers"];
  /** run the CPU comparison */
  cpu: boolean;
  /** the GPTs of the CPU training-step rows (default: ci and default) */
  cpuPresets: PresetName[];
  /** override repetitions (tests use tiny runs) */
  timing: { matmul?: Reps; train?: Reps; checkSteps?: number } | null;
  /** the exact command, recorded in the JSON */
  command: string;
  /** weights and batch seed */
  seed: number;
  /** a smaller training config than the preset's (tests) */
  trainOverride: { batch?: number; seqLen?: number; model?: Partial<GPTConfig> } | null;
}

export const DEFAULT_RUN_OPTIONS: BenchRunOptions = {
  quick: false, json: null, preset: null, sizes: null, lessonShapes: true,
  chromium: existsSync(DEFAULT_CHROMIUM) ? DEFAULT_CHROMIUM : null, headed: false, wasmThreads: false,
  peers: { tfjs: true, jax: true, tfjsWasm: true, tfjsCpu: true }, cpu: true, cpuPresets: ["ci", "default"], timing: null,
  command: "r1-lab bench", seed: 1, trainOverride: null,
};

export interface BenchOutcome {
  json: BenchJson;
  report: string;
  /** every correctness check passed */
  ok: boolean;
}

/**
 * The page bundles generated code: the WGSL kernels (src/gpu/kernels.generated.ts) and
 * the CPU engine's WebAssembly module (src/cpu/wasm/kernels.generated.ts). Regenerate
 * both from kernels/ first, as `npm run gen` does.
 */
function generateKernels(): void {
  for (const name of ["gen-kernels.mjs", "gen-wasm.mjs"]) {
    const script = join(ROOT, "scripts", name);
    if (!existsSync(script)) continue;
    const r = spawnSync(process.execPath, [script], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`npm run gen (${name}) failed: ${r.stderr || r.stdout}`);
  }
}

/** with trainOverride (tests), the one overridden spec; else one spec per preset */
function cpuSpecs(o: BenchRunOptions, trainSpecUsed: TrainSpec): TrainSpec[] {
  if (o.trainOverride) return [trainSpecUsed];
  return o.cpuPresets.map((p) => trainSpec(p, o.seed));
}

export async function runBench(o: BenchRunOptions, progress: (line: string) => void = () => {}): Promise<BenchOutcome> {
  const t0 = performance.now();
  const load0 = loadavg().map((x) => Math.round(x * 100) / 100);
  generateKernels();
  const preset: PresetName = o.preset ?? (o.quick ? "ci" : "default");
  const spec = trainSpec(preset, o.seed);
  if (o.trainOverride) {
    Object.assign(spec, { batch: o.trainOverride.batch ?? spec.batch, seqLen: o.trainOverride.seqLen ?? spec.seqLen });
    Object.assign(spec.model, o.trainOverride.model ?? {});
  }
  const cases: MatmulCase[] = [...(o.sizes ?? [...SQUARE_SIZES]).map(squareCase), ...(o.lessonShapes ? lessonCases("default") : [])];
  // The correctness run before timing is itself a full untimed run (pipelines compiled),
  // so --quick adds no further warm-up for matmul.
  // Cheap measurements take extra samples within a time budget (see Reps).
  const matmulTiming: Reps = o.timing?.matmul ?? (o.quick ? { warmup: 0, reps: 3, maxReps: 9, budgetMs: 4000 } : { warmup: 2, reps: 7, maxReps: 21, budgetMs: 20000 });
  const trainTiming: Reps = o.timing?.train ?? (o.quick ? { warmup: 1, reps: 3, maxReps: 9, budgetMs: 5000 } : { warmup: 1, reps: 5, maxReps: 15, budgetMs: 20000 });
  const checkSteps = o.timing?.checkSteps ?? (o.quick ? 2 : 3);
  const opts: BrowserBenchOptions = {
    matmul: { cases, timing: matmulTiming },
    train: { spec, timing: trainTiming, checkSteps },
    cpuMatmul: o.cpu ? { cases, timing: matmulTiming } : null,
    cpuTrain: o.cpu ? { specs: cpuSpecs(o, spec), timing: trainTiming, checkSteps } : null,
    peers: o.peers,
    wasmPath: "/wasm/",
  };
  const cpuPresetText = opts.cpuTrain ? `; CPU engines: the same shapes and the ${opts.cpuTrain.specs.map((s) => `"${s.preset}"`).join(" and ")} GPT` : "";
  progress(`benchmark: ${cases.length} matmul shapes, training step of the "${preset}" GPT (batch ${spec.batch}×${spec.seqLen})${cpuPresetText}; ${o.quick ? "quick" : "full"} repetitions`);
  const { result: r, browserVersion } = await runInChromium(ROOT, opts, o.chromium, progress, { headed: o.headed, crossOriginIsolated: o.wasmThreads });
  const model = describeSpec(spec, r.train.params);
  // the CPU row of the WebGPU step's GPT, for the train_step fields older readers use
  const sameCpu = r.cpu?.train.find((row) => row.preset === spec.preset) ?? null;
  const json: BenchJson = {
    adapter: { ...r.adapter, runtime: "browser", browser: `Chromium ${browserVersion}` },
    matmul: r.matmul,
    train_step: {
      r1lab_ms: r.train.r1lab_ms,
      tfjs_ms: r.train.tfjs_ms,
      r1lab_cpu_ms: sameCpu?.wasm_ms ?? null,
      r1lab_cpu_reference_ms: sameCpu?.reference_ms ?? null,
      tfjs_wasm_ms: sameCpu?.tfjs_wasm_ms ?? null,
      tfjs_cpu_ms: sameCpu?.tfjs_cpu_ms ?? null,
      model,
      params: r.train.params,
      batch: spec.batch,
      seq_len: spec.seqLen,
      cpu_model: r.cpu && sameCpu ? `${sameCpu.model}; R1 Lab: ${r.cpu.wasm_engine}, one thread; tfjs-wasm SIMD ${r.cpu.tfjs_wasm_simd ? "on" : "off"}, threads ${r.cpu.tfjs_wasm_threads ? "on" : "off"}` : null,
    },
    per_step: r.per_step,
    cpu: r.cpu,
    checks: r.checks,
    skipped: r.skipped,
    timing: { matmul: matmulTiming, train: trainTiming, cpu_matmul: o.cpu ? matmulTiming : null, cpu_train: o.cpu ? trainTiming : null, statistic: "median" },
    host: {
      platform: platform(), cpus: cpus().length, cpu_model: cpus()[0]?.model ?? "",
      loadavg_start: load0, loadavg_end: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    command: o.command,
    quick: o.quick,
    date: new Date().toISOString(),
    wall_s: Math.round((performance.now() - t0) / 100) / 10,
  };
  if (o.json) {
    mkdirSync(dirname(resolve(o.json)), { recursive: true });
    writeFileSync(o.json, JSON.stringify(json, null, 2) + "\n");
  }
  return { json, report: formatReport(json), ok: r.checks.every((c) => c.ok) };
}

export { judgeTargets };

