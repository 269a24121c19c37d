// The benchmark's in-page half: everything that needs the browser's WebGPU adapter
// (and, for the CPU comparison, the page's WebAssembly). bench/run.ts bundles this
// file with esbuild and calls runBrowserBench() in headless Chromium; a lesson page
// can import it the same way and draw the comparison from the result.
//
// Order of work, each part checked before it is timed:
//   1. matmul: for every case, each library's C is compared with float64 reference
//      entries and with R1 Lab's C; a library that fails is not timed for that case.
//      Then warm-up, then `reps` samples, interleaving the libraries sample by sample.
//   2. training step on WebGPU: R1 Lab and TensorFlow.js start from the same weights
//      and the same batch; their first `checkSteps` losses and gradient norms must
//      agree (that also warms both up). Then warm-up, then interleaved timed steps.
//      R1 Lab's dispatches/submits/readbacks and pool bytes are read around a step.
//   3. the CPU engines (bench/lib/cpu-bench.ts): R1 Lab's WebAssembly and TypeScript
//      engines vs tfjs-wasm and tfjs-cpu, for matmul and for the training step of
//      each CPU spec (the ci and the default GPT), checked the same ways.

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-webgpu";
import { defaultDevice, init as jaxInit } from "@jax-js/jax";
import { WebGPUBackend } from "../src/gpu/backend.js";
import { createBackendWithReport } from "../src/tensor/create.js";
import {
  type AdapterInfo, type BrowserBenchOptions, type BrowserBenchResult, type Check, type MatmulCase, type MatmulRow,
  type Reps, median,
} from "./lib/common.js";
import { runCpuBench } from "./lib/cpu-bench.js";
import { type MatmulRunner, jaxRunner, r1KernelName, r1Runner, tfjsRunner } from "./lib/matmul-runners.js";
import { r1Trainer } from "./lib/r1-train.js";
import { type Log, type Stepper, caseData, checkAndTimeProducts, msg, timeSteps } from "./lib/measure.js";
import { tfjsTrainer } from "./lib/tfjs-gpt.js";

export type { Log };

async function tfBackend(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

// ---- 1. matmul ---------------------------------------------------------------------

async function benchMatmul(
  r1: WebGPUBackend, cases: MatmulCase[], timing: Reps, peers: { tfjs: boolean; jax: boolean },
  checks: Check[], log: Log,
): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const c of cases) {
    const { a, b, ref } = caseData(c);
    const runners: MatmulRunner[] = [r1Runner(r1, c, a, b)];
    if (peers.tfjs) runners.push(tfjsRunner(c, a, b));
    if (peers.jax) runners.push(jaxRunner(c, a, b));
    const { gflops, per, samples } = await checkAndTimeProducts(c, ref, runners, timing, checks, "matmul");
    const row: MatmulRow = {
      n: c.n, m: c.m, k: c.k, label: c.label, trans: c.transA ? "a" : c.transB ? "b" : "",
      r1lab_gflops: gflops.get("r1lab") ?? null, tfjs_gflops: gflops.get("tfjs") ?? null, jax_gflops: gflops.get("jax") ?? null,
      r1lab_kernel: r1KernelName(r1, c), per_sample: per, samples,
    };
    rows.push(row);
    const f = (x: number | null) => (x === null ? "—" : x.toFixed(2));
    log(`matmul ${c.label.padEnd(22)} GFLOP/s  R1 Lab ${f(row.r1lab_gflops)}  tfjs ${f(row.tfjs_gflops)}  jax ${f(row.jax_gflops)}`);
  }
  return rows;
}

// ---- the whole page run -------------------------------------------------------------------

