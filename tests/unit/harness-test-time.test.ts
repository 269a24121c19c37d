// The Test-time compute lesson's job (src/harness/jobs/test-time.ts) in Node: one held-out
// problem per step, every strategy measured on it, running summaries for the page's charts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { checkJobDef, type MetricRecord } from "../../src/harness/jobs.js";
import { BUDGETS, TEST_TIME_PRESETS, kSweep, problemAt, testTimeJob, type TestTimeJobConfig } from "../../src/harness/jobs/test-time.js";
import { computePoints, summarize, type TestTimeSummary } from "../../src/eval/test-time.js";
import { JOBS } from "../../src/harness/registry.js";

const ROOT = join(import.meta.dirname, "..", "..");
const url = `data:application/octet-stream;base64,${readFileSync(join(ROOT, "data/checkpoints/sft-default/model.safetensors")).toString("base64")}`;

test("the test-time job is registered; problems go through the levels in turn; k doubles up to the samples", () => {
  assert.equal(JOBS["test-time"], testTimeJob);
  assert.deepEqual(checkJobDef(testTimeJob), []);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => problemAt(i).level), [1, 2, 3, 4, 5, 1]);
  assert.notEqual(problemAt(0).question, problemAt(5).question);
  assert.deepEqual(kSweep(16), [1, 2, 4, 8, 16]);
  assert.deepEqual(kSweep(12), [1, 2, 4, 8]);
});

test("the ci preset: a record and a summary per problem, every strategy on the compute axis", { timeout: 120_000 }, async () => {
  const backend = new CpuBackend({ wasm: createWasmEngineSync() });
  const records: MetricRecord[] = [];
  const summaries: TestTimeSummary[] = [];
  const config: TestTimeJobConfig = { ...TEST_TIME_PRESETS["ci"]!, sftCheckpointUrl: url };
  try {
    for await (const r of testTimeJob.run(config, backend, { emit: (name, p) => void (name === "summary" && summaries.push(p as TestTimeSummary)) })) records.push(r);
  } finally {
    backend.destroy();
  }
  assert.deepEqual(records.map((r) => r.step), [1, 2]);
  assert.deepEqual(summaries.map((s) => s.problems), [1, 2]);
  const s = summaries[1]!;
  assert.deepEqual(s.budgets.map((b) => b.budget), BUDGETS);
  assert.deepEqual(Object.keys(s.maj_at_k), ["1", "2", "4"]);
  assert.ok(s.budgets[0]!.tokens < s.think_tokens, "no thought is cheaper than thought");
  const points = computePoints(s);
  assert.equal(points.length, 1 + BUDGETS.length + 1 + 3);
  assert.ok(points.every((p) => p.accuracy >= 0 && p.accuracy <= 1 && p.tokens > 0));
  assert.equal(summarize([], [1]).problems, 0);
});

test("the k sweep reuses one set of samples: pass@k for every k is the estimator on the same n samples", () => {
  const m = (correct: boolean[], answers: (string | null)[]) => ({
    level: 1, expected: "5", think: { correct: true, tokens: 10 }, noThink: { correct: false, tokens: 4 }, budgets: [],
    samples: correct.map((c, i) => ({ correct: c, answer: answers[i]!, tokens: 10 })),
  });
  const ms = [m([true, false, false, true, false, false, false, false], ["5", "6", "6", "5", "7", null, "6", "8"]),
    m([false, false, false, false, false, false, false, true], ["1", "2", "3", "4", "1", "2", "3", "5"])];
  const s = summarize(ms, [1, 2, 4, 8]);
  // by hand: n = 8, c = 2 and c = 1
  const pass = (c: number, k: number) => { let all = 1; for (let i = 8 - c + 1; i <= 8; i++) all *= 1 - k / i; return 1 - all; };
  for (const k of [1, 2, 4, 8]) assert.ok(Math.abs(s.pass_at_k[k]! - (pass(2, k) + pass(1, k)) / 2) < 1e-12, `pass@${k}`);
  assert.equal(s.pass_at_k[8], 1, "every problem has a right answer among its 8");
  assert.equal(s.maj_at_k[8], 0, "majority of 8: 6 and 1 win, both wrong");
  assert.equal(s.maj_at_k[1], 0.5, "maj@1 is the first sample");
});
