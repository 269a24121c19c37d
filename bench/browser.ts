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
//   3. the same on the CPU: R1 Lab's CPU engine vs tfjs-wasm and tfjs-cpu.

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { defaultDevice, init as jaxInit } from "@jax-js/jax";
import { CpuBackend } from "../src/cpu/index.js";
import { WebGPUBackend } from "../src/gpu/backend.js";
import { createBackendWithReport } from "../src/tensor/create.js";
import {
  type AdapterInfo, type BrowserBenchOptions, type BrowserBenchResult, type Check, type MatmulCase, type MatmulRow,
  type Reps, checkAgainstReference, compareTrajectories, matmulFlops, maxAbsDiff, median, productsPerSample,
  referenceSamples, uniformValues, wantAnotherRound,
} from "./lib/common.js";
import { type MatmulRunner, jaxRunner, r1KernelName, r1Runner, tfjsRunner } from "./lib/matmul-runners.js";
import { r1Trainer } from "./lib/r1-train.js";
import { tfjsTrainer } from "./lib/tfjs-gpt.js";

export type Log = (line: string) => void;

async function tfBackend(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

// ---- 1. matmul ---------------------------------------------------------------------

async function benchMatmul(
  r1: WebGPUBackend, cases: MatmulCase[], timing: Reps, peers: { tfjs: boolean; jax: boolean },
  checks: Check[], log: Log,
): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const c of cases) {
    const a = uniformValues(c.m * c.k, 1 + c.m + c.k);
    const b = uniformValues(c.k * c.n, 2 + c.n);
    const ref = referenceSamples(c, a, b);
    const runners: MatmulRunner[] = [r1Runner(r1, c, a, b)];
    if (peers.tfjs) runners.push(tfjsRunner(c, a, b));
    if (peers.jax) runners.push(jaxRunner(c, a, b));
    const gflops: Record<MatmulRunner["name"], number | null> = { r1lab: null, tfjs: null, jax: null };
    const timed: MatmulRunner[] = [];
    let r1Out: Float32Array | null = null;
    for (const r of runners) {
      let out: Float32Array;
      try {
        out = await r.result();
      } catch (e) {
        checks.push({ name: `matmul ${c.label} ${r.name}`, ok: false, detail: `failed to run: ${msg(e)}` });
        continue;
      }
      const vsRef = checkAgainstReference(out, ref);
      let detail = `max error vs float64 ${vsRef.worst.toExponential(1)} (relative to Σ|a·b|)`;
      let ok = vsRef.ok;
      if (r.name === "r1lab") r1Out = out;
      else if (r1Out) {
        const d = maxAbsDiff(out, r1Out);
        detail += `, max |Δ| vs R1 Lab ${d.toExponential(1)}`;
        ok &&= d <= 1e-5 * c.k;
      }
      checks.push({ name: `matmul ${c.label} ${r.name}`, ok, detail });
      if (ok) timed.push(r);
    }
    const per = productsPerSample(c);
    const samples = new Map<MatmulRunner, number[]>(timed.map((r) => [r, []]));
    for (let w = 0; w < timing.warmup; w++) for (const r of timed) await r.sample(per);
    const start = performance.now();
    for (let round = 0; timed.length > 0 && wantAnotherRound(timing, round, performance.now() - start); round++) {
      for (const r of timed) {
        const t0 = performance.now();
        await r.sample(per);
        samples.get(r)!.push(performance.now() - t0);
      }
    }
    for (const r of timed) gflops[r.name] = (per * matmulFlops(c)) / (median(samples.get(r)!) * 1e6);
    for (const r of runners) r.dispose();
    const row: MatmulRow = {
      n: c.n, m: c.m, k: c.k, label: c.label, trans: c.transA ? "a" : c.transB ? "b" : "",
      r1lab_gflops: gflops.r1lab, tfjs_gflops: gflops.tfjs, jax_gflops: gflops.jax,
      r1lab_kernel: r1KernelName(r1, c), per_sample: per, samples: timed.length ? samples.get(timed[0]!)!.length : 0,
    };
    rows.push(row);
    const f = (x: number | null) => (x === null ? "—" : x.toFixed(2));
    log(`matmul ${c.label.padEnd(22)} GFLOP/s  R1 Lab ${f(row.r1lab_gflops)}  tfjs ${f(row.tfjs_gflops)}  jax ${f(row.jax_gflops)}`);
  }
  return rows;
}

// ---- 2 and 3. training steps -----------------------------------------------------------

interface Stepper {
  name: string;
  step(): Promise<{ loss: number; gradNorm: number }>;
}

