// r1-lab pipeline at the ci size: every stage runs from the previous one's checkpoint, the
// report card is well formed (its totals are the sums of its rows, its Table 6 is the compare
// stage's), and a pipeline stopped mid-way resumes without redoing the stages it finished.
// Then --teacher: the given teacher's records stand in for the first three stages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PIPELINE_STAGES, type PipelineReport } from "../../src/train/report.js";
import { cli } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "r1lab-pipeline-"));
const json = <T>(f: string) => JSON.parse(readFileSync(f, "utf8")) as T;
const mtime = (f: string) => statSync(f).mtimeMs;

test("pipeline --preset ci: stopped after rejection sampling, then resumed to the end without redoing a stage", async () => {
  const out = join(dir, "pipe");
  const a = await cli(["pipeline", "--preset", "ci", "--backend", "cpu", "--until", "rejection", "--out", out]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /stopped after rejection \(--until\)/);
  const first = json<PipelineReport>(join(out, "report.json"));
  assert.equal(first.finished, false);
  assert.deepEqual(first.stages.map((s) => s.stage), ["pretrain", "sft", "grpo", "rejection"]);
  assert.ok(!existsSync(join(out, "student-pretrain")), "no stage after --until ran");
  assert.match(readFileSync(join(out, "report.md"), "utf8"), /Unfinished/);
  const done = ["pretrain", "sft", "grpo"].map((s) => join(out, s, "model.safetensors")).concat(join(out, "rejection", "traces.jsonl"));
  const before = done.map(mtime);
  // a stage stopped half-way leaves a directory without summary.json: it starts over
  rmSync(join(out, "rejection", "summary.json"));

  const b = await cli(["pipeline", "--preset", "ci", "--backend", "cpu", "--out", out]);
  assert.equal(b.code, 0, b.stderr);
  for (const s of ["pretrain", "sft", "grpo"]) assert.match(b.stdout, new RegExp(`${s}: finished already`));
  assert.match(b.stdout, /rejection: running/);
  assert.match(b.stdout, /done: teacher .* · distilled student .* · RL student .* \(held-out, greedy\)/);
  assert.deepEqual(done.slice(0, 3).map(mtime), before.slice(0, 3), "finished stages were not run again");
  assert.notEqual(mtime(done[3]!), before[3], "the unfinished stage ran again");

  const r = json<PipelineReport>(join(out, "report.json"));
  assert.equal(r.finished, true);
  assert.deepEqual(r.stages.map((s) => s.stage), [...PIPELINE_STAGES]);
  assert.deepEqual(r.stages.map((s) => s.resumed), [true, true, true, false, false, false, false, false, false]);
  for (const s of r.stages) {
    for (const k of ["wall_s", "tokens", "flops", "energy_wh", "cost_usd"] as const) assert.ok(Number.isFinite(s[k]) && s[k] >= 0, `${s.stage}.${k}`);
    assert.ok(existsSync(join(s.dir, "summary.json")), s.stage);
    if (s.stage !== "compare" && s.stage !== "distill") assert.ok(s.flops > 0 && s.tokens > 0, `${s.stage} spent compute`);
    assert.ok(Math.abs(s.energy_wh - (s.wall_s * r.machine.watts) / 3600) < 1e-9);
  }
  for (const k of ["wall_s", "flops", "tokens", "energy_wh"] as const) {
    assert.ok(Math.abs(r.totals[k] - r.stages.reduce((t, s) => t + s[k], 0)) < 1e-6 * Math.max(1, r.totals[k]), `totals.${k}`);
  }
  assert.ok(r.stages.find((s) => s.stage === "pretrain")!.deepseek!.tokens === 14.8e12, "DeepSeek's scale beside ours");
  const compare = json<{ metrics: Record<string, number> }>(join(out, "compare", "summary.json")).metrics;
  assert.deepEqual(r.table6, compare);
  for (const k of ["teacher_heldout_accuracy", "student_distilled_heldout_accuracy", "student_rl_heldout_accuracy", "acceptance_rate", "student_distilled_flops", "student_rl_flops"]) {
    assert.equal(typeof r.table6![k], "number", k);
  }
  const sft = r.stages.find((s) => s.stage === "student-sft")!;
  const grpo = r.stages.find((s) => s.stage === "student-grpo")!;
  assert.equal(r.table6!.student_rl_flops, sft.flops + grpo.flops, "the RL student's compute: its cold start + GRPO, sampling included");
  assert.equal(r.table6!.student_distilled_flops, r.stages.find((s) => s.stage === "distill")!.flops);
  const md = readFileSync(join(out, "report.md"), "utf8");
  assert.match(md, /\| Cold-start SFT \(resumed\) \| teacher \|/);
  assert.match(md, /R1's Table 6 in miniature/);
  assert.equal(md.split("\n").filter((l) => l.startsWith("| ")).length, 1 + 9 + 1 + 1 + 3, "header, 9 stages, total; Table 6 header and 3 rows");

  // a third run has nothing left to do
  const c = await cli(["pipeline", "--preset", "ci", "--backend", "cpu", "--out", out]);
  assert.equal(c.code, 0, c.stderr);
  assert.ok(!/running/.test(c.stdout), c.stdout);
});

test("pipeline --teacher: the given GRPO run's lineage stands in for the teacher's stages", async () => {
  const teacher = join(dir, "teacher");
  const t = await cli(["train", "grpo", "--from", "data/checkpoints/sft-default", "--preset", "ci", "--backend", "cpu", "--steps", "1", "--out", teacher]);
  assert.equal(t.code, 0, t.stderr);
  const out = join(dir, "given");
  const a = await cli(["pipeline", "--preset", "ci", "--backend", "cpu", "--teacher", teacher, "--until", "rejection", "--out", out]);
  assert.equal(a.code, 0, a.stderr);
  const r = json<PipelineReport>(join(out, "report.json"));
  assert.deepEqual(r.stages.map((s) => [s.stage, s.given, s.dir]), [
    ["pretrain", true, "data/checkpoints/pretrain-default"], ["sft", true, "data/checkpoints/sft-default"], ["grpo", true, teacher], ["rejection", false, join(out, "rejection")],
  ]);
  assert.ok(!existsSync(join(out, "pretrain")));
  assert.match(json<{ command: string }>(join(out, "rejection", "summary.json")).command, new RegExp(`--from ${teacher}`));
  assert.match(r.command, / --teacher /);
});

test("bad pipeline flags exit non-zero with one line", async () => {
  for (const args of [
    ["pipeline"],
    ["pipeline", "--out", join(dir, "x"), "--until", "nowhere"],
    ["pipeline", "--out", join(dir, "x"), "--watts", "-3"],
    ["pipeline", "--out", join(dir, "x"), "--teacher", "data/checkpoints/sft-default"],
  ]) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: ${r.stderr}`);
  }
});
