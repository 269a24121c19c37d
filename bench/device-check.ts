// One program for a machine with a real GPU (bench/device-check.sh runs it there from
// the bundle in .device-kit/; see bench/RESULTS.md "Measuring on a real GPU"):
//
//   1. the WebGPU adapter (src/gpu/device.ts), refused with --require-gpu when it is
//      a software one (SwiftShader, llvmpipe, …) or missing;
//   2. the matmul kernels side by side: tiled vs blocked vs naive (bench/matmul-variants.ts);
//   3. the `default` pretraining preset, run by the CLI's own code (src/cli/train.ts,
//      i.e. `r1-lab train pretrain --preset default --backend webgpu --out DIR`):
//      its wall time, tokens/s and final val_loss. With --steps N it stops after N
//      steps of the full schedule (--stop-after N) and extrapolates to the preset's
//      steps, labelled as extrapolated;
//   4. everything in one JSON file (--json PATH), rewritten after every stage so a run
//      cut short still leaves what it measured.
//
//   node --import tsx bench/device-check.ts [--require-gpu] [--json PATH] [--steps N]
//        [--run-dir DIR] [--mm-sizes 128,256,...] [--mm-reps N] [--mm-per N|auto]
//        [--skip-matmul] [--skip-pretrain] [--seed N]
//        [--preset ci|default] [--schedule-steps N]     (for testing this program: another
//        preset, or a shorter schedule via the CLI's --steps; the device run uses neither)
//
// Exit status: 0 all stages ran; 1 a stage failed (the JSON says which); 2 bad flags;
// 3 no adapter, or a software one with --require-gpu.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { cpus, hostname, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { train } from "../src/cli/train.js";
import { GpuContext } from "../src/gpu/context.js";
import { requestDevice, type AdapterReport } from "../src/gpu/device.js";
import { chooseMatmulKernel } from "../src/gpu/ops/matmul.js";
import { readMetrics } from "../src/io/run-record-node.js";
import type { MetricsRecord, RunSummary } from "../src/io/run-record.js";
import { PRESET_NAMES, pretrainPreset, type PresetName, type PretrainConfig } from "../src/train/presets.js";
import { adapterLine, formatMatmulTable, runMatmulVariants, type MatmulVariantRow } from "./matmul-variants.js";

const USAGE = `usage: device-check [--require-gpu] [--json PATH] [--steps N] [--run-dir DIR]
                    [--mm-sizes 128,256,...] [--mm-reps N] [--mm-per N|auto]
                    [--skip-matmul] [--skip-pretrain] [--seed N]
                    [--preset ci|default] [--schedule-steps N]   (testing only)`;

/** the CPU-engine run of the same preset and seed, kept in the repository (for comparing val_loss) */
const REFERENCE_RUN = "data/checkpoints/pretrain-default";

interface PretrainResult {
  preset: PresetName;
  /** set when --schedule-steps shortened the preset (a test of this program, not the preset's time) */
  schedule_steps: number | null;
  /** "full": the whole preset as `r1-lab train` runs it; "partial": --steps N of it, then extrapolated;
   *  "interrupted": stopped by SIGTERM/SIGINT (device-check.sh's time guard), extrapolated from the steps done */
  mode: "full" | "partial" | "interrupted";
  command: string;
  run_dir: string;
  steps_run: number;
  steps_total: number;
  batch_tokens: number;
  /** the whole train() call: device, data, steps, evaluations, checkpoints, held-out accuracy */
  wall_s: number;
  /** summary.json's wall_s (full mode: what `r1-lab train` records; it starts after the device is up) */
  cli_wall_s: number | null;
  /** Σ of the optimisation steps' own times (from metrics.jsonl tokens_per_s): no evaluations, checkpoints or held-out pass */
  steps_s: number;
  /** wall_s − steps_s: device start, data, validation passes, checkpoints, held-out accuracy */
  other_s: number;
  first_step_s: number;
  /** median over steps after the first */
  median_step_ms: number;
  /** tokens trained ÷ steps_s */
  tokens_per_s_steps: number;
  /** tokens trained ÷ wall_s */
  tokens_per_s_wall: number;
  final_loss: number | null;
  /** the last validation loss (null when no evaluation step was reached) */
  val_loss: number | null;
  unigram_val_loss: number | null;
  heldout_accuracy: number | null;
  /** the same preset and seed on the CPU engine (data/checkpoints/pretrain-default), if present */
  reference_cpu: { val_loss: number; wall_s: number } | null;
  /** only in partial mode: the full preset's steps, estimated from the measured ones */
  extrapolated: null | {
    note: string;
    /** first step + median step × (steps_total − 1) */
    steps_s: number;
    tokens_per_s: number;
  };
  summary: RunSummary | null;
}

