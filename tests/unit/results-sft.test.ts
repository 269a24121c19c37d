// data/results/sft.json is what the Cold-start SFT lesson quotes. Each run carries the
// evaluation harness's numbers; the claims hold for the recorded numbers; and the
// recorded ci commands (a ci base, then SFT from it) reproduce their metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const root = join(import.meta.dirname, "../..");
interface Run { name: string; command: string; base_command?: string; metrics: Record<string, number> }
const results = JSON.parse(readFileSync(join(root, "data/results/sft.json"), "utf8")) as { runs: Run[]; claims: string[] };
const run = (name: string): Run => {
  const r = results.runs.find((x) => x.name === name);
  assert.ok(r, `a "${name}" run is recorded`);
  return r;
};

test("each recorded SFT run carries the evaluation harness's numbers", () => {
  for (const name of ["ci", "default"]) {
    const m = run(name).metrics;
    for (const k of ["val_loss", "format_rate", "heldout_accuracy", "heldout_accuracy_no_think", "pass_at_1", "pass_at_4", "maj_at_4", "mean_completion_tokens", "heldout_accuracy_L1"]) {
      assert.equal(typeof m[k], "number", `${name}: metrics.${k}`);
    }
    assert.match(run(name).command, new RegExp(`^r1-lab train sft --from \\S+ --preset ${name} --seed 1 `));
  }
  const d = run("default").metrics;
  for (const l of [1, 2, 3, 4, 5]) assert.equal(typeof d[`heldout_accuracy_no_think_L${l}`], "number");
  assert.equal(typeof d["maj_at_16"], "number");
  assert.equal(typeof d["pass_at_16"], "number");
  assert.equal(run("default").base_command, "r1-lab train pretrain --preset default --seed 1 --backend cpu --out data/checkpoints/pretrain-default");
  assert.ok(results.claims.length > 0);
});

test("the claims hold for the recorded default run", () => {
  const m = run("default").metrics;
  const at = (k: string) => m[k]!;
  assert.ok(at("format_rate") >= 0.95, `format_rate ${at("format_rate")}`);
  for (const l of [2, 3, 4, 5]) {
    assert.ok(at(`heldout_accuracy_L${l}`) > at(`heldout_accuracy_no_think_L${l}`) + 0.05, `level ${l}: thinking ${at(`heldout_accuracy_L${l}`)} vs ${at(`heldout_accuracy_no_think_L${l}`)}`);
  }
  assert.ok(at("maj_at_16") > at("pass_at_1"), `maj@16 ${at("maj_at_16")} vs pass@1 ${at("pass_at_1")}`);
  for (const l of [1, 2, 3, 4, 5]) assert.ok(at(`maj_at_16_L${l}`) >= at(`pass_at_1_L${l}`), `level ${l}`);
  assert.ok(at("maj_at_4") < at("pass_at_1"), "the claims say maj@4 does not beat pass@1");
  // clearly better than the base (0%) and clearly imperfect at the hardest levels
  assert.ok(at("heldout_accuracy") > 0.3 && at("heldout_accuracy_L5") < 0.5 && at("heldout_accuracy_L4") < 0.5);
  // the numbers the claims quote
  const claims = results.claims.join(" ");
  for (const l of [2, 3, 4, 5]) {
    const text = `${Math.round(100 * at(`heldout_accuracy_L${l}`))}% vs ${Math.round(100 * at(`heldout_accuracy_no_think_L${l}`))}% (level ${l})`;
    assert.ok(claims.includes(text), `claims quote "${text}"`);
  }
  assert.ok(claims.includes(`maj@16 ${(100 * at("maj_at_16")).toFixed(1)}% vs pass@1 ${(100 * at("pass_at_1")).toFixed(1)}%`));
  // format first: the first evaluation in the shipped run's metrics.jsonl
  const lines = readFileSync(join(root, "data/checkpoints/sft-default/metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
  const firstEval = lines.find((l) => typeof l.format_rate === "number")!;
  assert.equal(firstEval.step, 249);
  assert.ok(firstEval.format_rate! >= 0.95 && firstEval.heldout_accuracy! < 0.1, JSON.stringify(firstEval));
});

test("re-running the recorded ci commands (base, then SFT) reproduces the metrics", { timeout: 600_000 }, async () => {
  const ci = run("ci");
  assert.ok(ci.base_command, "the ci run records how its base was made");
  const dir = mkdtempSync(join(tmpdir(), "r1lab-sft-rerun-"));
  const withOut = (command: string, out: string, from?: string) => {
    const args = command.replace(/^r1-lab /, "").split(" ");
    args[args.indexOf("--out") + 1] = out;
    if (from) args[args.indexOf("--from") + 1] = from;
    return args;
  };
  const exec = (args: string[]) => promisify(execFile)("node", [join(root, "bin/r1-lab.js"), ...args], { maxBuffer: 1 << 24 });
  await exec(withOut(ci.base_command!, join(dir, "base")));
  await exec(withOut(ci.command, join(dir, "sft"), join(dir, "base")));
  const summary = JSON.parse(readFileSync(join(dir, "sft", "summary.json"), "utf8")) as { metrics: Record<string, number> };
  for (const [k, v] of Object.entries(ci.metrics)) {
    const got = summary.metrics[k]!;
    assert.ok(Math.abs(got - v) <= 1e-3 * Math.max(1, Math.abs(v)), `${k}: recorded ${v}, re-run ${got}`);
  }
});
