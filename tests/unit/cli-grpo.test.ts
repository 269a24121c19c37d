// r1-lab train grpo: the run record, before/after numbers, exact resume, the style
// chosen by the starting checkpoint, bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "r1lab-grpo-"));
// the shipped cold-start model: it earns rewards, so the updates are real
const SFT = "data/checkpoints/sft-default";
const metricLines = (d: string) => readFileSync(join(d, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);

test("train grpo from an SFT checkpoint: run record, TRL-named diagnostics, before/after scores; a stopped run resumes exactly", async () => {
  const full = join(dir, "full");
  const args = ["train", "grpo", "--from", SFT, "--preset", "ci", "--backend", "cpu", "--seed", "3", "--steps", "4"];
  const a = await cli([...args, "--out", full]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /held-out accuracy .* → /);
  assert.match(a.stderr, /chat style/);
  for (const f of ["metrics.jsonl", "summary.json", "config.json", "model.safetensors", "optimizer.safetensors", "reference.safetensors"]) assert.ok(existsSync(join(full, f)), f);
  const summary = JSON.parse(readFileSync(join(full, "summary.json"), "utf8"));
  assert.equal(summary.stage, "grpo");
  assert.equal(summary.style, "chat");
  assert.equal(summary.base_stage, "sft");
  assert.match(summary.command, /^r1-lab train grpo --from data\/checkpoints\/sft-default --preset ci --seed 3 --backend cpu --out .* --steps 4$/);
  for (const k of ["heldout_accuracy", "heldout_accuracy_before", "format_rate", "format_rate_before", "mean_completion_tokens", "mean_completion_tokens_before",
    "pass_at_1", "pass_at_8", "pass_at_1_before", "pass_at_8_before", "heldout_accuracy_L2_before"]) {
    assert.equal(typeof summary.metrics[k], "number", `metrics.${k}`);
  }
  const lines = metricLines(full);
  assert.deepEqual(lines.map((l) => l.step), [0, 1, 2, 3]);
  for (const k of ["reward", "reward_std", "frac_reward_zero_std", "kl", "clip_ratio/low_mean", "clip_ratio/high_mean", "entropy", "completions/mean_length", "accuracy", "format_rate"]) {
    assert.equal(typeof lines[0]![k], "number", k);
  }
  assert.equal(typeof lines[2]!.heldout_accuracy, "number", "evaluated every 3 steps");
  assert.ok(lines.some((l) => l.kl! > 0), "the policy moved away from the reference");

  // stop after 2 steps, continue from the run's own checkpoint: the same steps, exactly
  const half = join(dir, "half");
  const h = await cli([...args, "--stop-after", "2", "--out", half]);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /stopped after step 2 of 4/);
  const r = await cli(["train", "grpo", "--from", half, "--preset", "ci", "--backend", "cpu", "--seed", "3", "--steps", "4", "--out", half]);
  assert.equal(r.code, 0, r.stderr);
  const resumed = metricLines(half);
  assert.deepEqual(resumed.map((l) => l.step), [0, 1, 2, 3]);
  for (const k of ["reward", "loss", "kl", "completions/mean_length"]) {
    resumed.forEach((l, i) => assert.ok(Math.abs(l[k]! - lines[i]![k]!) < 1e-5, `step ${i} ${k}: ${l[k]} vs ${lines[i]![k]}`));
  }
  const again = JSON.parse(readFileSync(join(half, "summary.json"), "utf8"));
  assert.equal(again.metrics.heldout_accuracy, summary.metrics.heldout_accuracy);
  assert.equal(again.metrics.heldout_accuracy_before, summary.metrics.heldout_accuracy_before, "the reference was saved and restored");
});

test("train grpo from a base model takes the textbook style (R1-Zero); --style overrides", async () => {
  const base = "data/checkpoints/pretrain-default";
  const out = join(dir, "zero");
  const a = await cli(["train", "grpo", "--from", base, "--preset", "ci", "--backend", "cpu", "--steps", "1", "--out", out]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /textbook style/);
  assert.equal(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).style, "textbook");
  const b = await cli(["train", "grpo", "--from", base, "--preset", "ci", "--backend", "cpu", "--steps", "1", "--style", "chat", "--stop-after", "1", "--out", join(dir, "zero-chat")]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, "zero-chat", "config.json"), "utf8")).train.style, "chat");
});

test("bad grpo flags exit non-zero with one line", async () => {
  for (const args of [
    ["train", "grpo", "--out", join(dir, "x")],
    ["train", "grpo", "--from", SFT],
    ["train", "grpo", "--from", SFT, "--out", join(dir, "x"), "--preset", "huge"],
    ["train", "grpo", "--from", SFT, "--out", join(dir, "x"), "--style", "poem"],
    ["train", "grpo", "extra", "--from", SFT, "--out", join(dir, "x")],
    ["train", "pretrain", "--style", "chat", "--out", join(dir, "x")],
    ["train", "pretrain", "--lr", "0.1", "--out", join(dir, "x")],
    ["train", "grpo", "--from", SFT, "--out", join(dir, "x"), "--lr", "0"],
    ["train", "grpo", "--from", SFT, "--out", join(dir, "x"), "--lr", "fast"],
    ["train", "grpo", "--from", SFT, "--out", join(dir, "x"), "--curriculum", "random"],
  ]) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: ${r.stderr}`);
  }
});