interface DeviceCheckJson {
  schema: "r1-lab/device-check@1";
  date: string;
  command: string;
  host: { hostname: string; cpus: string; cores: number; mem_gib: number; loadavg: number[]; node: string; platform: string };
  env: Record<string, string | null>;
  require_gpu: boolean;
  adapter: AdapterReport | null;
  /** the matmul kernel src/gpu/ops/matmul.ts picks for this adapter (what training uses) */
  matmul_kernel_for_adapter: string | null;
  matmul: null | { sizes: number[]; reps: number; per: number | "auto"; rows: MatmulVariantRow[]; table: string; wall_s: number };
  pretrain: PretrainResult | null;
  errors: { stage: string; message: string }[];
  ok: boolean;
  wall_s: number;
}

class Usage extends Error {}

function options(argv: string[]) {
  let v;
  try {
    v = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        "require-gpu": { type: "boolean" },
        json: { type: "string" },
        steps: { type: "string" },
        "run-dir": { type: "string" },
        "mm-sizes": { type: "string" },
        "mm-reps": { type: "string" },
        "mm-per": { type: "string" },
        "skip-matmul": { type: "boolean" },
        "skip-pretrain": { type: "boolean" },
        seed: { type: "string" },
        preset: { type: "string" },
        "schedule-steps": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw new Usage((e as Error).message.split("\n")[0]!);
  }
  const int = (name: string, s: string | undefined, fallback: number | null): number | null => {
    if (s === undefined) return fallback;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Usage(`--${name} must be an integer ≥ 1, got "${s}"`);
    return n;
  };
  const sizes = (v["mm-sizes"] ?? "128,256,512,1024,2048,4096").split(",").map((x) => int("mm-sizes", x, null)!);
  const preset = v.preset ?? "default";
  if (!(PRESET_NAMES as readonly string[]).includes(preset)) throw new Usage(`--preset must be one of ${PRESET_NAMES.join(", ")}, got "${preset}"`);
  const per = v["mm-per"] === undefined || v["mm-per"] === "auto" ? "auto" : int("mm-per", v["mm-per"], 1)!;
  return {
    help: !!v.help,
    requireGpu: !!v["require-gpu"],
    json: v.json ?? null,
    steps: int("steps", v.steps, null),
    runDir: v["run-dir"] ?? "runs/device-check-pretrain-default",
    mmSizes: sizes,
    mmReps: int("mm-reps", v["mm-reps"], 10)!,
    mmPer: per as number | "auto",
    skipMatmul: !!v["skip-matmul"],
    skipPretrain: !!v["skip-pretrain"],
    seed: int("seed", v.seed, 1)!,
    preset: preset as PresetName,
    scheduleSteps: int("schedule-steps", v["schedule-steps"], null),
  };
}

const log = (s: string) => console.log(s);
const round = (x: number, d = 4) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

async function writeJson(path: string | null, out: DeviceCheckJson): Promise<void> {
  if (!path) return;
  await mkdir(dirname(path), { recursive: true });
  // NaN (a wrong kernel's timing) has no JSON form: it becomes null
  await writeFile(path, JSON.stringify(out, (_k, x: unknown) => (typeof x === "number" && !Number.isFinite(x) ? null : x), 2) + "\n");
}

