// r1-lab bench: R1 Lab against TensorFlow.js and jax-js on the same WebGPU adapter, and
// R1 Lab's CPU engines against tfjs-wasm and tfjs-cpu, in headless Chromium (bench/run.ts
// does the work; bench/RESULTS.md reads a run).
// Exit status: 0 when every correctness check passed, 1 when one failed (the table
// and the JSON are still written), 2 for bad flags.
import { existsSync } from "node:fs";
import { PRESET_NAMES, type PresetName } from "../train/presets.js";
import { UsageError, choiceFlag, intFlag, parse } from "./args.js";

export const BENCH_USAGE = `usage: r1-lab bench [--quick] [--json FILE] [flags]

  --quick              fewer repetitions and the small "ci" GPT (a few minutes on a software adapter)
  --json FILE          also write the results as JSON
  --preset ci|default  the GPT of the training-step comparison (default: ci with --quick, else default)
  --sizes 128,256,...  square matmul sizes (default 128,256,512,1024)
  --squares-only       leave out the lesson shapes
  --peers LIST         which peers: tfjs (tfjs-webgpu), jax, wasm (tfjs-wasm), tfjs-cpu (default: all)
  --no-cpu             skip the CPU engines (R1 Lab's WebAssembly and TypeScript engines, tfjs-wasm, tfjs-cpu)
  --cpu-presets LIST   the GPTs of the CPU training-step rows (default: ci,default)
  --wasm-threads       serve the page cross-origin isolated so tfjs-wasm can use threads (R1 Lab's CPU engines use one)
  --reps N --warmup N  timed and untimed repetitions of every measurement
  --seed N             weights and token batch (default 1)
  --chromium PATH      browser to drive ("playwright": Playwright's own; default /usr/bin/chromium if present)
  --headed             show the browser window`;

const PEERS = ["tfjs", "jax", "wasm", "tfjs-cpu"] as const;

export async function bench(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, {
    quick: { type: "boolean" },
    json: { type: "string" },
    preset: { type: "string" },
    sizes: { type: "string" },
    "squares-only": { type: "boolean" },
    peers: { type: "string" },
    "no-cpu": { type: "boolean" },
    "cpu-presets": { type: "string" },
    reps: { type: "string" },
    warmup: { type: "string" },
    seed: { type: "string" },
    chromium: { type: "string" },
    headed: { type: "boolean" },
    "wasm-threads": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    print(BENCH_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.json === "") throw new UsageError("--json needs a file name");
  const preset = values.preset === undefined ? null : choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  let sizes: number[] | null = null;
  if (values.sizes !== undefined) {
    sizes = values.sizes.split(",").map((s) => intFlag("sizes", s.trim(), 0, 1));
    if (sizes.length === 0) throw new UsageError("--sizes needs at least one size");
  }
  let peerList: readonly string[] = PEERS;
  if (values.peers !== undefined) {
    peerList = values.peers.split(",").map((s) => s.trim()).filter(Boolean);
    for (const p of peerList) if (!(PEERS as readonly string[]).includes(p)) throw new UsageError(`--peers: unknown peer "${p}" (choose from ${PEERS.join(", ")})`);
  }
  let cpuPresets: PresetName[] | undefined;
  if (values["cpu-presets"] !== undefined) {
    cpuPresets = values["cpu-presets"].split(",").map((s) => s.trim()).filter(Boolean).map((s) => choiceFlag("cpu-presets", s, PRESET_NAMES, "ci"));
    if (cpuPresets.length === 0) throw new UsageError("--cpu-presets needs at least one preset");
  }
  const reps = values.reps === undefined ? undefined : intFlag("reps", values.reps, 1, 1);
  const warmup = values.warmup === undefined ? undefined : intFlag("warmup", values.warmup, 1, 0);
  const seed = intFlag("seed", values.seed, 1);
  let chromium: string | null | undefined;
  if (values.chromium !== undefined) {
    chromium = values.chromium === "playwright" ? null : values.chromium;
    if (chromium && !existsSync(chromium)) throw new UsageError(`--chromium: no file at ${chromium}`);
  }

  // Loaded here so that `r1-lab info` and friends never pay for Playwright and esbuild.
  const { DEFAULT_RUN_OPTIONS, runBench } = await import("../../bench/run.js");
  const quick = values.quick ?? false;
  const timingOverride = reps !== undefined || warmup !== undefined
    ? (() => {
      const base = quick ? { warmup: 1, reps: 3 } : { warmup: 2, reps: 7 };
      const t = { warmup: warmup ?? base.warmup, reps: reps ?? base.reps };
      return { matmul: t, train: t };
    })()
    : null;
  const outcome = await runBench({
    ...DEFAULT_RUN_OPTIONS,
    quick,
    json: values.json ?? null,
    preset,
    sizes,
    lessonShapes: !values["squares-only"],
    chromium: chromium === undefined ? DEFAULT_RUN_OPTIONS.chromium : chromium,
    headed: values.headed ?? false,
    wasmThreads: values["wasm-threads"] ?? false,
    peers: {
      tfjs: peerList.includes("tfjs"),
      jax: peerList.includes("jax"),
      tfjsWasm: peerList.includes("wasm"),
      tfjsCpu: peerList.includes("tfjs-cpu"),
    },
    cpu: !values["no-cpu"],
    cpuPresets: cpuPresets ?? DEFAULT_RUN_OPTIONS.cpuPresets,
    timing: timingOverride,
    seed,
    command: ["r1-lab", "bench", ...argv].join(" "),
  }, (line) => process.stderr.write(`  ${line}\n`));
  print(outcome.report);
  if (values.json) print(`\nwrote ${values.json}`);
  return outcome.ok ? 0 : 1;
}
