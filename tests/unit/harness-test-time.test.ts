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
