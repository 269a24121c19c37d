// The benchmark (bench/, `r1-lab bench`): its correctness checks catch wrong answers,
// and a tiny end-to-end run in headless Chromium writes JSON of the issue's shape
// with every library checked against the others.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkAgainstReference, compareTrajectories, median, referenceSamples, squareCase, tokenBatch, trainSpec,
  uniformValues, wantAnotherRound, type BenchJson, type CpuBenchResult, type CpuMatmulRow, type CpuTrainRow, type MatmulCase,
} from "../../bench/lib/common.js";
import { formatReport, judgeTargets, validateBenchJson } from "../../bench/lib/report.js";
import { DEFAULT_RUN_OPTIONS, runBench } from "../../bench/run.js";
import { bench } from "../../src/cli/bench.js";
import { UsageError } from "../../src/cli/args.js";

function product(c: MatmulCase, a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(c.m * c.n);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let s = 0;
      for (let p = 0; p < c.k; p++) s += (c.transA ? a[p * c.m + i]! : a[i * c.k + p]!) * (c.transB ? b[j * c.k + p]! : b[p * c.n + j]!);
      out[i * c.n + j] = s;
    }
  }
  return out;
}

test("the matmul check passes a right product and fails a wrong one", () => {
  for (const c of [squareCase(19), { label: "t", m: 7, k: 13, n: 5, transA: true, transB: false, square: false }, { label: "t", m: 6, k: 9, n: 11, transA: false, transB: true, square: false }]) {
    const a = uniformValues(c.m * c.k, 3);
    const b = uniformValues(c.k * c.n, 4);
    const ref = referenceSamples(c, a, b);
    const good = product(c, a, b);
    assert.ok(checkAgainstReference(good, ref).ok, `right product of ${c.m}×${c.k}×${c.n}`);
    const bad = Float32Array.from(good);
    bad[bad.length - 1]! += 0.01; // the last entry (an edge tile) is always sampled
    assert.ok(!checkAgainstReference(bad, ref).ok, "an off-by-0.01 entry fails");
    const nan = Float32Array.from(good);
    nan[0] = NaN;
    const r = checkAgainstReference(nan, { idx: [0], want: [good[0]!], scale: [1] });
    assert.ok(!r.ok, "NaN fails");
  }
});

test("the training-step check compares losses and gradient norms", () => {
  const a = [{ loss: 4.62, gradNorm: 0.9 }, { loss: 4.53, gradNorm: 0.8 }];
  assert.ok(compareTrajectories(a, [{ loss: 4.6201, gradNorm: 0.9001 }, { loss: 4.5301, gradNorm: 0.8002 }]).ok);
  assert.ok(!compareTrajectories(a, [{ loss: 4.62, gradNorm: 0.9 }, { loss: 4.61, gradNorm: 0.8 }]).ok, "second loss differs");
  assert.ok(!compareTrajectories(a, [{ loss: 4.62, gradNorm: 0.9 }, { loss: 4.53, gradNorm: 1.6 }]).ok, "gradient norm differs");
  assert.ok(!compareTrajectories(a, [{ loss: 4.62, gradNorm: 0.9 }, { loss: NaN, gradNorm: 0.8 }]).ok, "NaN loss");
  assert.ok(!compareTrajectories(a, a.slice(0, 1)).ok, "missing steps");
});

test("helpers: median, sampling rounds, token batch", () => {
  assert.equal(median([3, 1, 2]), 2);
  const t = { warmup: 0, reps: 3, maxReps: 5, budgetMs: 1000 };
  assert.ok(wantAnotherRound(t, 2, 1e9), "at least reps rounds, whatever the time");
  assert.ok(wantAnotherRound(t, 3, 500), "more while under budget");
  assert.ok(!wantAnotherRound(t, 3, 1500), "not over budget");
  assert.ok(!wantAnotherRound(t, 5, 0), "at most maxReps");
  assert.ok(!wantAnotherRound({ warmup: 0, reps: 2 }, 2, 0), "no budget: exactly reps");
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const s = trainSpec("ci");
  const { ids, targets } = tokenBatch(s);
  assert.equal(ids.length, s.batch * s.seqLen);
  assert.equal(ids[1], targets[0], "targets are the ids shifted by one");
  assert.ok(ids.every((t) => t >= 0 && t < s.model.vocabSize));
});

