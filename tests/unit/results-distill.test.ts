// data/results/distill.json is what the distillation lesson quotes: R1's Table 6 in
// miniature from recorded pipelines (r1-lab pipeline --teacher data/checkpoints/grpo-default).
// Each run carries the numbers the page shows; the students' FLOPs are their stages' sums;
// the claims quote the recorded numbers; the shipped report card and teacher traces are the
// default run's; and the recorded ci command re-runs to the same numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verify } from "../../src/tasks/index.js";
import type { PipelineReport } from "../../src/train/report.js";
import { cli } from "./helpers/cli.js";

const root = join(import.meta.dirname, "../..");
interface Stage { stage: string; command: string; wall_s: number; tokens: number; flops: number; given: boolean }
interface Run { name: string; command: string; teacher_params: number; student_params: number; metrics: Record<string, number>; stages: Stage[] }
const results = JSON.parse(readFileSync(join(root, "data/results/distill.json"), "utf8")) as { runs: Run[]; claims: string[] };
const run = (name: string): Run => {
  const r = results.runs.find((x) => x.name === name);
  assert.ok(r, `a "${name}" run is recorded`);
  return r;
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const TABLE6 = ["teacher_heldout_accuracy", "student_distilled_heldout_accuracy", "student_rl_heldout_accuracy", "acceptance_rate",
  "student_distilled_flops", "student_rl_flops", "student_base_flops", "teacher_sampling_flops"];

test("each recorded pipeline carries Table 6 and its stages; the students' FLOPs are their stages' sums", () => {
  const large = results.runs.some((r) => r.name === "default-large");
  for (const name of ["ci", "default", ...(large ? ["default-large"] : [])]) {
    const r = run(name);
    const preset = name.split("-")[0];
    assert.match(r.command, new RegExp(`^r1-lab pipeline --preset ${preset} --seed 1 --backend cpu --teacher data/checkpoints/grpo-default ${name === "default-large" ? "--student student-large " : ""}--out `));
    for (const k of TABLE6) assert.equal(typeof r.metrics[k], "number", `${name}: ${k}`);
    assert.equal(r.teacher_params, 135936);
    assert.equal(r.student_params, { ci: 7840, default: 55776, "default-large": 81216 }[name]);
    assert.deepEqual(r.stages.map((s) => s.stage), ["pretrain", "sft", "grpo", "rejection", "student-pretrain", "distill", "student-sft", "student-grpo", "compare"]);
    assert.deepEqual(r.stages.map((s) => s.given), [true, true, true, false, false, false, false, false, false]);
    const flops = (s: string) => r.stages.find((x) => x.stage === s)!.flops;
    assert.equal(r.metrics.student_distilled_flops, flops("distill"));
    assert.equal(r.metrics.student_rl_flops, flops("student-sft") + flops("student-grpo"));
    assert.equal(r.metrics.student_base_flops, flops("student-pretrain"));
    assert.equal(r.metrics.teacher_sampling_flops, flops("rejection"));
    assert.ok(r.metrics.student_distilled_flops! > 0 && r.metrics.student_rl_flops! > 0);
  }
});

test("the claims quote the recorded numbers", () => {
  const d = run("default").metrics;
  const claims = results.claims.join(" ");
  for (const k of ["teacher_heldout_accuracy", "student_distilled_heldout_accuracy", "student_rl_heldout_accuracy", "acceptance_rate"]) {
    assert.ok(claims.includes(pct(d[k]!)), `${k} ${pct(d[k]!)} is quoted`);
  }
  // the verdict follows the numbers, whichever way they came out
  if (d.student_distilled_heldout_accuracy! > d.student_rl_heldout_accuracy!) assert.match(claims, /distillation beats RL/);
  else assert.match(claims, /does not reproduce R1's finding/);
});

test("the shipped report card and teacher traces are the default run's", () => {
  const report = JSON.parse(readFileSync(join(root, "data/reports/default/report.json"), "utf8")) as PipelineReport;
  assert.equal(report.command, run("default").command);
  assert.ok(report.finished);
  for (const k of TABLE6) assert.equal(report.table6![k], run("default").metrics[k], k);
  assert.ok(existsSync(join(root, "data/reports/default/report.md")));
  const traces = readFileSync(join(root, "data/traces/teacher-default.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { completion: string; answer: string });
  assert.equal(traces.length, run("default").metrics.traces);
  for (const t of traces) assert.deepEqual(verify(t.completion, t.answer), { correct: true, formatOk: true });
  const summary = JSON.parse(readFileSync(join(root, "data/traces/teacher-default.json"), "utf8")) as { metrics: Record<string, number> };
  assert.equal(summary.metrics.acceptance_rate, run("default").metrics.acceptance_rate);
});

test("the shipped distilled student is the default pipeline's: its held-out accuracy per level is the recorded one", () => {
  const summary = JSON.parse(readFileSync(join(root, "data/checkpoints/student-distill-default/summary.json"), "utf8")) as
    { command: string; data_command: string; params: number; metrics: Record<string, number> };
  assert.match(summary.command, /^r1-lab train distill --from data\/checkpoints\/student-pretrain-default .*--preset default --seed 1 --backend cpu/);
  assert.match(summary.data_command, /^r1-lab sample-traces --from data\/checkpoints\/grpo-default --preset default --seed 1/);
  assert.equal(summary.params, run("default").student_params);
  const m = run("default").metrics;
  assert.equal(summary.metrics.heldout_accuracy, m.student_distilled_heldout_accuracy);
  for (let level = 1; level <= 5; level++) {
    assert.equal(summary.metrics[`heldout_accuracy_L${level}`], m[`student_distilled_heldout_accuracy_L${level}`], `level ${level}`);
  }
});

test("the recorded ci pipeline re-runs to the same numbers", { timeout: 600_000 }, async () => {
  const r = run("ci");
  const out = join(mkdtempSync(join(tmpdir(), "r1lab-distill-results-")), "ci");
  const argv = r.command.replace(/^r1-lab /, "").split(" ");
  argv[argv.indexOf("--out") + 1] = out;
  const a = await cli(argv);
  assert.equal(a.code, 0, a.stderr);
  const again = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as PipelineReport;
  for (const k of TABLE6) assert.equal(again.table6![k], r.metrics[k], k);
});
