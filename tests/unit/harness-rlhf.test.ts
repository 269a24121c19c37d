// The RLHF lesson's job (src/harness/jobs/rlhf.ts) in Node on the CPU engine: its ci
// preset trains a reward model (the "rm" view gets its accuracy and calibration), then
// runs RL against it, measuring gold reward, proxy reward and KL from the start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { checkJobDef, type MetricRecord } from "../../src/harness/jobs.js";
import { RLHF_JOB_PRESETS, rlhfJob, type RlhfRmView } from "../../src/harness/jobs/rlhf.js";
import { JOBS } from "../../src/harness/registry.js";
import { RLHF_PRESETS } from "../../src/train/presets.js";

const ROOT = join(import.meta.dirname, "..", "..");
const sftCheckpointUrl = `data:application/octet-stream;base64,${readFileSync(join(ROOT, "data/checkpoints/sft-default/model.safetensors")).toString("base64")}`;

test("the rlhf job is registered, its presets are valid, and its default is the CLI's default preset", () => {
  assert.equal(JOBS["rlhf"], rlhfJob);
  assert.deepEqual(checkJobDef(rlhfJob), []);
  const d = RLHF_JOB_PRESETS["default"]!;
  const cli = RLHF_PRESETS.default;
  assert.deepEqual([d.steps, d.prompts, d.groupSize, d.lr, d.beta, d.rmSteps, d.pairPrompts], [cli.rl.steps, cli.rl.batchSize, cli.rl.groupSize, cli.rl.lr, cli.rl.beta, cli.rm.steps, cli.pairs.trainPromptsPerLevel]);
});

test("the ci preset: a reward model, then RL against it with gold, proxy and KL measured from the start", { timeout: 120_000 }, async () => {
  const backend = new CpuBackend({ wasm: createWasmEngineSync() });
  const records: MetricRecord[] = [];
  const views: RlhfRmView[] = [];
  const starts: Record<string, number>[] = [];
  try {
    for await (const r of rlhfJob.run({ ...RLHF_JOB_PRESETS["ci"]!, sftCheckpointUrl }, backend, { emit: (name, v) => void (name === "rm" ? views.push(v as RlhfRmView) : name === "start" && starts.push(v as Record<string, number>)) })) records.push(r);
  } finally {
    backend.destroy();
  }
  assert.deepEqual(records.map((r) => r.step), [1, 2, 3, 4]);
  const measured = records.filter((r) => typeof r.heldout_kl === "number");
  assert.deepEqual(measured.map((r) => r.step), [2, 4]);
  assert.equal(starts.length, 1, "the starting policy measured once, before step 1");
  assert.ok(Math.abs(starts[0]!.heldout_kl!) < 1e-3, "KL 0 at the start");
  for (const r of measured) for (const k of ["heldout_gold_reward", "heldout_proxy_reward"]) assert.equal(typeof r[k], "number", k);
  assert.equal(typeof records[1]!.gold_reward, "number");
  assert.equal(views.length, 1);
  assert.ok(views[0]!.pairs > 0);
  assert.equal(typeof views[0]!.evaluation.accuracy, "number");
});
