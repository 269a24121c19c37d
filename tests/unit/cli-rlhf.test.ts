// r1-lab train rm | rlhf | dpo: run records with the lesson's metrics, one chain
// (rm → rlhf with its reward model, rm's pairs → dpo), and one-line errors for bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "r1lab-rlhf-"));
const SFT = "data/checkpoints/sft-default";
const summaryOf = (d: string) => JSON.parse(readFileSync(join(d, "summary.json"), "utf8")) as { command: string; stage: string; metrics: Record<string, number>; calibration?: { predicted: number; observed: number; count: number }[] };
const lines = (d: string) => readFileSync(join(d, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
const common = ["--preset", "ci", "--backend", "cpu", "--seed", "1"];

test("train rm, then rlhf against it and against the rules, then dpo on its pairs", { timeout: 300_000 }, async () => {
  const rm = join(dir, "rm");
  const a = await cli(["train", "rm", "--from", SFT, ...common, "--out", rm]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /held-out pair accuracy/);
  for (const f of ["metrics.jsonl", "summary.json", "config.json", "model.safetensors", "pairs.json"]) assert.ok(existsSync(join(rm, f)), f);
  const s = summaryOf(rm);
  assert.equal(s.stage, "rm");
  for (const k of ["rm_pair_accuracy", "rm_gold_accuracy", "rm_val_loss", "pairs_train", "pairs_heldout", "pairs_tie_share"]) assert.equal(typeof s.metrics[k], "number", k);
  assert.equal(s.calibration!.reduce((n, b) => n + b.count, 0), s.metrics.pairs_heldout, "every held-out pair is in a calibration bin");
  assert.ok(lines(rm).every((l) => typeof l.loss === "number" && typeof l.accuracy === "number"));

  for (const reward of ["rm", "rules"]) {
    const out = join(dir, `rlhf-${reward}`);
    const r = await cli(["train", "rlhf", "--from", SFT, "--rm", rm, "--reward", reward, ...common, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const m = summaryOf(out).metrics;
    for (const k of ["gold_reward", "proxy_reward", "kl", "gold_reward_before", "proxy_reward_before"]) assert.equal(typeof m[k], "number", `${reward}: ${k}`);
    assert.ok(Math.abs(m.kl_before!) < 1e-3, "the starting policy is the reference: KL 0");
    const steps = lines(out);
    assert.ok(steps.every((l) => typeof l.gold_reward === "number" && typeof l.kl === "number" && typeof l.reward === "number"));
    assert.ok(steps.some((l) => typeof l.heldout_gold_reward === "number" && typeof l.heldout_proxy_reward === "number"));
  }
  assert.match(summaryOf(join(dir, "rlhf-rules")).command, /--reward rules/);

  const dpo = join(dir, "dpo");
  const d = await cli(["train", "dpo", "--from", SFT, "--pairs", join(rm, "pairs.json"), ...common, "--out", dpo]);
  assert.equal(d.code, 0, d.stderr);
  const dm = summaryOf(dpo).metrics;
  assert.equal(dm.pairs_train, s.metrics.pairs_train, "the same pairs as the reward model");
  for (const k of ["gold_reward", "kl", "gold_reward_before"]) assert.equal(typeof dm[k], "number", k);
  assert.ok(lines(dpo)[0]!.loss! > 0.69 && lines(dpo)[0]!.loss! < 0.70, "DPO starts at log 2 (policy = reference)");
});

test("bad flags exit non-zero with a one-line reason", async () => {
  const cases: [string[], RegExp][] = [
    [["train", "rm", "--preset", "ci", "--out", join(dir, "x")], /--from DIR is required/],
    [["train", "rlhf", "--from", SFT, "--out", join(dir, "x")], /--rm DIR is required/],
    [["train", "rlhf", "--from", SFT, "--reward", "vibes", "--out", join(dir, "x")], /--reward must be one of rm, rules/],
    [["train", "dpo", "--from", SFT, "--preset", "huge", "--out", join(dir, "x")], /--preset must be one of ci, default/],
    [["train", "rlhf", "--from", SFT, "--rm", SFT, "--backend", "cpu", "--out", join(dir, "x")], /is a sft run; expected rm/],
    [["train", "pretrain", "--pairs", "p.json", "--out", join(dir, "x")], /--pairs is a flag of train rm, rlhf and dpo/],
  ];
  for (const [args, why] of cases) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.match(r.stderr, why, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  }
});