/** the check steps of every stepper (compared with the first), then warm-up, then interleaved timing */
async function timeSteps(
  steppers: Stepper[], checkSteps: number, timing: Reps, checks: Check[], label: string, log: Log,
  around?: { before(s: Stepper): void; after(s: Stepper): void },
): Promise<Map<string, number[]>> {
  const traj = new Map<string, { loss: number; gradNorm: number }[]>();
  const alive: Stepper[] = [];
  for (const s of steppers) {
    const t: { loss: number; gradNorm: number }[] = [];
    try {
      for (let i = 0; i < checkSteps; i++) t.push(await s.step());
    } catch (e) {
      checks.push({ name: `${label} ${s.name}`, ok: false, detail: `failed to run: ${msg(e)}` });
      continue;
    }
    traj.set(s.name, t);
    const first = traj.get(steppers[0]!.name);
    if (s === steppers[0] || !first) {
      const ok = t.every((x) => Number.isFinite(x.loss) && Number.isFinite(x.gradNorm));
      checks.push({ name: `${label} ${s.name}`, ok, detail: `losses ${t.map((x) => x.loss.toFixed(5)).join(", ")}` });
      if (ok) alive.push(s);
    } else {
      const cmp = compareTrajectories(first, t);
      checks.push({
        name: `${label} ${s.name} vs ${steppers[0]!.name}`,
        ok: cmp.ok,
        detail: `first ${checkSteps} steps: max |Δloss| ${cmp.lossDiff.toExponential(1)}, max relative Δ‖g‖ ${cmp.gradNormRel.toExponential(1)}`,
      });
      if (cmp.ok) alive.push(s);
    }
    log(`${label} ${s.name}: losses ${t.map((x) => x.loss.toFixed(4)).join(", ")}`);
  }
  for (let w = 0; w < timing.warmup; w++) for (const s of alive) await s.step();
  const times = new Map<string, number[]>(alive.map((s) => [s.name, []]));
  const start = performance.now();
  for (let round = 0; alive.length > 0 && wantAnotherRound(timing, round, performance.now() - start); round++) {
    for (const s of alive) {
      around?.before(s);
      const t0 = performance.now();
      await s.step();
      times.get(s.name)!.push(performance.now() - t0);
      around?.after(s);
    }
  }
  for (const [name, ts] of times) log(`${label} ${name}: median ${median(ts).toFixed(1)} ms over ${ts.length} steps`);
  return times;
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

  // the CPU comparison
  let cpu: BrowserBenchResult["cpu"] = null;
  if (opts.cpuTrain) {
    const cspec = opts.cpuTrain.spec;
    const cpuBackend = new CpuBackend();
    const r1c = r1Trainer(cpuBackend, cspec);
    const w = await r1c.weights();
    const cpuSteppers: Stepper[] = [{ name: "R1 Lab (cpu)", step: () => r1c.step() }];
    let wasmInfo: { simd: boolean; threads: boolean } | null = null;
    const tfTrainers: { name: string; backend: string; trainer: ReturnType<typeof tfjsTrainer> | null }[] = [];
    if (opts.peers.tfjsWasm) tfTrainers.push({ name: "tfjs (wasm)", backend: "wasm", trainer: null });
    if (opts.peers.tfjsCpu) tfTrainers.push({ name: "tfjs (cpu)", backend: "cpu", trainer: null });
    if (opts.peers.tfjsWasm) setWasmPaths(opts.wasmPath);
    // One tfjs backend is active at a time, so each tfjs stepper switches to its backend first.
    for (const t of tfTrainers) {
      cpuSteppers.push({
        name: t.name,
        step: async () => {
          if (tf.getBackend() !== t.backend && !(await tfBackend(t.backend))) throw new Error(`tf.setBackend('${t.backend}') failed`);
          if (!t.trainer) {
            t.trainer = tfjsTrainer(cspec, w, r1c.noDecay);
            if (t.backend === "wasm") {
              wasmInfo = {
                simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")),
                threads: Boolean(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")),
              };
            }
          }
          return t.trainer.step();
        },
      });
    }
    const ct = await timeSteps(cpuSteppers, opts.cpuTrain.checkSteps, opts.cpuTrain.timing, checks, "cpu train step", log);
    for (const t of tfTrainers) {
      if (t.trainer) {
        if (tf.getBackend() !== t.backend) await tfBackend(t.backend);
        t.trainer.dispose();
      }
    }
    for (const t of tfTrainers) if (!ct.has(t.name)) skipped.push(`${t.name}: did not pass its check (see checks)`);
    r1c.dispose();
    cpuBackend.destroy();
    const med = (n: string) => (ct.has(n) ? median(ct.get(n)!) : null);
    const wi = wasmInfo as { simd: boolean; threads: boolean } | null;
    cpu = {
      r1lab_cpu_ms: med("R1 Lab (cpu)"),
      tfjs_wasm_ms: med("tfjs (wasm)"),
      tfjs_cpu_ms: med("tfjs (cpu)"),
      tfjs_wasm_simd: wi ? wi.simd : null,
      tfjs_wasm_threads: wi ? wi.threads : null,
    };
  }

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
