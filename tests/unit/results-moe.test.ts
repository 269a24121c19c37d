// data/results/moe.json is what the MoE lesson quotes: four ci pretraining runs made
// by the CLI (dense; MoE with no balancing, the auxiliary loss, the aux-loss-free
// bias). Its claims must hold for the recorded numbers, and re-running the recorded
// commands of the two runs the headline claim compares must give the same metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const root = join(import.meta.dirname, "../..");
interface Run {
  name: string;
  command: string;
  metrics: Record<string, number>;
  series: Record<string, [number, number][]>;
}
const results = JSON.parse(readFileSync(join(root, "data/results/moe.json"), "utf8")) as { runs: Run[]; claims: string[] };
const run = (name: string): Run => {
  const r = results.runs.find((x) => x.name === name);
  assert.ok(r, `a "${name}" run is recorded`);
  return r;
};
const meanOver = (r: Run, from: number, to: number) => {
  const v = r.series.load_imbalance!.filter(([s]) => s >= from && s < to).map(([, x]) => x);
  assert.equal(v.length, to - from, `${r.name}: load_imbalance recorded at every step ${from}–${to - 1}`);
  return v.reduce((a, b) => a + b, 0) / v.length;
};

test("moe.json: four ci runs made by the CLI on the CPU engine, each with its command", () => {
  const flags: Record<string, RegExp> = {
    dense: /^r1-lab train pretrain --preset ci --seed 1 --backend cpu /,
    none: /^r1-lab train pretrain --preset ci --mlp moe --balance none --seed 1 --backend cpu /,
    aux: /^r1-lab train pretrain --preset ci --mlp moe --balance aux --seed 1 --backend cpu /,
    bias: /^r1-lab train pretrain --preset ci --mlp moe --balance bias --seed 1 --backend cpu /,
  };
  for (const [name, re] of Object.entries(flags)) {
    const r = run(name);
    assert.match(r.command, re, name);
    for (const k of ["val_loss", "flops_per_token", "params", "active_params"]) assert.equal(typeof r.metrics[k], "number", `${name}: ${k}`);
    if (name !== "dense") assert.equal(typeof r.metrics.load_imbalance, "number", `${name}: load_imbalance`);
    assert.equal(r.series.loss!.length, r.metrics.steps, `${name}: a loss per step`);
  }
  assert.equal(results.claims.length, 5);
});

test("claim: the aux-loss-free bias brings load_imbalance below 0.8× the unbalanced run's; the balance loss lowers it less", () => {
  const [none, aux, bias] = ["none", "aux", "bias"].map((n) => run(n).metrics.load_imbalance!);
  assert.ok(bias! < 0.8 * none!, `bias ${bias} vs 0.8 × none ${none}`);
  assert.ok(aux! < none!, `aux ${aux} < none ${none}`);
  assert.ok(bias! < aux!, `bias ${bias} < aux ${aux}`);
  // the summary's number is the mean of the last 50 steps of the recorded series
  for (const n of ["none", "aux", "bias"]) {
    const r = run(n);
    assert.ok(Math.abs(meanOver(r, 250, 300) - r.metrics.load_imbalance!) < 1e-3, `${n}: load_imbalance = mean of steps 250–299`);
  }
  assert.match(results.claims[0]!, new RegExp(`ci: ${bias!.toFixed(2)} vs ${none!.toFixed(2)}`));
  assert.match(results.claims[1]!, new RegExp(`ci: ${aux!.toFixed(2)}`));
});

