// r1-lab train pretrain --mlp moe --balance none|aux|bias: the MoE run record.
// metrics.jsonl carries each step's tokens per expert per layer and its max/mean
// load; summary.json the load imbalance over the last steps, FLOPs per token and
// (active) parameters; bad combinations of flags are refused in one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMBALANCE_WINDOW } from "../../src/cli/train.js";
import { cli } from "./helpers/cli.js";

interface Line { step: number; loss: number; load_imbalance?: number; expert_load?: number[][] }
const readLines = (dir: string): Line[] => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);
const readSummary = (dir: string) => JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as {
  command: string; params: number; flops_per_token: number; metrics: Record<string, number>;
};

test("train pretrain --mlp moe --balance bias: per-layer expert loads on every metrics line; load_imbalance, FLOPs and active parameters in the summary", async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-moe-"));
  const steps = IMBALANCE_WINDOW + 6; // more steps than the window, so the window matters
  const r = await cli(["train", "pretrain", "--preset", "ci", "--mlp", "moe", "--balance", "bias", "--backend", "cpu", "--steps", String(steps), "--out", dir, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = readLines(dir);
  assert.equal(lines.length, steps);
  for (const l of lines) {
    const load = l.expert_load!;
    assert.equal(load.length, 2, `step ${l.step}: one row per MoE layer`);
    for (const row of load) {
      assert.equal(row.length, 8, "8 routed experts");
      assert.equal(row.reduce((a, b) => a + b, 0), 8 * 64 * 3, "batch 8 × 64 tokens, k = 3 each");
    }
    const perLayer = load.map((row) => Math.max(...row) / (row.reduce((a, b) => a + b, 0) / row.length));
    assert.ok(Math.abs(l.load_imbalance! - (perLayer[0]! + perLayer[1]!) / 2) < 1e-9, `step ${l.step}: load_imbalance is the layers' mean max/mean`);
  }
  const s = readSummary(dir);
  assert.match(s.command, /--mlp moe --balance bias/);
  const tail = lines.slice(-IMBALANCE_WINDOW).map((l) => l.load_imbalance!);
  const want = tail.reduce((a, b) => a + b, 0) / tail.length;
  assert.ok(Math.abs(s.metrics.load_imbalance! - want) < 1e-4, `summary load_imbalance ${s.metrics.load_imbalance} = mean of the last ${IMBALANCE_WINDOW} steps' ${want}`);
  assert.ok(s.metrics.load_imbalance! >= 1, "max/mean ≥ 1");
  assert.equal(s.metrics.params, s.params);
  assert.ok(s.metrics.active_params! < s.metrics.params!, `a token uses fewer parameters than the model holds (${s.metrics.active_params} of ${s.metrics.params})`);
  assert.equal(s.metrics.flops_per_token, s.flops_per_token);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { balance: string; model: { mlp: { biasUpdateSpeed: number } } };
  assert.equal(config.balance, "bias");
  assert.ok(config.model.mlp.biasUpdateSpeed > 0, "the config records γ");
});

test("the MoE variant has the dense model's active parameters (up to its routers) and FLOPs; a dense run has no expert loads", async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-moe-"));
  const base = ["train", "pretrain", "--preset", "ci", "--backend", "cpu", "--steps", "2"];
  assert.equal((await cli([...base, "--out", join(dir, "dense")])).code, 0);
  assert.equal((await cli([...base, "--mlp", "moe", "--balance", "none", "--out", join(dir, "moe")])).code, 0);
  const dense = readSummary(join(dir, "dense"));
  const moe = readSummary(join(dir, "moe"));
  assert.equal(dense.metrics.load_imbalance, undefined);
  assert.equal(dense.metrics.active_params, dense.metrics.params);
  assert.ok(readLines(join(dir, "dense")).every((l) => l.expert_load === undefined && l.load_imbalance === undefined));
  // 2 MoE layers, each with a router of dModel 32 × 8 experts on top of the same active FFN width
  const routers = 2 * 32 * 8;
  assert.equal(moe.metrics.active_params, dense.metrics.params + routers);
  assert.equal(moe.metrics.flops_per_token, dense.metrics.flops_per_token + 2 * routers);
  // …while it holds 1 shared + 8 routed experts of width 16 per layer instead of one FFN of width 64
  assert.equal(moe.metrics.params, dense.metrics.params + 2 * (3 * 32 * 16 * 9 - 3 * 32 * 64) + routers);
});

test("--dispatch sparse trains the same model as dense dispatch, to float rounding", async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-moe-"));
  const base = ["train", "pretrain", "--preset", "ci", "--mlp", "moe", "--backend", "cpu", "--steps", "5"];
  assert.equal((await cli([...base, "--out", join(dir, "dense")])).code, 0);
  const r = await cli([...base, "--dispatch", "sparse", "--out", join(dir, "sparse")]);
  assert.equal(r.code, 0, r.stderr);
  const [d, s] = [readLines(join(dir, "dense")), readLines(join(dir, "sparse"))];
  s.forEach((l, i) => {
    assert.ok(Math.abs(l.loss - d[i]!.loss) < 1e-4, `step ${i}: loss ${l.loss} vs ${d[i]!.loss}`);
    assert.deepEqual(l.expert_load, d[i]!.expert_load, `step ${i}: the same routing`);
  });
  assert.match(readSummary(join(dir, "sparse")).command, /--dispatch sparse/);
});

test("bad MoE flags exit non-zero with a one-line reason", async () => {
  for (const args of [
    ["--balance", "bias"],
    ["--mlp", "sparse"],
    ["--mlp", "moe", "--balance", "both"],
    ["--dispatch", "sparse"],
    ["--mlp", "moe", "--dispatch", "scatter"],
  ]) {
    const r = await cli(["train", "pretrain", "--preset", "ci", "--backend", "cpu", "--out", "x", ...args]);
    assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
    const lines = r.stderr.split("\n").filter((l) => l && !l.includes("XDG_RUNTIME_DIR"));
    assert.equal(lines.length, 1, `${args.join(" ")}: one line, got ${JSON.stringify(lines)}`);
    assert.match(lines[0]!, /^r1-lab.*(--balance|--mlp|--dispatch)/);
  }
});
