// The Cold-start SFT lesson's job (src/harness/jobs/sft.ts) in Node on the CPU engine:
// its ci preset (random weights) yields SftRun's records, the trace viewer
// gets a verdict and a probability per token, and the level table compares thinking
// with answering at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend } from "../../src/cpu/index.js";
import { checkJobDef, validateConfig, type MetricRecord } from "../../src/harness/jobs.js";
import { SFT_JOB_PRESETS, sftJob, type LevelsView, type SftJobConfig, type TracesView } from "../../src/harness/jobs/sft.js";
import { JOBS } from "../../src/harness/registry.js";

const ROOT = join(import.meta.dirname, "..", "..");
const shipped = readFileSync(join(ROOT, "data/checkpoints/pretrain-default/model.safetensors"));
const url = `data:application/octet-stream;base64,${shipped.toString("base64")}`;
const ci: SftJobConfig = { ...SFT_JOB_PRESETS["ci"]!, checkpointUrl: url };

test("the sft job is registered and its presets are valid", () => {
  assert.equal(JOBS["sft"], sftJob);
  assert.deepEqual(checkJobDef(sftJob), []);
  const bad = validateConfig(sftJob, { ...ci, granularity: "columns", maxLevel: 5 });
  assert.equal(bad.ok, false);
  assert.match(JSON.stringify(bad), /243 tokens, but the base model's context is 128/);
});

test("the ci preset: records with evaluations, traces with verdicts and probabilities, a level table", { timeout: 120_000 }, async () => {
  const backend = new CpuBackend();
  const records: MetricRecord[] = [];
  const views: { name: string; payload: unknown }[] = [];
  try {
    for await (const r of sftJob.run(ci, backend, { emit: (name, payload) => void views.push({ name, payload }) })) records.push(r);
  } finally {
    backend.destroy();
  }
  assert.deepEqual(records.map((r) => r.step), [1, 2, 3, 4]);
  assert.equal(typeof records[1]!.heldout_accuracy, "number");
  assert.equal(typeof records[1]!.format_rate, "number");
  assert.equal(typeof records[3]!.val_loss, "number");
  assert.ok(records.every((r) => Number.isFinite(r.loss)));
  const traces = views.filter((v) => v.name === "traces").map((v) => v.payload as TracesView);
  assert.deepEqual(traces.map((t) => t.step), [0, 2, 4]);
  for (const { traces: list } of traces) {
    assert.equal(list.length, 1, "one per trained level");
    const t = list[0]!;
    assert.equal(t.level, 1);
    assert.equal(t.tokens.length, t.probs.length);
    assert.ok(t.probs.every((p) => p > 0 && p <= 1));
    assert.equal(typeof t.correct, "boolean");
    assert.match(t.prompt, /^User: \d+[+-]\d+\. Assistant: $/);
  }
  const levels = views.find((v) => v.name === "levels")!.payload as LevelsView;
  assert.deepEqual(levels.rows.map((r) => r.level), [1, 2, 3, 4, 5]);
  assert.deepEqual(levels.rows.map((r) => r.trained), [true, false, false, false, false]);
  for (const r of levels.rows) assert.ok(r.think >= 0 && r.think <= 1 && r.noThink >= 0 && r.noThink <= 1);
});

test("from the SFT checkpoint: the step-0 traces are already well formed", { timeout: 120_000 }, async () => {
  const sft = readFileSync(join(ROOT, "data/checkpoints/sft-default/model.safetensors"));
  const config: SftJobConfig = {
    ...SFT_JOB_PRESETS["from the SFT checkpoint"]!, checkpointUrl: url, steps: 1, evalEvery: 1, evalProblems: 1,
    sftCheckpointUrl: `data:application/octet-stream;base64,${sft.toString("base64")}`,
  };
  const backend = new CpuBackend();
  const views: { name: string; payload: unknown }[] = [];
  try {
    for await (const _ of sftJob.run(config, backend, { emit: (name, payload) => void views.push({ name, payload }) })) void _;
  } finally {
    backend.destroy();
  }
  const first = views.find((v) => v.name === "traces")!.payload as TracesView;
  assert.equal(first.step, 0);
  assert.equal(first.traces.length, 5);
  assert.ok(first.traces.every((t) => t.formatOk), JSON.stringify(first.traces.map((t) => t.tokens.join(""))));
  assert.ok(first.traces[0]!.correct, "the level-1 problem is answered right");
});