test("issue 9's CPU targets are judged per size and on the default GPT, and can be missed", () => {
  const mm = (n: number, wasm: number, ts: number, tfw: number): CpuMatmulRow => ({
    label: `${n}²`, m: n, k: n, n, trans: "", wasm_gflops: wasm, reference_gflops: ts, tfjs_wasm_gflops: tfw, tfjs_cpu_gflops: 1, per_sample: 1, samples: 3,
  });
  const step = (preset: string, wasm: number, ts: number, tfw: number): CpuTrainRow => ({
    preset, model: preset, params: 1, batch: 1, seq_len: 1, wasm_ms: wasm, reference_ms: ts, tfjs_wasm_ms: tfw, tfjs_cpu_ms: 1000, samples: 3,
  });
  const cpu = (matmul: CpuMatmulRow[], train: CpuTrainRow[]): CpuBenchResult => ({ matmul, train, wasm_engine: "WebAssembly SIMD", tfjs_wasm_simd: true, tfjs_wasm_threads: false });
  const json = (c: CpuBenchResult | null) => ({
    matmul: [], train_step: { r1lab_ms: null, tfjs_ms: null, r1lab_cpu_ms: null, tfjs_wasm_ms: null }, cpu: c,
  }) as unknown as BenchJson;
  const issue9 = (c: CpuBenchResult | null) => judgeTargets(json(c)).filter((t) => t.issue === 9).map((t) => t.met);
  // 128² is not judged (the targets start at 256²); the ci GPT is not judged (default only)
  const good = cpu([mm(128, 1, 1, 9), mm(256, 16, 2, 15), mm(1024, 8, 1, 8)], [step("ci", 1, 100, 100), step("default", 100, 300, 200)]);
  assert.deepEqual(issue9(good), [true, true, true, true, null]);
  assert.deepEqual(issue9(cpu([mm(256, 15.8, 2, 15), mm(512, 8, 1, 8.1)], [step("default", 100, 299, 250)])), [false, false, false, true, null]);
  assert.deepEqual(issue9(cpu([], [step("default", 100, 400, 199)])), [null, null, true, false, null]);
  assert.deepEqual(issue9(null), [null, null, null, null, null]);
  assert.deepEqual(issue9(cpu([mm(256, null as unknown as number, 1, 1)], [step("default", null as unknown as number, 1, 1)])), [null, null, null, null, null], "an engine that failed its check is not judged");
});

test("bad flags exit with a usage error", async () => {
  const print = () => {};
  await assert.rejects(bench(["--sizes", "12,x"], print), UsageError);
  await assert.rejects(bench(["--peers", "pytorch"], print), UsageError);
  await assert.rejects(bench(["--preset", "huge"], print), UsageError);
  await assert.rejects(bench(["--cpu-presets", "ci,huge"], print), UsageError);
  await assert.rejects(bench(["--frobnicate"], print), UsageError);
  assert.equal(await bench(["--help"], print), 0);
});

const haveChromium = existsSync("/usr/bin/chromium");

