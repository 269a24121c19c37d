// data/results/rlhf.json is what the RLHF lesson quotes: the reward model's held-out
// accuracy, RL against it and against the rules (gold and proxy reward, KL), and DPO.
// The claims quote the recorded numbers, and the recorded ci commands (a chain: the
// rm run's reward model and pairs feed the others) reproduce their metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const root = join(import.meta.dirname, "../..");
interface Run { name: string; command: string; metrics: Record<string, number>; series?: Record<string, [number, number][]> }
const results = JSON.parse(readFileSync(join(root, "data/results/rlhf.json"), "utf8")) as { runs: Run[]; claims: string[] };
const run = (name: string): Run => {
  const r = results.runs.find((x) => x.name === name);
  assert.ok(r, `a "${name}" run is recorded`);
  return r;
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f3 = (x: number) => x.toFixed(3);
const PRESETS = ["ci", "default"] as const;

test("each preset records the reward model, RL against it and against the rules, and DPO, with the lesson's metrics", () => {
  for (const p of PRESETS) {
    const rm = run(`rm-${p}`).metrics;
    for (const k of ["rm_pair_accuracy", "rm_gold_accuracy", "pairs_train", "pairs_heldout"]) assert.equal(typeof rm[k], "number", `rm-${p}: ${k}`);
    for (const name of [`rlhf-rm-${p}`, `rlhf-rules-${p}`, `dpo-${p}`]) {
      const m = run(name).metrics;
      for (const k of ["gold_reward", "gold_reward_before", "proxy_reward", "kl"]) assert.equal(typeof m[k], "number", `${name}: ${k}`);
      assert.match(run(name).command, new RegExp(`--preset ${p} --seed 1 --backend cpu`));
    }
    assert.match(run(`rlhf-rm-${p}`).command, /--reward rm/);
    assert.match(run(`rlhf-rules-${p}`).command, /--reward rules/);
    for (const name of [`rlhf-rm-${p}`, `rlhf-rules-${p}`]) {
      const s = run(name).series!;
      for (const f of ["heldout_gold_reward", "heldout_proxy_reward", "heldout_kl"]) assert.ok((s[f]?.length ?? 0) >= 2, `${name}: ${f} over the run`);
    }
  }
});

test("the claims quote the recorded default numbers", () => {
  const claims = results.claims.join(" ");
  const rm = run("rm-default").metrics;
  assert.ok(claims.includes(pct(rm.rm_pair_accuracy!)), "the reward model's held-out accuracy");
  for (const name of ["rlhf-rm-default", "rlhf-rules-default", "dpo-default"]) {
    const m = run(name).metrics;
    assert.ok(claims.includes(`${f3(m.gold_reward_before!)} → ${f3(m.gold_reward!)}`), `${name}: gold reward before → after`);
    assert.ok(claims.includes(`KL ${f3(m.kl!)}`), `${name}: its KL`);
  }
  // the RL runs repeated with other seeds (same reward model): each one's gold reward is quoted
  for (const reward of ["rm", "rules"]) {
    for (const seed of [2, 3]) {
      const r = run(`rlhf-${reward}-default-seed${seed}`);
      assert.match(r.command, new RegExp(`--reward ${reward} --preset default --seed ${seed} `));
      assert.ok(claims.includes(`seed ${seed}: ${f3(r.metrics.gold_reward_before!)} → ${f3(r.metrics.gold_reward!)}`), `${r.name} is quoted`);
    }
  }
});

test("re-running the recorded ci commands reproduces the metrics", { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-rlhf-rerun-"));
  for (const name of ["rm-ci", "rlhf-rm-ci", "rlhf-rules-ci", "dpo-ci"]) {
    const r = run(name);
    // the chain reads the re-made reward model and pairs, not the recorded run's
    const args = r.command.replace(/^r1-lab /, "").replaceAll("runs/rm-ci", join(dir, "rm-ci")).split(" ");
    args[args.indexOf("--out") + 1] = join(dir, name);
    await promisify(execFile)("node", [join(root, "bin/r1-lab.js"), ...args], { maxBuffer: 1 << 24, cwd: root });
    const summary = JSON.parse(readFileSync(join(dir, name, "summary.json"), "utf8")) as { metrics: Record<string, number> };
    for (const [k, v] of Object.entries(r.metrics)) {
      const got = summary.metrics[k]!;
      assert.ok(Math.abs(got - v) <= 1e-3 * Math.max(1, Math.abs(v)), `${name} ${k}: recorded ${v}, re-run ${got}`);
    }
  }
});
