// The MoE lesson's job (src/harness/jobs/moe.ts) in Node on the CPU engine: it is
// registered with valid presets; its default preset is the CLI run recorded in
// data/results/moe.json; the ci preset yields the loop's records with load_imbalance,
// a "load" view per step (tokens per expert per layer) and weights from which a
// typed prompt is routed, each token to k distinct experts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { checkJobDef, validateConfig, type MetricRecord } from "../../src/harness/jobs.js";
import { MOE_JOB_PRESETS, moeJob, moeJobPretrainConfig, type LoadView, type MoEInfoView, type MoEWeightsView } from "../../src/harness/jobs/moe.js";
import { JOBS } from "../../src/harness/registry.js";
import { loadModelTensors } from "../../src/train/checkpoint.js";
import { moeVariant, pretrainPreset } from "../../src/train/presets.js";
import { GPT } from "../../src/nn/gpt.js";
import { Engine } from "../../src/tensor/engine.js";
import { BOS_ID, encode } from "../../src/tasks/index.js";

test("the moe job is registered, its presets are valid, and its presets are the CLI's runs", () => {
  assert.equal(JOBS["moe"], moeJob);
  assert.deepEqual(checkJobDef(moeJob), []);
  // the default, no-balancing, balance-loss and dense presets are `r1-lab train pretrain --preset ci [--mlp moe --balance B]`
  const cli = (b?: "none" | "aux" | "bias") => ({ ...(b ? moeVariant(pretrainPreset("ci"), b) : pretrainPreset("ci")), heldoutQuestions: 0 });
  assert.deepEqual(moeJobPretrainConfig(MOE_JOB_PRESETS["default"]!), cli("bias"));
  assert.deepEqual(moeJobPretrainConfig(MOE_JOB_PRESETS["no balancing"]!), cli("none"));
  assert.deepEqual(moeJobPretrainConfig(MOE_JOB_PRESETS["balance loss"]!), cli("aux"));
  assert.deepEqual(moeJobPretrainConfig(MOE_JOB_PRESETS["dense model"]!), cli());
  const bad = validateConfig(moeJob, { ...MOE_JOB_PRESETS["ci"]!, topK: 9 });
  assert.equal(bad.ok, false);
  assert.match(JSON.stringify(bad), /experts per token \(9\) cannot exceed routed experts \(8\)/);
});

test("the ci preset: records with load_imbalance, a load view every step, weights that route a typed prompt", { timeout: 120_000 }, async () => {
  const backend = new CpuBackend();
  const records: MetricRecord[] = [];
  const views: { name: string; payload: unknown }[] = [];
  try {
    for await (const r of moeJob.run(MOE_JOB_PRESETS["ci"]!, backend, { emit: (name, payload) => void views.push({ name, payload }) })) records.push(r);
  } finally {
    backend.destroy();
  }
  assert.deepEqual(records.map((r) => r.step), [...Array(20).keys()].map((i) => i + 1));
  assert.ok(records.every((r) => typeof r.load_imbalance === "number" && r.load_imbalance >= 1 && r.load_imbalance <= 8 / 3 + 1e-9));
  assert.equal(typeof records[9]!.val_loss, "number");
  const info = views.find((v) => v.name === "info")!.payload as MoEInfoView;
  assert.ok(info.activeParams < info.params && info.flopsPerToken < info.denseDispatchFlopsPerToken);
  const loads = views.filter((v) => v.name === "load").map((v) => v.payload as LoadView);
  assert.deepEqual(loads.map((l) => l.step), records.map((r) => r.step));
  for (const l of loads) {
    assert.equal(l.loads.length, 2);
    for (const row of l.loads) assert.equal(row.reduce((a, b) => a + b, 0), 8 * 64 * 3, "every token counted k times");
  }
  const weights = views.filter((v) => v.name === "weights").map((v) => v.payload as MoEWeightsView);
  assert.deepEqual(weights.map((w) => w.step), [0, 10, 20]);
  // what the page does with the last snapshot: its own model on its own engine
  const e = new Engine(new CpuBackend());
  const last = weights.at(-1)!;
  const model = new GPT(e, last.config, 1);
  loadModelTensors(model, last.tensors);
  const ids = [BOS_ID, ...encode("47+38=85")];
  const routes = await model.routeTokens(e.tensor(ids, [1, ids.length], "i32"));
  assert.equal(routes.length, 2, "one list per MoE layer");
  for (const layer of routes) {
    assert.equal(layer.length, ids.length);
    for (const experts of layer) {
      assert.equal(new Set(experts).size, 3, "k distinct experts");
      assert.ok(experts.every((x) => Number.isInteger(x) && x >= 0 && x < 8));
    }
  }
  model.dispose();
});