test("a tiny run in Chromium: every library and CPU engine agrees, and the JSON has the issues' shape", { skip: !haveChromium && "no /usr/bin/chromium", timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1-bench-"));
  const file = join(dir, "bench.json");
  const t0 = performance.now();
  const out = await runBench({
    ...DEFAULT_RUN_OPTIONS,
    quick: true,
    json: file,
    preset: "ci",
    sizes: [37, 64], // 37: not a multiple of any tile
    lessonShapes: false,
    timing: { matmul: { warmup: 0, reps: 1 }, train: { warmup: 0, reps: 1 }, checkSteps: 2 },
    trainOverride: { batch: 2, seqLen: 8, model: { dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, dFF: 24, maxSeqLen: 8 } },
    command: "test",
  });
  const wall = (performance.now() - t0) / 1000;
  const failed = out.json.checks.filter((c) => !c.ok);
  assert.deepEqual(failed, [], "every correctness check passes");
  assert.ok(out.ok);
  assert.deepEqual(out.json.skipped, [], "every peer ran");
  // matmul: one check per library per shape; training: R1 Lab + tfjs-webgpu;
  // CPU: R1 Lab wasm + R1 Lab TS + tfjs-wasm + tfjs-cpu, per shape and for the step
  assert.equal(out.json.checks.filter((c) => c.name.startsWith("matmul")).length, 2 * 3);
  assert.equal(out.json.checks.filter((c) => c.name.startsWith("train step")).length, 2);
  assert.equal(out.json.checks.filter((c) => c.name.startsWith("cpu matmul")).length, 2 * 4);
  assert.equal(out.json.checks.filter((c) => c.name.startsWith("cpu train step")).length, 4);

  const j: unknown = JSON.parse(readFileSync(file, "utf8"));
  assert.deepEqual(validateBenchJson(j), []);
  assert.deepEqual(validateBenchJson({ ...out.json, per_step: { dispatches: 1 } }), ["per_step.submits: missing", "per_step.readbacks: missing"]);
  const js = out.json;
  assert.deepEqual(js.matmul.map((r) => r.n), [37, 64]);
  for (const r of js.matmul) {
    for (const v of [r.r1lab_gflops, r.tfjs_gflops, r.jax_gflops]) assert.ok(v !== null && v > 0, `${r.label}: every library timed`);
  }
  for (const v of [js.train_step.r1lab_ms, js.train_step.tfjs_ms, js.train_step.r1lab_cpu_ms, js.train_step.tfjs_wasm_ms]) {
    assert.ok(v !== null && v > 0, "every training step timed");
  }
  // the CPU engines, side by side
  assert.ok(js.cpu, "the CPU section is there");
  assert.match(js.cpu.wasm_engine, /^WebAssembly SIMD, module [0-9a-f]{16}$/);
  assert.equal(js.cpu.tfjs_wasm_simd, true, "tfjs-wasm ran with SIMD");
  assert.deepEqual(js.cpu.matmul.map((r) => [r.m, r.k, r.n]), [[37, 37, 37], [64, 64, 64]]);
  for (const r of js.cpu.matmul) {
    for (const v of [r.wasm_gflops, r.reference_gflops, r.tfjs_wasm_gflops, r.tfjs_cpu_gflops]) assert.ok(v !== null && v > 0, `cpu ${r.label}: every engine timed`);
    assert.ok(r.samples >= 1 && r.per_sample >= 1);
  }
  assert.equal(js.cpu.train.length, 1, "the test's one (overridden) GPT");
  const row = js.cpu.train[0]!;
  for (const v of [row.wasm_ms, row.reference_ms, row.tfjs_wasm_ms, row.tfjs_cpu_ms]) assert.ok(v !== null && v > 0, "every CPU step timed");
  assert.equal(row.params, js.train_step.params);
  assert.deepEqual([row.batch, row.seq_len], [2, 8]);
  assert.equal(js.train_step.r1lab_cpu_ms, row.wasm_ms, "train_step's CPU field is the WebAssembly engine's row");
  assert.equal(js.train_step.r1lab_cpu_reference_ms, row.reference_ms);
  assert.deepEqual(validateBenchJson({ ...js, cpu: { ...js.cpu, train: [{ ...row, wasm_ms: "fast" }] } }), ["cpu.train[0].wasm_ms: not a number or null"]);
  const { cpu: _dropped, ...noCpu } = js;
  assert.deepEqual(validateBenchJson(noCpu), ["cpu: missing (null when not run)"]);
  assert.equal(js.per_step.submits, 1, "one submit per R1 Lab step");
  assert.equal(js.per_step.readbacks, 1, "one readback per R1 Lab step");
  assert.ok(js.per_step.dispatches > 10 && js.per_step.pooled_bytes > 0);
  assert.equal(js.adapter.runtime, "browser");
  assert.deepEqual(judgeTargets(js).map((t) => t.issue), [5, 5, 5, 9, 9, 9, 9, 9]);
  const report = formatReport(js);
  assert.match(report, /R1÷tfjs/);
  assert.match(report, /wasm÷TS/);
  assert.match(report, /targets \(issue 9\)/);
  assert.ok(wall < 90, `tiny run took ${wall.toFixed(1)} s`);
});
