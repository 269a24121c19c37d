// The GRPO lesson's job (src/harness/jobs/grpo.ts) in Node on the CPU engine: its ci
// preset yields the loop's records under TRL's names, and the group viewer gets one
// prompt's samples with rewards and advantages every step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { checkJobDef, validateConfig, type MetricRecord } from "../../src/harness/jobs.js";
import { GRPO_JOB_PRESETS, grpoJob, type GroupView, type GrpoJobConfig } from "../../src/harness/jobs/grpo.js";
import { GRPO_PRESETS } from "../../src/train/presets.js";
import { JOBS } from "../../src/harness/registry.js";

const ROOT = join(import.meta.dirname, "..", "..");
const dataUrl = (path: string) => `data:application/octet-stream;base64,${readFileSync(join(ROOT, path)).toString("base64")}`;
const urls = { checkpointUrl: dataUrl("data/checkpoints/pretrain-default/model.safetensors"), sftCheckpointUrl: dataUrl("data/checkpoints/sft-default/model.safetensors") };

test("the grpo job is registered, its presets are valid, and its default is the CLI's default preset", () => {
  assert.equal(JOBS["grpo"], grpoJob);
  assert.deepEqual(checkJobDef(grpoJob), []);
  const d = GRPO_JOB_PRESETS["default"]!;
  const cli = GRPO_PRESETS.default.grpo;
  assert.deepEqual([d.steps, d.prompts, d.groupSize, d.updates, d.lr, d.temperature, d.beta], [cli.steps, cli.batchSize, cli.groupSize, cli.updatesPerBatch, cli.lr, cli.temperature, cli.beta]);
  assert.equal(validateConfig(grpoJob, { ...d, ...urls, temperature: 0 }).ok, false);
});

for (const init of ["shipped SFT (R1)", "shipped base (R1-Zero)"] as const) {
  test(`the ci preset from the ${init}: TRL-named records and a group view every step`, { timeout: 120_000 }, async () => {
    const backend = new CpuBackend({ wasm: createWasmEngineSync() });
    const records: MetricRecord[] = [];
    const groups: GroupView[] = [];
    const config: GrpoJobConfig = { ...GRPO_JOB_PRESETS["ci"]!, ...urls, init };
    try {
      for await (const r of grpoJob.run(config, backend, { emit: (name, payload) => void (name === "group" && groups.push(payload as GroupView)) })) records.push(r);
    } finally {
      backend.destroy();
    }
    assert.deepEqual(records.map((r) => r.step), [1, 2]);
    for (const k of ["reward", "reward_std", "frac_reward_zero_std", "kl", "clip_ratio/low_mean", "clip_ratio/high_mean", "entropy", "completions/mean_length", "accuracy", "format_rate", "ms_per_step"]) {
      assert.equal(typeof records[0]![k], "number", k);
    }
    assert.equal(typeof records[1]!.heldout_accuracy, "number");
    assert.deepEqual(groups.map((g) => g.step), [1, 2]);
    for (const g of groups) {
      assert.equal(g.samples.length, 4);
      const mean = g.samples.reduce((s, x) => s + x.reward, 0) / 4;
      assert.ok(Math.abs(g.mean - mean) < 1e-12);
      if (g.zeroSpread) assert.ok(g.samples.every((s) => s.advantage === 0));
      else assert.ok(g.samples.every((s) => Math.sign(s.advantage) === Math.sign(s.reward - mean)), "above the group mean ⇔ positive advantage");
      assert.match(g.prompt, init === "shipped SFT (R1)" ? /^User: .*\. Assistant: $/ : /^To work out .*, go from left to right: $/);
    }
  });
}
