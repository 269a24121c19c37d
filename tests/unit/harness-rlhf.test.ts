// The RLHF lesson's job (src/harness/jobs/rlhf.ts) in Node on the CPU engine: its ci
// preset trains a reward model (the "rm" view gets its accuracy and calibration), then
// runs RL against it, measuring gold reward, proxy reward and KL from the start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { checkJobDef, type MetricRecord } from "../../src/harness/jobs.js";
import { RLHF_JOB_PRESETS, pairPromptCounts, rlhfJob, type RlhfPhaseView, type RlhfRmView } from "../../src/harness/jobs/rlhf.js";
import { generateProblems } from "../../src/tasks/arithmetic.js";
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

test("the default preset's pair prompts are the CLI's, and the largest allowed count can be drawn at every level", () => {
  const cli = RLHF_PRESETS.default.pairs;
  assert.deepEqual(pairPromptCounts(RLHF_JOB_PRESETS["default"]!), { trainPromptsPerLevel: cli.trainPromptsPerLevel, heldoutPromptsPerLevel: cli.heldoutPromptsPerLevel });
  // the page once asked for 1,500 distinct held-out level-1 questions, of which the split has about 1,200
  const max = rlhfJob.params.find((p) => p.key === "pairPrompts")!.max!;
  const counts = pairPromptCounts({ ...RLHF_JOB_PRESETS["default"]!, pairPrompts: max });
  for (let level = 1; level <= 5; level++) {
    assert.equal(generateProblems({ split: "train", level, count: counts.trainPromptsPerLevel, seed: 1 }).length, counts.trainPromptsPerLevel);
    assert.equal(generateProblems({ split: "heldout", level, count: counts.heldoutPromptsPerLevel, seed: 1 }).length, counts.heldoutPromptsPerLevel);
  }
});

test("the ci preset: a reward model, then RL against it with gold, proxy and KL measured from the start", { timeout: 120_000 }, async () => {
  const backend = new CpuBackend({ wasm: createWasmEngineSync() });
  const records: MetricRecord[] = [];
  const views: RlhfRmView[] = [];
  const starts: Record<string, number>[] = [];
  const phases: RlhfPhaseView[] = [];
  try {
    const emit = (name: string, v: unknown) => {
      if (name === "rm") views.push(v as RlhfRmView);
      else if (name === "start") starts.push(v as Record<string, number>);
      else if (name === "phase") phases.push(v as RlhfPhaseView);
    };
    for await (const r of rlhfJob.run({ ...RLHF_JOB_PRESETS["ci"]!, sftCheckpointUrl }, backend, { emit })) records.push(r);
  } finally {
    backend.destroy();
  }
  assert.deepEqual(records.map((r) => r.step), [1, 2, 3, 4]);
  // the phase view: pairs sampled (24 train + 6 held-out prompts at level 1), then 6 reward-model steps, then RL
  assert.deepEqual(phases.at(-1), { phase: "rl", done: 0, total: 4 });
  const pairsDone = phases.filter((p) => p.phase === "pairs");
  assert.deepEqual(pairsDone.at(-1), { phase: "pairs", done: 30, total: 30 });
  assert.deepEqual(phases.filter((p) => p.phase === "rm").map((p) => p.done), [0, 6]);
  assert.deepEqual([...new Set(phases.map((p) => p.phase))], ["pairs", "rm", "rl"], "phases in order");
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

test("timing only (the Run button's estimate): a slice of the pairs and 10 reward-model steps, the rest reported as skipped time", { timeout: 120_000 }, async () => {
  const backend = new CpuBackend({ wasm: createWasmEngineSync() });
  const phases: RlhfPhaseView[] = [];
  const skipped: number[] = [];
  const config = { ...RLHF_JOB_PRESETS["ci"]!, pairPrompts: 640, rmSteps: 40, sftCheckpointUrl };
  try {
    const gen = rlhfJob.run(config, backend, { emit: (name, v) => void (name === "phase" && phases.push(v as RlhfPhaseView)), timing: { skipped: (ms) => void skipped.push(ms) } });
    const first = await gen.next();
    assert.equal(first.done, false, "the first RL step is taken, to time it");
    await gen.return(undefined);
  } finally {
    backend.destroy();
  }
  // level 1 only: 160 train + 40 held-out prompts instead of 640 + 160; 10 reward-model steps instead of 40
  assert.equal(phases.filter((p) => p.phase === "pairs").at(-1)!.total, 200);
  assert.equal(phases.filter((p) => p.phase === "rm").at(-1)!.total, 10);
  assert.equal(skipped.length, 2, "the rest of the set-up, then the held-out measurements to come");
  assert.ok(skipped.every((ms) => ms > 0), `the skipped work takes time: ${skipped} ms`);
});