test("claim: every MoE run collapses early, the unbalanced one the most; the bias run recovers first", () => {
  const [none, aux, bias] = ["none", "aux", "bias"].map(run);
  for (const r of [none, aux, bias]) {
    const early = Math.max(...r!.series.load_imbalance!.filter(([s]) => s < 100).map(([, x]) => x));
    assert.ok(early >= 2.6 && early <= 8 / 3 + 1e-4, `${r!.name}: max ÷ mean ${early} in the first 100 steps`);
  }
  const first = [none, aux, bias].map((r) => meanOver(r!, 0, 100));
  assert.ok(first[0]! > first[1]! && first[0]! > first[2]!, `steps 0–99: none ${first[0]} highest (aux ${first[1]}, bias ${first[2]})`);
  const second = [none, aux, bias].map((r) => meanOver(r!, 100, 200));
  assert.ok(second[2]! < second[1]! && second[2]! < second[0]!, `steps 100–199: bias ${second[2]} lowest (none ${second[0]}, aux ${second[1]})`);
  const quoted = `${first[0]!.toFixed(2)} vs ${first[1]!.toFixed(2)} aux, ${first[2]!.toFixed(2)} bias`;
  assert.ok(results.claims[2]!.includes(quoted), `the claim quotes ${quoted}`);
  assert.ok(results.claims[2]!.includes(`${second[2]!.toFixed(2)} vs ${second[0]!.toFixed(2)} none, ${second[1]!.toFixed(2)} aux`));
});

test("claim: at equal active parameters every MoE run beats the dense model's val_loss, with ~the same FLOPs per token", () => {
  const dense = run("dense").metrics;
  for (const n of ["none", "aux", "bias"]) {
    const m = run(n).metrics;
    assert.ok(m.val_loss! < dense.val_loss!, `${n}: val_loss ${m.val_loss} < dense ${dense.val_loss}`);
    assert.equal(m.active_params! - dense.active_params!, 512, "the routers: 2 layers × 32 × 8");
    assert.ok(m.params! > 1.7 * dense.params!, `${n} holds ${m.params} parameters`);
    assert.ok(m.flops_per_token! / dense.flops_per_token! < 1.02, `${n}: FLOPs per token ${m.flops_per_token} vs ${dense.flops_per_token}`);
  }
  assert.ok(results.claims[3]!.includes(String(run("bias").metrics.flops_per_token).replace(/(\d)(?=(\d{3})+$)/g, "$1,")));
});

test("claim: at the default size the bias balances the experts, but the MoE model's val_loss is above the dense default model's", () => {
  const moe = run("default");
  assert.match(moe.command, /^r1-lab train pretrain --preset default --mlp moe --balance bias --dispatch sparse --seed 1 --backend cpu /);
  const pretrain = JSON.parse(readFileSync(join(root, "data/results/pretrain.json"), "utf8")) as { runs: Run[] };
  const dense = pretrain.runs.find((r) => r.name === "default")!;
  assert.match(dense.command, /--preset default --seed 1 --backend cpu /);
  assert.ok(moe.metrics.load_imbalance! < 1.2, `balanced: ${moe.metrics.load_imbalance}`);
  assert.ok(moe.metrics.val_loss! > dense.metrics.val_loss!, `MoE ${moe.metrics.val_loss} vs dense ${dense.metrics.val_loss}`);
  assert.equal(moe.metrics.active_params! - (dense as Run & { params: number }).params, 3 * 64 * 8, "equal active parameters but for the routers");
  assert.ok(results.claims[4]!.includes(`load_imbalance ${moe.metrics.load_imbalance!.toFixed(2)}`));
  assert.ok(results.claims[4]!.includes(`(${moe.metrics.val_loss} vs ${dense.metrics.val_loss}, data/results/pretrain.json`));
});

test("re-running the recorded none and bias commands reproduces their metrics", async () => {
  for (const name of ["none", "bias"]) {
    const r = run(name);
    const out = mkdtempSync(join(tmpdir(), "r1lab-moe-rerun-"));
    const args = r.command.replace(/^r1-lab /, "").split(" ");
    args[args.indexOf("--out") + 1] = out;
    await promisify(execFile)("node", [join(root, "bin/r1-lab.js"), ...args], { maxBuffer: 1 << 24 });
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { metrics: Record<string, number> };
    for (const [k, v] of Object.entries(r.metrics)) {
      const got = summary.metrics[k]!;
      assert.ok(Math.abs(got - v) <= 1e-3 * Math.max(1, Math.abs(v)), `${name} ${k}: recorded ${v}, re-run ${got}`);
    }
  }
});

// ---- data/results/moe-dispatch.json: dense vs sparse dispatch (scripts/bench-moe.ts) ----

