// r1-lab train sft and r1-lab eval: the run record, resuming, the eval JSON, bad input.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "r1lab-sft-"));
const base = join(dir, "base");


const metricLines = (d: string) => readFileSync(join(d, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);

before(async () => {
  const r = await cli(["train", "pretrain", "--preset", "ci", "--backend", "cpu", "--steps", "20", "--out", base]);
  assert.equal(r.code, 0, r.stderr);
});

test("train sft writes the run record with the evaluation's numbers; a stopped run resumes to the same steps", async () => {
  const full = join(dir, "sft");
  const args = ["train", "sft", "--from", base, "--preset", "ci", "--backend", "cpu", "--seed", "2", "--steps", "6"];
  const a = await cli([...args, "--out", full, "--json"]);
  assert.equal(a.code, 0, a.stderr);
  for (const f of ["metrics.jsonl", "summary.json", "config.json", "model.safetensors", "optimizer.safetensors"]) assert.ok(existsSync(join(full, f)), f);
  const summary = JSON.parse(readFileSync(join(full, "summary.json"), "utf8"));
  assert.equal(summary.stage, "sft");
  assert.match(summary.command, /^r1-lab train sft --from .* --preset ci --seed 2 --backend cpu --out /);
  for (const k of ["val_loss", "heldout_accuracy", "heldout_accuracy_no_think", "format_rate", "pass_at_1", "pass_at_4", "maj_at_4", "mean_completion_tokens", "heldout_accuracy_L1", "heldout_accuracy_L2"]) {
    assert.equal(typeof summary.metrics[k], "number", `metrics.${k}`);
  }
  const lines = metricLines(full);
  assert.deepEqual(lines.map((l) => l.step), [0, 1, 2, 3, 4, 5]);
  assert.equal(typeof lines[5]!.format_rate, "number", "the last step is evaluated");

  const half = join(dir, "half");
  const h = await cli([...args, "--stop-after", "3", "--out", half]);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /stopped after step 3 of 6/);
  const r = await cli(["train", "sft", "--from", half, "--preset", "ci", "--backend", "cpu", "--seed", "2", "--steps", "6", "--out", half]);
  assert.equal(r.code, 0, r.stderr);
  const resumed = metricLines(half);
  assert.deepEqual(resumed.map((l) => l.step), [0, 1, 2, 3, 4, 5]);
  resumed.forEach((l, i) => assert.ok(Math.abs(l.loss! - lines[i]!.loss!) < 1e-5, `step ${i}`));
  const again = JSON.parse(readFileSync(join(half, "summary.json"), "utf8"));
  assert.equal(again.metrics.heldout_accuracy, summary.metrics.heldout_accuracy);
  assert.ok(Math.abs(again.metrics.val_loss - summary.metrics.val_loss) < 1e-4);
});

test("eval --json: per level and overall, with and without thinking; seeded", async () => {
  const args = ["eval", "--from", base, "--levels", "1-2", "--k", "1,2", "--problems", "3", "--backend", "cpu", "--max-tokens", "16", "--json"];
  const a = await cli(args);
  assert.equal(a.code, 0, a.stderr);
  const report = JSON.parse(a.stdout);
  assert.equal(report.levels.length, 2);
  for (const l of report.levels) {
    for (const mode of ["think", "no_think"]) {
      for (const k of ["accuracy", "format_rate", "mean_completion_tokens"]) assert.equal(typeof l[mode][k], "number", `${mode}.${k}`);
      assert.deepEqual(Object.keys(l[mode].pass_at_k), ["1", "2"]);
      assert.deepEqual(Object.keys(l[mode].maj_at_k), ["1", "2"]);
    }
  }
  for (const k of ["heldout_accuracy", "heldout_accuracy_no_think", "pass_at_2", "maj_at_2", "format_rate"]) assert.equal(typeof report.overall[k], "number");
  const b = await cli(args);
  assert.equal(b.stdout, a.stdout, "the same command gives the same numbers");
});

test("bad sft and eval flags exit non-zero with one line", async () => {
  for (const args of [
    ["train", "sft", "--out", join(dir, "x")],
    ["train", "sft", "--from", base],
    ["train", "sft", "--from", base, "--out", join(dir, "x"), "--preset", "huge"],
    ["train", "sft", "extra", "--from", base, "--out", join(dir, "x")],
    ["eval"],
    ["eval", "--from", base, "--levels", "0-9"],
    ["eval", "--from", base, "--k", "0"],
    ["eval", "--from", base, "--temperature", "-1"],
    ["eval", "--from", base, "--split", "test"],
  ]) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
    const lines = r.stderr.split("\n").filter((l) => l && !l.includes("XDG_RUNTIME_DIR"));
    assert.equal(lines.length, 1, `${args.join(" ")}: ${JSON.stringify(lines)}`);
    assert.match(lines[0]!, /^r1-lab/);
  }
});