async function checkAdapter(): Promise<AdapterReport> {
  const r = await requestDevice();
  if (!r.ok) return r.report;
  const report = r.handle.report;
  r.handle.release();
  return report;
}

async function matmulStage(o: ReturnType<typeof options>): Promise<NonNullable<DeviceCheckJson["matmul"]>> {
  const t0 = performance.now();
  const r = await requestDevice();
  if (!r.ok) throw new Error(`no WebGPU adapter: ${r.report.reason}`);
  const ctx = new GpuContext(r.handle.device);
  try {
    log(`\n== matmul kernels: sizes ${o.mmSizes.join(", ")}, ${o.mmReps} samples each, ${o.mmPer === "auto" ? "about 2^33 flops" : `${o.mmPer} product(s)`} per sample`);
    const rows = await runMatmulVariants(ctx, { sizes: o.mmSizes, reps: o.mmReps, per: o.mmPer }, log);
    const table = formatMatmulTable(rows, o.mmReps);
    log("\n" + table);
    const wrong = rows.filter((x) => !x.ok);
    if (wrong.length) throw Object.assign(new Error(`kernel results differ from the reference: ${wrong.map((x) => `${x.variant} ${x.n}³ (worst ${x.worst})`).join(", ")}`), { rows, table });
    return { sizes: o.mmSizes, reps: o.mmReps, per: o.mmPer, rows, table, wall_s: (performance.now() - t0) / 1000 };
  } finally {
    ctx.destroy();
    r.handle.release();
  }
}

/** What the pretraining stage knows while it runs (the SIGTERM handler summarises from it). */
interface PretrainState {
  o: ReturnType<typeof options>;
  config: PretrainConfig;
  command: string;
  partial: boolean;
  t0: number;
}

