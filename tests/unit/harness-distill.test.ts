// The distillation lesson's job (src/harness/jobs/distill.ts) in Node on the CPU engine:
// registered, its default is the CLI's default preset, its ci preset yields the loop's
// records (with token-level KD too) and the student's answers at every evaluation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { checkJobDef, validateConfig, type MetricRecord } from "../../src/harness/jobs.js";
import { DISTILL_JOB_PRESETS, distillJob, type AnswersView, type DistillInfoView, type DistillJobConfig } from "../../src/harness/jobs/distill.js";
import { DISTILL_PRESETS } from "../../src/train/presets.js";
import { JOBS } from "../../src/harness/registry.js";

const ROOT = join(import.meta.dirname, "..", "..");
const dataUrl = (path: string) => `data:application/octet-stream;base64,${readFileSync(join(ROOT, path)).toString("base64")}`;
// traces with the same fields as the teacher's kept ones; the shipped SFT model as the teacher
const urls = { tracesUrl: dataUrl("data/traces/cold-start-steps.jsonl"), teacherCheckpointUrl: dataUrl("data/checkpoints/sft-default/model.safetensors"), studentCheckpointUrl: "" };

test("the distill job is registered, its presets are valid, and its default is the CLI's default preset", () => {
  assert.equal(JOBS["distill"], distillJob);
  assert.deepEqual(checkJobDef(distillJob), []);
  const d = DISTILL_JOB_PRESETS["default"]!;
  const cli = DISTILL_PRESETS.default.distill;
  assert.deepEqual([d.steps, d.batchSize, d.lr, d.warmupSteps, d.kdAlpha, d.evalEvery], [cli.steps, cli.batchSize, cli.lr, cli.warmupSteps, cli.kdAlpha, cli.evalEvery]);
  assert.equal(validateConfig(distillJob, { ...d, ...urls, kdAlpha: 2 }).ok, false);
});

for (const kdAlpha of [0, 0.5]) {
  test(`the ci preset (kdAlpha ${kdAlpha}): records with FLOPs, the student's answers at step 0 and each evaluation`, { timeout: 120_000 }, async () => {
    const backend = new CpuBackend({ wasm: createWasmEngineSync() });
    const records: MetricRecord[] = [];
    const answers: AnswersView[] = [];
    const infos: DistillInfoView[] = [];
    const config: DistillJobConfig = { ...DISTILL_JOB_PRESETS["ci"]!, ...urls, kdAlpha };
    try {
      for await (const r of distillJob.run(config, backend, {
        emit: (name, payload) => void (name === "answers" ? answers.push(payload as AnswersView) : name === "info" && infos.push(payload as DistillInfoView)),
      })) records.push(r);
    } finally {
      backend.destroy();
    }
    assert.deepEqual(records.map((r) => r.step), [1, 2, 3]);
    for (const k of ["loss", "ce", "grad_norm", "lr", "flops", "ms_per_step"]) assert.equal(typeof records[0]![k], "number", k);
    assert.equal(typeof records[2]!.heldout_accuracy, "number");
    assert.equal(records[0]!.kd === undefined, kdAlpha === 0);
    assert.equal(infos.length, 1);
    const info = infos[0]!;
    assert.equal(info.params, 55776);
    assert.equal(info.teacherParams, kdAlpha > 0 ? 135936 : null);
    assert.equal(info.traces, 400, "level-1 traces only");
    assert.deepEqual(answers.map((a) => a.step), [0, 3]);
    assert.equal(answers[0]!.answers[0]!.level, 1);
  });
}
