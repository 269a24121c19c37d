// data/results/test-time.json is what the Test-time compute lesson quotes: for each shipped
// model, pass@k and maj@k for k = 1…64 from one set of samples, thinking or not, and the
// thinking-budget sweep, each made by the recorded r1-lab eval command.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");
interface Run {
  name: string; command: string; metrics: Record<string, number>;
  budget: { budget: number; accuracy: number; forced_rate: number; mean_think_tokens: number }[];
  config: { ks: number[]; problemsPerLevel: number };
}
const results = JSON.parse(readFileSync(join(root, "data/results/test-time.json"), "utf8")) as { runs: Run[]; claims: string[] };

test("each recorded model carries the k sweep, thinking or not, and the budget sweep, with its command", () => {
  assert.deepEqual(results.runs.map((r) => r.name), ["sft", "grpo", "distilled student"], "the cold-start, RL and distilled models");
  assert.match(results.runs[2]!.command, /--from data\/checkpoints\/student-distill-default /);
  assert.ok(Array.isArray(results.claims), "the results shape: {runs: [{name, command, metrics}], claims}");
  for (const r of results.runs) {
    assert.match(r.command, /^r1-lab eval --from data\/checkpoints\/\S+ --levels 1-5 --k 1,2,4,8,16,32,64 --problems \d+ --budget [\d,]+ --backend cpu --json$/);
    assert.deepEqual(r.config.ks, [1, 2, 4, 8, 16, 32, 64]);
    for (const k of r.config.ks) for (const m of ["pass_at_", "maj_at_"]) assert.equal(typeof r.metrics[`${m}${k}`], "number", `${r.name}: ${m}${k}`);
    assert.deepEqual(r.budget.map((b) => b.budget), [0, 8, 16, 24, 32, 48, 64]);
  }
});

test("what the page says the runs show holds for the recorded numbers", () => {
  for (const r of results.runs.filter((x) => x.name === "sft" || x.name === "grpo")) {
    const o = r.metrics;
    assert.ok(o.maj_at_64! > o.pass_at_1!, `${r.name}: maj@64 ${o.maj_at_64} > pass@1 ${o.pass_at_1}`);
    assert.ok(o.heldout_accuracy! > o.heldout_accuracy_no_think! + 0.2, `${r.name}: thinking beats answering at once`);
    assert.ok(o.pass_at_64! >= o.pass_at_1!, "pass@k never falls with k");
    const b = r.budget;
    assert.equal(b[0]!.forced_rate, 1, "B = 0 cuts every thought");
    assert.equal(b[0]!.mean_think_tokens, 0);
    assert.ok(b[b.length - 1]!.accuracy > b[0]!.accuracy + 0.2, `${r.name}: accuracy rises with the budget`);
    assert.ok(Math.abs(b[b.length - 1]!.accuracy - o.heldout_accuracy!) < 0.02, "a budget longer than any thought matches free thinking");
  }
});
