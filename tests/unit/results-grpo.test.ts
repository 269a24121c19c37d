// data/results/grpo.json is what the GRPO lesson quotes. Each run carries the before/after
// numbers; the claims quote the recorded numbers; the R1-Zero style choice is backed by a
// recorded run; the shipped checkpoint is the default run; and the recorded ci commands
// reproduce their metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PASS_AT_K_KS } from "../../src/train/presets.js";

const root = join(import.meta.dirname, "../..");
interface Run { name: string; command: string; base_command?: string; metrics: Record<string, number>; series?: Record<string, [number, number][]> }
const results = JSON.parse(readFileSync(join(root, "data/results/grpo.json"), "utf8")) as { runs: Run[]; claims: string[] };
const run = (name: string): Run => {
  const r = results.runs.find((x) => x.name === name);
  assert.ok(r, `a "${name}" run is recorded`);
  return r;
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** the per-step fields grpo.json carries for every run (scripts/record-results.ts --series) */
const SERIES = ["reward", "accuracy", "format_rate", "completions/mean_length"];

test("each recorded GRPO run carries before/after numbers and its training curve", () => {
  for (const name of ["ci", "r1-zero-ci", "default", "r1-zero-default", "r1-zero-chat-ci"]) {
    const r = run(name);
    for (const k of ["heldout_accuracy", "heldout_accuracy_before", "format_rate", "format_rate_before", "mean_completion_tokens", "mean_completion_tokens_before", "pass_at_1", "pass_at_1_before"]) {
      assert.equal(typeof r.metrics[k], "number", `${name}: metrics.${k}`);
    }
    assert.match(r.command, /^r1-lab train grpo --from data\/checkpoints\/(sft|pretrain)-default --preset (ci|default) --seed 1 --backend cpu --out /);
    for (const f of SERIES) assert.equal(r.series?.[f]?.length, r.metrics.steps, `${name}: ${f} at every step`);
    assert.ok(r.base_command, `${name}: how the starting checkpoint was made`);
  }
  for (const k of PASS_AT_K_KS) {
    for (const name of ["default", "r1-zero-default"]) {
      assert.equal(typeof run(name).metrics[`pass_at_${k}`], "number");
      assert.equal(typeof run(name).metrics[`pass_at_${k}_before`], "number");
    }
  }
  assert.match(run("default").command, /--from data\/checkpoints\/sft-default --preset default/);
  assert.match(run("r1-zero-default").command, /--from data\/checkpoints\/pretrain-default --preset default/);
});

test("why R1-Zero starts from the textbook's sentence: under the chat template the base never earns a reward", () => {
  const chat = run("r1-zero-chat-ci");
  assert.match(chat.command, /--style chat$/);
  assert.ok(chat.series!.reward!.every(([, r]) => r === 0), "every sampled reply of every step scores 0");
  assert.ok(chat.series!.format_rate!.every(([, f]) => f === 0));
  assert.equal(chat.metrics.heldout_accuracy_before, 0);
  const zero = run("r1-zero-default");
  assert.ok(zero.series!.reward!.some(([, r]) => r > 0), "in the textbook style some replies earn a reward");
});

test("the claims quote the recorded numbers; the shipped checkpoint is the default run", () => {
  const d = run("default").metrics;
  const claims = results.claims.join(" ");
  assert.ok(claims.includes(`${pct(d.heldout_accuracy_before!)} → ${pct(d.heldout_accuracy!)}`), "the held-out accuracy before and after");
  assert.ok(claims.includes(`pass@64 ${pct(d.pass_at_64_before!)} → ${pct(d.pass_at_64!)}`), "pass@64 before and after");
  const z = run("r1-zero-default").metrics;
  assert.ok(claims.includes(`${pct(z.heldout_accuracy_before!)} → ${pct(z.heldout_accuracy!)}`), "R1-Zero's before and after");
  for (const [name, steps] of [["tried-400-steps", 400], ["tried-lr1e-4-uniform", 200]] as const) {
    const t = run(name).metrics;
    assert.equal(t.steps, steps);
    assert.equal(t.heldout_accuracy_before, d.heldout_accuracy_before, `${name} starts where the default run starts`);
    assert.ok(claims.includes(`${pct(t.heldout_accuracy_before!)} → ${pct(t.heldout_accuracy!)}`), `${name} is quoted`);
  }
  assert.match(run("tried-lr1e-4-uniform").command, /--lr 1e-4 --curriculum uniform$/);
  const shipped = JSON.parse(readFileSync(join(root, "data/checkpoints/grpo-default/summary.json"), "utf8")) as { command: string; metrics: Record<string, number> };
  assert.deepEqual(shipped.metrics, d);
  assert.equal(shipped.command, run("default").command);
});

test("re-running the recorded ci commands reproduces the metrics", { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-grpo-rerun-"));
  for (const name of ["ci", "r1-zero-ci"]) {
    const r = run(name);
    const args = r.command.replace(/^r1-lab /, "").split(" ");
    args[args.indexOf("--out") + 1] = join(dir, name);
    await promisify(execFile)("node", [join(root, "bin/r1-lab.js"), ...args], { maxBuffer: 1 << 24, cwd: root });
    const summary = JSON.parse(readFileSync(join(dir, name, "summary.json"), "utf8")) as { metrics: Record<string, number> };
    for (const [k, v] of Object.entries(r.metrics)) {
      const got = summary.metrics[k]!;
      assert.ok(Math.abs(got - v) <= 1e-3 * Math.max(1, Math.abs(v)), `${name} ${k}: recorded ${v}, re-run ${got}`);
    }
  }
});