interface DispatchEntry {
  command: string; backend: string; preset: string;
  dense: { ms_per_step: number; flops_per_token: number };
  sparse: { ms_per_step: number; flops_per_token: number };
  speedup: number;
}
interface DispatchRun {
  name: string; command: string; backend: string; preset: string;
  metrics: { dense_ms_per_step: number; sparse_ms_per_step: number; dense_flops_per_token: number; sparse_flops_per_token: number; speedup: number };
}
const dispatchFile = JSON.parse(readFileSync(join(root, "data/results/moe-dispatch.json"), "utf8")) as { runs: DispatchRun[]; claims: string[] };
// the same numbers, keyed by run name, in the dense/sparse shape the assertions read
const dispatch = {
  claims: dispatchFile.claims,
  ...Object.fromEntries(dispatchFile.runs.map((r) => [r.name, {
    command: r.command, backend: r.backend, preset: r.preset, speedup: r.metrics.speedup,
    dense: { ms_per_step: r.metrics.dense_ms_per_step, flops_per_token: r.metrics.dense_flops_per_token },
    sparse: { ms_per_step: r.metrics.sparse_ms_per_step, flops_per_token: r.metrics.sparse_flops_per_token },
  } satisfies DispatchEntry])),
} as Record<string, DispatchEntry> & { claims: string[] };

test("moe-dispatch.json has the results shape: {runs: [{name, command, metrics}], claims}", () => {
  for (const r of dispatchFile.runs) for (const k of ["name", "command", "metrics"] as const) assert.ok(r[k], `${r.name}: ${k}`);
  assert.ok(Array.isArray(dispatchFile.claims) && dispatchFile.claims.length > 0);
});

test("moe-dispatch.json: FLOPs per token are the model's own counts; speedups are dense ÷ sparse time; the claims quote the recorded numbers", async () => {
  const { GPT } = await import("../../src/nn/gpt.js");
  const { CpuBackend } = await import("../../src/cpu/index.js");
  const { Engine } = await import("../../src/tensor/engine.js");
  const { moeVariant, pretrainPreset } = await import("../../src/train/presets.js");
  const entries = Object.entries(dispatch).filter(([k]) => k !== "claims") as [string, DispatchEntry][];
  assert.deepEqual(entries.map(([k]) => k).sort(), ["cpu-ci", "cpu-default", "webgpu-ci"]);
  for (const [key, r] of entries) {
    assert.match(r.command, new RegExp(`^node --import tsx scripts/bench-moe.ts --backend ${r.backend === "webgpu" ? "webgpu" : "cpu"} --preset ${r.preset} `), key);
    const config = moeVariant(pretrainPreset(r.preset), "bias");
    const model = new GPT(new Engine(new CpuBackend()), config.model, 1);
    assert.equal(r.sparse.flops_per_token, model.dispatchFlopsPerToken(config.seqLen, "sparse"), `${key}: sparse FLOPs`);
    assert.equal(r.dense.flops_per_token, model.dispatchFlopsPerToken(config.seqLen, "dense"), `${key}: dense FLOPs`);
    assert.ok(r.sparse.flops_per_token < r.dense.flops_per_token);
    assert.ok(Math.abs(r.speedup - r.dense.ms_per_step / r.sparse.ms_per_step) < 0.01, `${key}: speedup`);
    model.dispose();
  }
  const [c, d, w] = [dispatch["cpu-ci"]!, dispatch["cpu-default"]!, dispatch["webgpu-ci"]!];
  assert.ok(c.speedup > 1 && d.speedup > 1, "claim: sparse is faster on the CPU engine");
  assert.ok(w.speedup < 1, "claim: sparse is slower on SwiftShader");
  const share = Math.round(100 * (1 - c.sparse.flops_per_token / c.dense.flops_per_token));
  assert.ok(dispatch.claims[0]!.startsWith(`Sparse dispatch runs ${share}% fewer`));
  assert.ok(dispatch.claims[1]!.includes(`${c.sparse.ms_per_step} vs ${c.dense.ms_per_step} ms at ci size (${c.speedup}×)`));
  assert.ok(dispatch.claims[1]!.includes(`${d.sparse.ms_per_step} vs ${d.dense.ms_per_step} ms at default size (${d.speedup}×)`));
  assert.ok(dispatch.claims[2]!.includes(`${w.sparse.ms_per_step} vs ${w.dense.ms_per_step} ms per step (${w.speedup}×)`));
});
