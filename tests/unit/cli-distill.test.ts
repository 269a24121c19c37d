// r1-lab sample-traces and r1-lab train distill: the dataset and its summary, the
// student's run record with its FLOPs, token-level KD, a student too big for its context
// budget, and bad flags.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verify } from "../../src/tasks/index.js";
import { LARGE_STUDENT_MODELS, STUDENT_MODELS } from "../../src/train/presets.js";
import { cli } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "r1lab-distill-"));
const TEACHER = "data/checkpoints/sft-default";
const lines = (f: string) => readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
const json = (f: string) => JSON.parse(readFileSync(f, "utf8"));

test("sample-traces → train pretrain --arch student → train distill (sequence-level and token-level)", async () => {
  const traces = join(dir, "traces");
  const a = await cli(["sample-traces", "--from", TEACHER, "--preset", "ci", "--backend", "cpu", "--prompts", "8", "--out", traces]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /kept \d+ traces of 64 samples · acceptance/);
  const s = json(join(traces, "summary.json"));
  assert.equal(s.stage, "rejection");
  assert.match(s.command, /^r1-lab sample-traces --from data\/checkpoints\/sft-default --preset ci --seed 1 --backend cpu --out .* --prompts 8$/);
  const kept = lines(join(traces, "traces.jsonl"));
  const samples = lines(join(traces, "samples.jsonl"));
  assert.equal(samples.length, 64);
  assert.equal(s.metrics.traces, kept.length);
  assert.equal(kept.length, samples.filter((x) => x.verdict === "kept").length);
  for (const t of kept) {
    assert.deepEqual(Object.keys(t).sort(), ["answer", "completion", "id", "level", "prompt", "question"], "the cold-start traces' fields");
    assert.deepEqual(verify(t.completion as string, t.answer as string), { correct: true, formatOk: true });
  }
  for (const l of ["1", "2"]) {
    assert.equal(s.acceptance[l].sampled, 32);
    assert.equal(s.metrics[`acceptance_rate_L${l}`], s.acceptance[l].acceptance_rate);
  }
  assert.ok(s.metrics.flops > 0 && s.metrics.sampled_tokens > 64 * 8);

  const base = join(dir, "student-base");
  const b = await cli(["train", "pretrain", "--preset", "ci", "--arch", "student", "--backend", "cpu", "--steps", "20", "--out", base]);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(json(join(base, "config.json")).model, STUDENT_MODELS.ci);
  assert.match(json(join(base, "summary.json")).command, / --arch student$/);

  const seq = join(dir, "seq");
  const c = await cli(["train", "distill", "--from", base, "--data", traces, "--preset", "ci", "--backend", "cpu", "--steps", "4", "--out", seq]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /sequence-level/);
  const ds = json(join(seq, "summary.json"));
  assert.equal(ds.stage, "distill");
  assert.equal(ds.mode, "sequence-level");
  assert.equal(ds.params, 7840);
  assert.equal(ds.data_command, s.command);
  for (const k of ["heldout_accuracy", "format_rate", "pass_at_1", "pass_at_4", "flops", "tokens_trained"]) assert.equal(typeof ds.metrics[k], "number", k);
  const recs = lines(join(seq, "metrics.jsonl")) as Record<string, number>[];
  assert.deepEqual(recs.map((r) => r.step), [0, 1, 2, 3]);
  assert.ok(recs.every((r, i) => i === 0 || r.flops! > recs[i - 1]!.flops!), "FLOPs accumulate");
  assert.equal(recs.at(-1)!.flops, ds.metrics.flops);
  assert.ok(recs.every((r) => r.kd === undefined && Math.abs(r.loss! - r.ce!) < 1e-6), "sequence-level: the loss is the CE");
  for (const f of ["model.safetensors", "config.json"]) assert.ok(existsSync(join(seq, f)), f);

  const tok = join(dir, "tok");
  const d = await cli(["train", "distill", "--from", base, "--data", traces, "--preset", "ci", "--backend", "cpu", "--steps", "2",
    "--teacher", TEACHER, "--kd-alpha", "0.5", "--kd-temperature", "2", "--out", tok]);
  assert.equal(d.code, 0, d.stderr);
  const ts = json(join(tok, "summary.json"));
  assert.equal(ts.mode, "token-level");
  assert.match(ts.command, / --teacher data\/checkpoints\/sft-default --kd-alpha 0.5 --kd-temperature 2$/);
  const tr = lines(join(tok, "metrics.jsonl")) as Record<string, number>[];
  for (const r of tr) {
    assert.ok(r.kd! > 0, "the student differs from the teacher");
    assert.ok(Math.abs(r.loss! - (0.5 * r.ce! + 0.5 * r.kd!)) < 1e-4, `L = (1−α)CE + α·T²KL: ${r.loss} vs ${r.ce} ${r.kd}`);
  }
  assert.ok(tr[0]!.flops! > recs[0]!.flops!, "the teacher's forward pass is counted");
});

test("bad distill flags exit non-zero with one line", async () => {
  for (const args of [
    ["train", "distill", "--data", "x", "--out", join(dir, "x")],
    ["train", "distill", "--from", TEACHER, "--out", join(dir, "x")],
    ["train", "distill", "--from", TEACHER, "--data", "x", "--out", join(dir, "x"), "--kd-alpha", "0.5"],
    ["train", "distill", "--from", TEACHER, "--data", "x", "--out", join(dir, "x"), "--kd-alpha", "2", "--teacher", TEACHER],
    ["train", "pretrain", "--arch", "huge", "--out", join(dir, "x")],
    ["train", "pretrain", "--data", "x", "--out", join(dir, "x")],
    ["sample-traces", "--out", join(dir, "x")],
    ["sample-traces", "--from", TEACHER, "--out", join(dir, "x"), "--samples", "0"],
  ]) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: ${r.stderr}`);
  }
});

test("train pretrain --arch student-large: the larger student of the preset", async () => {
  const out = join(dir, "large");
  const r = await cli(["train", "pretrain", "--preset", "ci", "--arch", "student-large", "--backend", "cpu", "--steps", "2", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(json(join(out, "config.json")).model, LARGE_STUDENT_MODELS.ci);
  assert.equal(json(join(out, "summary.json")).params, 15216);
  assert.match(json(join(out, "summary.json")).command, / --arch student-large$/);
});