export async function runBrowserBench(opts: BrowserBenchOptions, log: Log = () => {}): Promise<BrowserBenchResult> {
  const checks: Check[] = [];
  const skipped: string[] = [];
  const created = await createBackendWithReport("webgpu");
  const r1 = created.backend;
  if (!(r1 instanceof WebGPUBackend)) throw new Error("R1 Lab did not get a WebGPU backend");
  const rep = r1.handle.report;
  const adapter: AdapterInfo = {
    vendor: rep.vendor, architecture: rep.architecture, device: rep.device, description: rep.description,
    software: rep.software, user_agent: typeof navigator !== "undefined" ? navigator.userAgent : "", limits: rep.limits,
  };
  log(`adapter: ${[rep.vendor, rep.architecture, rep.description].filter(Boolean).join(" / ")}${rep.software ? " (software)" : ""}`);

  // peers on the same adapter
  const tfjsOk = opts.peers.tfjs && (await tfBackend("webgpu"));
  if (opts.peers.tfjs && !tfjsOk) skipped.push("tfjs-webgpu: tf.setBackend('webgpu') failed");
  if (tfjsOk) await tf.ready();
  let jaxOk = false;
  if (opts.peers.jax) {
    try {
      jaxOk = (await jaxInit("webgpu")).includes("webgpu");
      if (jaxOk) defaultDevice("webgpu");
      else skipped.push("jax-js: init('webgpu') offered no WebGPU device");
    } catch (e) {
      skipped.push(`jax-js: ${msg(e)}`);
    }
  }

  const matmul = await benchMatmul(r1, opts.matmul.cases, opts.matmul.timing, { tfjs: tfjsOk, jax: jaxOk }, checks, log);
  r1.destroy();

  // training step on WebGPU, on a fresh device so the pool holds only what a step needs
  const fresh = (await createBackendWithReport("webgpu")).backend;
  if (!(fresh instanceof WebGPUBackend)) throw new Error("R1 Lab did not get a WebGPU backend");
  const r1g: WebGPUBackend = fresh;
  const spec = opts.train.spec;
  const r1t = r1Trainer(r1g, spec);
  const weights = await r1t.weights();
  const steppers: Stepper[] = [{ name: "R1 Lab (webgpu)", step: () => r1t.step() }];
  let tft: ReturnType<typeof tfjsTrainer> | null = null;
  if (tfjsOk) {
    try {
      tft = tfjsTrainer(spec, weights, r1t.noDecay);
      const t = tft;
      steppers.push({ name: "tfjs (webgpu)", step: () => t.step() });
    } catch (e) {
      skipped.push(`tfjs-webgpu training step: ${msg(e)}`);
    }
  }
  let stats = r1g.stats();
  const times = await timeSteps(steppers, opts.train.checkSteps, opts.train.timing, checks, "train step", log, {
    before: (s) => s === steppers[0] && r1g.resetStats(),
    after: (s) => {
      if (s === steppers[0]) stats = r1g.stats();
    },
  });
  let tfjsKernels: number | null = null;
  if (tft && times.has("tfjs (webgpu)")) {
    try {
      const t = tft;
      const info = await tf.profile(() => t.stepTensors());
      tfjsKernels = info.kernels.length;
      for (const r of info.result instanceof tf.Tensor ? [info.result] : []) r.dispose();
    } catch (e) {
      log(`tf.profile failed: ${msg(e)}`);
    }
  }
  const train = {
    r1lab_ms: times.has("R1 Lab (webgpu)") ? median(times.get("R1 Lab (webgpu)")!) : null,
    tfjs_ms: times.has("tfjs (webgpu)") ? median(times.get("tfjs (webgpu)")!) : null,
    r1lab_samples: times.get("R1 Lab (webgpu)") ?? [],
    tfjs_samples: times.get("tfjs (webgpu)") ?? [],
    params: r1t.params,
  };
  tft?.dispose();
  r1t.dispose();
  r1g.destroy();

  // the CPU engines, one thread each
  const cpu = opts.cpuMatmul || opts.cpuTrain ? await runCpuBench(opts, checks, skipped, log) : null;

  return {
    adapter,
    matmul,
    train,
    cpu,
    per_step: {
      dispatches: stats.dispatches, submits: stats.submits, readbacks: stats.readbacks, uploads: stats.uploads,
      pooled_bytes: stats.pooledBytes, live_bytes: stats.liveBytes, flops: stats.flops, tfjs_kernels: tfjsKernels,
    },
    checks,
    skipped,
  };
}
