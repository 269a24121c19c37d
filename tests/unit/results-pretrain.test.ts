// data/results/pretrain.json is what the Pretrain lesson quotes. Its claims must
// hold for the recorded numbers, and re-running the recorded `ci` command (on
// SwiftShader in CI, the adapter it was recorded on) must give the same metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const root = join(import.meta.dirname, "../..");
interface Results { runs: { name: string; command: string; metrics: Record<string, number> }[]; claims: string[] }
const results = JSON.parse(readFileSync(join(root, "data/results/pretrain.json"), "utf8")) as Results;

test("recorded pretraining runs beat the unigram baseline by a wide margin", () => {
  for (const name of ["ci", "default"]) {
    const run = results.runs.find((r) => r.name === name);
    assert.ok(run, `a "${name}" run is recorded`);
    const m = run.metrics;
    assert.ok(m.val_loss! < 0.6 * m.unigram_val_loss!, `${name}: val_loss ${m.val_loss} vs unigram ${m.unigram_val_loss}`);
    assert.equal(typeof m.heldout_accuracy, "number");
  }
  assert.ok(results.claims.length > 0, "the lesson states its claims");
});

test("re-running the recorded ci command reproduces its metrics", async () => {
  const run = results.runs.find((r) => r.name === "ci")!;
  const out = mkdtempSync(join(tmpdir(), "r1lab-rerun-"));
  const args = run.command.replace(/^r1-lab /, "").split(" ");
  const o = args.indexOf("--out");
  args[o + 1] = out;
  await promisify(execFile)("node", [join(root, "bin/r1-lab.js"), ...args], { maxBuffer: 1 << 24 });
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { metrics: Record<string, number> };
  for (const [k, v] of Object.entries(run.metrics)) {
    const got = summary.metrics[k]!;
    assert.ok(Math.abs(got - v) <= 1e-3 * Math.max(1, Math.abs(v)), `${k}: recorded ${v}, re-run ${got}`);
  }
});