async function pretrainStage(o: ReturnType<typeof options>, started: (s: PretrainState) => void): Promise<PretrainResult> {
  const config = pretrainPreset(o.preset);
  const args = ["pretrain", "--preset", o.preset, "--seed", String(o.seed), "--backend", "webgpu", "--out", o.runDir];
  if (o.scheduleSteps !== null) {
    config.steps = o.scheduleSteps;
    args.push("--steps", String(o.scheduleSteps));
  }
  const partial = o.steps !== null && o.steps < config.steps;
  if (partial) args.push("--stop-after", String(o.steps));
  const command = `r1-lab train ${args.join(" ")}`;
  log(`\n== pretraining: ${command}${partial ? `  (${o.steps} of ${config.steps} steps, then extrapolated)` : ""}`);
  // always a fresh run (no --from): train() starts metrics.jsonl afresh in run-dir
  const state: PretrainState = { o, config, command, partial, t0: performance.now() };
  started(state);
  const code = await train(args, log);
  if (code !== 0) throw new Error(`r1-lab train exited with ${code}`);
  const result = await summarizeRun(state, partial ? "partial" : "full");
  log(`\npretrain ${o.preset}${o.scheduleSteps !== null ? ` (schedule shortened to ${o.scheduleSteps} steps: a test, not the preset's time)` : ""}: ${result.steps_run}/${result.steps_total} steps, wall ${result.wall_s} s (steps ${result.steps_s} s, other ${result.other_s} s), ` +
    `median step ${result.median_step_ms} ms, ${result.tokens_per_s_steps} tokens/s in steps, ${result.tokens_per_s_wall} tokens/s overall, ` +
    `val_loss ${result.val_loss ?? "(no evaluation step reached)"}${result.reference_cpu ? ` (CPU-engine run: ${result.reference_cpu.val_loss})` : ""}`);
  if (result.extrapolated) log(`EXTRAPOLATED full preset: ${result.extrapolated.steps_s} s for the ${config.steps} optimisation steps (${result.extrapolated.tokens_per_s} tokens/s); ${result.extrapolated.note}`);
  return result;
}

/** The numbers of a finished (or interrupted) run, from its run record. */
async function summarizeRun(st: PretrainState, mode: PretrainResult["mode"]): Promise<PretrainResult> {
  const { o, config } = st;
  const wall = (performance.now() - st.t0) / 1000;
  const B = config.batchSize;
  const T = config.seqLen;
  const metrics: MetricsRecord[] = existsSync(join(o.runDir, "metrics.jsonl")) ? await readMetrics(o.runDir) : [];
  const stepsS = metrics.map((m) => (B * T) / Number(m.tokens_per_s));
  const stepsTotal = stepsS.reduce((a, b) => a + b, 0);
  const rest = stepsS.slice(1).sort((a, b) => a - b);
  const medianStep = rest.length ? rest[rest.length >> 1]! : stepsS[0] ?? NaN;
  const vals = metrics.filter((m) => typeof m.val_loss === "number");
  const lastVal = vals.length ? Number(vals[vals.length - 1]!.val_loss) : null;
  const last = metrics[metrics.length - 1];
  const summaryPath = join(o.runDir, "summary.json");
  const summary = mode === "full" && existsSync(summaryPath) ? (JSON.parse(await readFile(summaryPath, "utf8")) as RunSummary) : null;
  let reference: PretrainResult["reference_cpu"] = null;
  if (o.preset === "default" && o.scheduleSteps === null && existsSync(join(REFERENCE_RUN, "summary.json"))) {
    const ref = JSON.parse(await readFile(join(REFERENCE_RUN, "summary.json"), "utf8")) as RunSummary;
    if (ref.seed === o.seed && typeof ref.metrics.val_loss === "number") reference = { val_loss: ref.metrics.val_loss, wall_s: ref.wall_s };
  }
  const tokens = metrics.length * B * T;
  const firstStep = stepsS[0] ?? NaN;
  const num = (x: unknown) => (typeof x === "number" ? x : null);
  const result: PretrainResult = {
    preset: o.preset,
    schedule_steps: o.scheduleSteps,
    mode,
    command: st.command,
    run_dir: o.runDir,
    steps_run: metrics.length,
    steps_total: config.steps,
    batch_tokens: B * T,
    wall_s: round(wall, 3)!,
    cli_wall_s: summary ? summary.wall_s : null,
    steps_s: round(stepsTotal, 3)!,
    other_s: round(wall - stepsTotal, 3)!,
    first_step_s: round(firstStep, 4)!,
    median_step_ms: round(medianStep * 1000, 3)!,
    tokens_per_s_steps: Math.round(tokens / stepsTotal),
    tokens_per_s_wall: Math.round(tokens / wall),
    final_loss: last && typeof last.loss === "number" ? round(last.loss) : null,
    val_loss: summary ? num(summary.metrics.val_loss) : lastVal === null ? null : round(lastVal),
    unigram_val_loss: summary ? num(summary.metrics.unigram_val_loss) : null,
    heldout_accuracy: summary ? num(summary.metrics.heldout_accuracy) : null,
    reference_cpu: reference,
    extrapolated: null,
    summary,
  };
  if (mode !== "full" && metrics.length > 0) {
    const est = firstStep + medianStep * (config.steps - 1);
    result.extrapolated = {
      note: `EXTRAPOLATED from ${metrics.length} measured steps to the preset's ${config.steps}${mode === "interrupted" ? " (the run was interrupted)" : ""}: optimisation steps only (first step + median step × ${config.steps - 1}); ` +
        `the full run adds ${Math.floor(config.steps / config.evalEvery)} validation passes, checkpoints every ${config.evalEvery} steps and the held-out accuracy pass, which this does not include`,
      steps_s: round(est, 2)!,
      tokens_per_s: Math.round((config.steps * B * T) / est),
    };
  }
  return result;
}

async function run(argv: string[]): Promise<number> {
  const t0 = performance.now();
  let o: ReturnType<typeof options>;
  try {
    o = options(argv);
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    console.error(`device-check: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    log(USAGE);
    return 0;
  }
  const envNames = ["VK_DRIVER_FILES", "VK_ICD_FILENAMES", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES"];
  const out: DeviceCheckJson = {
    schema: "r1-lab/device-check@1",
    date: new Date().toISOString(),
    command: ["device-check", ...argv].join(" "),
    host: {
      hostname: hostname(), cpus: cpus()[0]?.model ?? "?", cores: cpus().length, mem_gib: Math.round(totalmem() / 2 ** 30),
      loadavg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version, platform: `${process.platform}-${process.arch}`,
    },
    env: Object.fromEntries(envNames.map((k) => [k, process.env[k] ?? null])),
    require_gpu: o.requireGpu,
    adapter: null, matmul_kernel_for_adapter: null, matmul: null, pretrain: null, errors: [], ok: false, wall_s: 0,
  };
  const finish = async (code: number) => {
    out.ok = code === 0 && out.errors.length === 0;
    out.wall_s = round((performance.now() - t0) / 1000, 2)!;
    await writeJson(o.json, out);
    if (o.json) log(`\nwrote ${o.json}`);
    return code;
  };

  // 1. the adapter (env is read after requestDevice: device.ts may have pointed Vulkan at SwiftShader)
  const report = await checkAdapter();
  out.adapter = report;
  out.env = Object.fromEntries(envNames.map((k) => [k, process.env[k] ?? null]));
  if (!report.available) {
    console.error(`device-check: no WebGPU adapter: ${report.reason}`);
    out.errors.push({ stage: "adapter", message: report.reason ?? "no adapter" });
    return finish(3);
  }
  out.matmul_kernel_for_adapter = chooseMatmulKernel(report);
  log(`adapter: ${adapterLine(report)}`);
  log(`  features: ${report.features.join(", ") || "(none)"}`);
  log(`  matmul kernel training will use: ${out.matmul_kernel_for_adapter}`);
  if (o.requireGpu && report.software) {
    const msg = `the adapter is a software one (${[report.vendor, report.architecture, report.description].filter(Boolean).join(" / ")}), not a GPU, and --require-gpu was given: ` +
      `Vulkan found no GPU driver (on an NVIDIA machine: is VK_DRIVER_FILES pointing at nvidia_icd.json, and is libvulkan1 installed?)`;
    console.error(`device-check: REFUSED: ${msg}`);
    out.errors.push({ stage: "adapter", message: msg });
    return finish(3);
  }
  await writeJson(o.json, out);

  // 2. matmul kernels
  if (!o.skipMatmul) {
    try {
      out.matmul = await matmulStage(o);
    } catch (e) {
      const partial = e as Error & { rows?: MatmulVariantRow[]; table?: string };
      if (partial.rows) out.matmul = { sizes: o.mmSizes, reps: o.mmReps, per: o.mmPer, rows: partial.rows, table: partial.table ?? "", wall_s: NaN };
      console.error(`device-check: matmul stage failed: ${partial.message}`);
      out.errors.push({ stage: "matmul", message: partial.message });
    }
    await writeJson(o.json, out);
  }

  // 3. the default pretraining preset. A SIGTERM (device-check.sh's time guard) or ^C
  // mid-run still writes the JSON, with the steps done so far extrapolated.
  if (!o.skipPretrain) {
    let state: PretrainState | null = null;
    const interrupted = (signal: string) => {
      void (async () => {
        console.error(`\ndevice-check: ${signal}: writing what was measured so far`);
        if (state) out.pretrain = await summarizeRun(state, "interrupted").catch(() => null);
        out.errors.push({ stage: "pretrain", message: `interrupted by ${signal} after ${out.pretrain?.steps_run ?? "?"} steps` });
        await finish(124);
        process.exit(124);
      })();
    };
    process.once("SIGTERM", () => interrupted("SIGTERM"));
    process.once("SIGINT", () => interrupted("SIGINT"));
    try {
      out.pretrain = await pretrainStage(o, (s) => (state = s));
    } catch (e) {
      console.error(`device-check: pretrain stage failed: ${(e as Error).stack ?? (e as Error).message}`);
      out.errors.push({ stage: "pretrain", message: (e as Error).message });
    }
  }
  return finish(out.errors.length ? 1 : 0);
}

process.exitCode = await run(process.argv.slice(2));
