// The CPU half of the benchmark, in the page: R1 Lab's two CPU engines, the
// WebAssembly SIMD engine (what `--backend cpu` runs) and the plain TypeScript
// reference engine (`new CpuBackend()`), beside TensorFlow.js's wasm backend (SIMD on
// when the browser has it) and its JavaScript cpu backend. Every engine runs on the
// page's one thread (tfjs-wasm too, unless the page is cross-origin isolated:
// `--wasm-threads`).
//
//   1. matmul: each engine's product is checked against float64 reference entries and
//      against the WebAssembly engine's product, then timed interleaved.
//   2. training step, once per spec (the ci and the default GPT): every engine starts
//      from the same weights and batch; its first losses and gradient norms must agree
//      with the WebAssembly engine's; then interleaved timed steps.

import * as tf from "@tensorflow/tfjs-core";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { CpuBackend, createCpuBackend, createWasmEngine, wasmUnavailableReason } from "../../src/cpu/index.js";
import {
  type BrowserBenchOptions, type Check, type CpuBenchResult, type CpuMatmulRow, type CpuTrainRow, type TrainSpec,
  describeSpec, median,
} from "./common.js";
import { type MatmulRunner, r1CpuRunner, tfjsCpuRunner } from "./matmul-runners.js";
import { type Log, type Stepper, caseData, checkAndTimeProducts, msg, timeSteps } from "./measure.js";
import { r1Trainer } from "./r1-train.js";
import { tfjsTrainer } from "./tfjs-gpt.js";

/** the tfjs CPU backends, by the key stem of their JSON fields */
const TFJS_CPU = [
  { key: "tfjs_wasm", backend: "wasm", name: "tfjs (wasm)", peer: "tfjsWasm" },
  { key: "tfjs_cpu", backend: "cpu", name: "tfjs (cpu)", peer: "tfjsCpu" },
] as const;

const R1_WASM = "R1 Lab (wasm)";
const R1_REFERENCE = "R1 Lab (TS reference)";

/** make `name` the active tfjs backend (setBackend is cheap once a backend is initialised) */
async function activate(name: string): Promise<void> {
  if (tf.getBackend() === name) return;
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
}

/** a fresh WebAssembly-engine backend, or null (with the reason in `skipped`) where the page cannot run it */
async function wasmBackend(skipped: string[]): Promise<CpuBackend | null> {
  const { backend, fallbackReason } = await createCpuBackend("wasm");
  if (!fallbackReason) return backend;
  backend.destroy();
  if (!skipped.some((s) => s.startsWith("R1 Lab wasm"))) skipped.push(`R1 Lab wasm engine: ${fallbackReason}`);
  return null;
}

async function benchCpuMatmul(
  opts: NonNullable<BrowserBenchOptions["cpuMatmul"]>, peers: BrowserBenchOptions["peers"],
  checks: Check[], skipped: string[], log: Log,
): Promise<CpuMatmulRow[]> {
  const rows: CpuMatmulRow[] = [];
  const wasmBe = await wasmBackend(skipped);
  const refBe = new CpuBackend();
  for (const c of opts.cases) {
    const { a, b, ref } = caseData(c);
    const runners: MatmulRunner[] = [];
    if (wasmBe) runners.push(r1CpuRunner("wasm", wasmBe, c, a, b));
    runners.push(r1CpuRunner("reference", refBe, c, a, b));
    for (const t of TFJS_CPU) {
      if (!peers[t.peer]) continue;
      try {
        runners.push(await tfjsCpuRunner(t.key, () => activate(t.backend), c, a, b));
      } catch (e) {
        checks.push({ name: `cpu matmul ${c.label} ${t.key}`, ok: false, detail: `failed to set up: ${msg(e)}` });
      }
    }
    const { gflops, per, samples } = await checkAndTimeProducts(c, ref, runners, opts.timing, checks, "cpu matmul");
    const g = (k: string) => gflops.get(k) ?? null;
    const row: CpuMatmulRow = {
      label: c.label, m: c.m, k: c.k, n: c.n, trans: c.transA ? "a" : c.transB ? "b" : "",
      wasm_gflops: g("wasm"), reference_gflops: g("reference"), tfjs_wasm_gflops: g("tfjs_wasm"), tfjs_cpu_gflops: g("tfjs_cpu"),
      per_sample: per, samples,
    };
    rows.push(row);
    const f = (x: number | null) => (x === null ? "—" : x.toFixed(2));
    log(`cpu matmul ${c.label.padEnd(22)} GFLOP/s  wasm ${f(row.wasm_gflops)}  TS ${f(row.reference_gflops)}  tfjs-wasm ${f(row.tfjs_wasm_gflops)}  tfjs-cpu ${f(row.tfjs_cpu_gflops)}`);
  }
  wasmBe?.destroy();
  refBe.destroy();
  return rows;
}

