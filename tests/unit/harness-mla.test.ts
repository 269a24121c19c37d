// The MLA lesson's job (src/harness/jobs/mla.ts) in Node on the CPU engine: it trains
// the four attention kinds side by side, each exactly as the CLI's ci run with
// --attention trains it; its info view counts each cache from the cache tensors; its
// decode view measures the bytes the engine holds for the cache while decoding.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { checkJobDef, validateConfig, type MetricRecord } from "../../src/harness/jobs.js";
import { MLA_JOB_PRESETS, mlaJob, type MlaDecodeView, type MlaInfoView } from "../../src/harness/jobs/mla.js";
import { JOBS } from "../../src/harness/registry.js";
import { PretrainRun } from "../../src/train/pretrain.js";
import { ATTENTION_KINDS, pretrainPreset, withAttention } from "../../src/train/presets.js";

test("the mla job is registered and its presets are valid", () => {
  assert.equal(JOBS["mla"], mlaJob);
  assert.deepEqual(checkJobDef(mlaJob), []);
  const bad = validateConfig(mlaJob, { ...MLA_JOB_PRESETS["ci"]!, evalEvery: 50 });
  assert.equal(bad.ok, false);
  assert.match(JSON.stringify(bad), /val every \(50\) must be at most the number of steps \(30\)/);
});

test("ci preset: four loss curves and validation points; caches counted from the tensors; bytes held while decoding match them", { timeout: 120_000 }, async () => {
  const backend = new CpuBackend();
  const records: MetricRecord[] = [];
  const views: { name: string; payload: unknown }[] = [];
  try {
    for await (const r of mlaJob.run(MLA_JOB_PRESETS["ci"]!, backend, { emit: (name, payload) => void views.push({ name, payload }) })) records.push(r);
  } finally {
    backend.destroy();
  }
  assert.equal(records.length, 30);
  for (const k of ATTENTION_KINDS) {
    assert.ok(records.every((r) => Number.isFinite(r[`loss_${k}`] as number)), `loss_${k} every step`);
    assert.deepEqual(records.filter((r) => r[`val_${k}`] !== undefined).map((r) => r.step), [10, 20, 30], `val_${k}`);
    assert.ok((records[29]![`loss_${k}`] as number) < (records[0]![`loss_${k}`] as number) - 0.5, `${k} learns`);
  }
  assert.equal(records[5]!.loss, records[5]!.loss_mla, "loss is MLA's");

  const info = views.find((v) => v.name === "info")!.payload as MlaInfoView;
  const by = Object.fromEntries(info.kinds.map((k) => [k.kind, k]));
  const dH = info.dModel / info.nHeads;
  assert.equal(by.mha!.cacheElementsPerTokenPerLayer, 2 * info.nHeads * dH);
  assert.equal(by.gqa!.cacheElementsPerTokenPerLayer, 2 * (info.nHeads / 2) * dH);
  assert.equal(by.mqa!.cacheElementsPerTokenPerLayer, 2 * dH);
  assert.equal(by.mla!.cacheElementsPerTokenPerLayer, 2 * dH + dH / 2, "d_c + d_h^R = 2·d_h + d_h/2");
  for (const k of info.kinds) assert.equal(k.cacheBytesPerToken, 4 * k.cacheElementsPerToken, `${k.kind}: float32`);

  const decode = views.find((v) => v.name === "decode")!.payload as MlaDecodeView;
  assert.deepEqual(decode.rows.map((r) => r.kind), [...ATTENTION_KINDS]);
  for (const r of decode.rows) {
    assert.ok(r.tokensPerS > 0, `${r.kind}: tokens/s`);
    assert.equal(r.bytesPerTokenWhileDecoding, by[r.kind]!.cacheBytesPerToken, `${r.kind}: bytes held while decoding = the cache tensors' bytes`);
  }
});

test("each curve is the CLI's run: the job's losses equal PretrainRun of `--preset ci --attention <kind>`", async () => {
  const steps = 4;
  const backend = new CpuBackend();
  try {
    const records: MetricRecord[] = [];
    for await (const r of mlaJob.run({ ...MLA_JOB_PRESETS["default"]!, steps, evalEvery: steps }, backend)) records.push(r);
    const e = new Engine(backend);
    for (const kind of ATTENTION_KINDS) {
      const cli = pretrainPreset("ci");
      const run = new PretrainRun(e, { ...cli, steps, model: withAttention(cli.model, kind) }, 1);
      for (let s = 0; s < steps; s++) assert.equal((await run.next()).loss, records[s]![`loss_${kind}`], `${kind}, step ${s + 1}`);
      run.dispose();
    }
  } finally {
    backend.destroy();
  }
});