async function benchCpuTrainStep(
  spec: TrainSpec, opts: NonNullable<BrowserBenchOptions["cpuTrain"]>, peers: BrowserBenchOptions["peers"],
  checks: Check[], skipped: string[], log: Log,
): Promise<CpuTrainRow> {
  const wasmBe = await wasmBackend(skipped);
  const refBe = new CpuBackend();
  const r1w = wasmBe ? r1Trainer(wasmBe, spec) : null;
  const r1r = r1Trainer(refBe, spec);
  const first = r1w ?? r1r;
  const weights = await first.weights();
  const steppers: Stepper[] = [];
  if (r1w) steppers.push({ name: R1_WASM, step: () => r1w.step() });
  steppers.push({ name: R1_REFERENCE, step: () => r1r.step() });
  const tfTrainers: { name: string; backend: string; trainer: ReturnType<typeof tfjsTrainer> | null }[] = [];
  for (const t of TFJS_CPU) if (peers[t.peer]) tfTrainers.push({ name: t.name, backend: t.backend, trainer: null });
  for (const t of tfTrainers) {
    steppers.push({
      name: t.name,
      step: async () => {
        await activate(t.backend);
        t.trainer ??= tfjsTrainer(spec, weights, first.noDecay);
        return t.trainer.step();
      },
    });
  }
  const label = `cpu train step ${spec.preset}`;
  const times = await timeSteps(steppers, opts.checkSteps, opts.timing, checks, label, log);
  for (const t of tfTrainers) {
    if (!t.trainer) continue;
    await activate(t.backend);
    t.trainer.dispose();
  }
  for (const s of steppers) if (!times.has(s.name)) skipped.push(`${label}: ${s.name} did not pass its check (see checks)`);
  r1w?.dispose();
  r1r.dispose();
  wasmBe?.destroy();
  refBe.destroy();
  const med = (n: string) => (times.has(n) ? median(times.get(n)!) : null);
  return {
    preset: spec.preset, model: describeSpec(spec, first.params), params: first.params, batch: spec.batch, seq_len: spec.seqLen,
    wasm_ms: med(R1_WASM), reference_ms: med(R1_REFERENCE), tfjs_wasm_ms: med("tfjs (wasm)"), tfjs_cpu_ms: med("tfjs (cpu)"),
    samples: times.get(steppers[0]!.name)?.length ?? 0,
  };
}

export async function runCpuBench(opts: BrowserBenchOptions, checks: Check[], skipped: string[], log: Log): Promise<CpuBenchResult> {
  let simd: boolean | null = null;
  let threads: boolean | null = null;
  if (opts.peers.tfjsWasm) {
    setWasmPaths(opts.wasmPath);
    try {
      await activate("wasm");
      simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
      threads = Boolean(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"));
      log(`tfjs-wasm: SIMD ${simd ? "on" : "off"}, threads ${threads ? "on" : "off"}`);
    } catch (e) {
      skipped.push(`tfjs-wasm: ${msg(e)}`);
    }
  }
  const why = wasmUnavailableReason();
  const wasmEngine = why ?? `WebAssembly SIMD, module ${(await createWasmEngine()).moduleHash}`;
  const matmul = opts.cpuMatmul ? await benchCpuMatmul(opts.cpuMatmul, opts.peers, checks, skipped, log) : [];
  const train: CpuTrainRow[] = [];
  if (opts.cpuTrain) for (const spec of opts.cpuTrain.specs) train.push(await benchCpuTrainStep(spec, opts.cpuTrain, opts.peers, checks, skipped, log));
  return {
    matmul, train,
    wasm_engine: wasmEngine,
    tfjs_wasm_simd: simd, tfjs_wasm_threads: threads,
  };
}
