// The Pretrain lesson's job (src/harness/jobs/pretrain.ts) in Node on the CPU engine:
// its ci preset yields the harness's records and the views the page draws (samples,
// weight snapshots, the run summary); its records are PretrainRun's (the CLI's loop);
// it starts from a checkpoint URL; it refuses bad shapes in the page's words. Also the
// page's size table against the real model, and the source excerpts the page shows.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend } from "../../src/cpu/index.js";
import { GPT } from "../../src/nn/gpt.js";
import { Engine } from "../../src/tensor/engine.js";
import { encodeSafetensors, type TensorMap } from "../../src/io/safetensors.js";
import { modelSpec } from "../../src/train/checkpoint.js";
import { PretrainRun } from "../../src/train/pretrain.js";
import { JOBS } from "../../src/harness/registry.js";
import { checkJobDef, validateConfig, type MetricRecord } from "../../src/harness/jobs.js";
import {
  PRETRAIN_JOB_PRESETS, SAMPLE_PROMPTS, gptConfig, pretrainConfig, pretrainJob, samplePrompts,
  type InfoView, type PretrainJobConfig, type SamplesView, type SummaryView, type WeightsView,
} from "../../src/harness/jobs/pretrain.js";
import { excerptFrom, excerptMethod, modelStats } from "../../docs/components/pretrain-ui.js";
import { excerpt } from "../../docs/components/source.js";
import { vocabSize } from "../../src/tasks/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const ci = PRETRAIN_JOB_PRESETS["ci"]!;

interface Collected {
  records: MetricRecord[];
  views: { name: string; payload: unknown }[];
}

async function collect(config: PretrainJobConfig, withContext = true): Promise<Collected> {
  const backend = new CpuBackend();
  const records: MetricRecord[] = [];
  const views: { name: string; payload: unknown }[] = [];
  try {
    const context = withContext ? { emit: (name: string, payload: unknown) => { views.push({ name, payload }); } } : undefined;
    for await (const r of pretrainJob.run(config, backend, context)) records.push(r);
  } finally {
    backend.destroy();
  }
  return { records, views };
}

const of = <T>(c: Collected, name: string): T[] => c.views.filter((v) => v.name === name).map((v) => v.payload as T);

describe("pretrain job", () => {
  test("is registered, and its presets are valid", () => {
    assert.equal(JOBS["pretrain"], pretrainJob);
    assert.deepEqual(checkJobDef(pretrainJob), []);
    // default is the CLI's default run, exactly
    const cfg = pretrainConfig(PRETRAIN_JOB_PRESETS["default"]!);
    assert.equal(cfg.steps, 1500);
    assert.equal(cfg.model.dModel, 64);
  });

  let run: Collected;
  test("the ci preset yields one record per step and the views the page draws", { timeout: 120_000 }, async () => {
    run = await collect(ci);
    const { records } = run;
    assert.equal(records.length, ci.steps);
    records.forEach((r, i) => {
      assert.equal(r.step, i + 1, "steps are counted from 1");
      for (const [k, v] of Object.entries(r)) assert.ok(typeof v === "number" && Number.isFinite(v), `${k} = ${String(v)}`);
      assert.deepEqual(Object.keys(r).filter((k) => k !== "val_loss").sort(), ["grad_norm", "loss", "lr", "ms_per_step", "step"]);
      assert.equal("val_loss" in r, r.step % ci.evalEvery === 0, `val_loss at step ${r.step}`);
    });
    assert.ok(records.at(-1)!.loss < records[0]!.loss - 0.3, `the loss falls: ${records[0]!.loss} → ${records.at(-1)!.loss}`);
    assert.ok(Math.abs(records[0]!.loss - Math.log(vocabSize)) < 0.1, "random weights start near ln(vocab)");

    // views: info first, samples + weights at 0 and every sampleEvery, summary at the end
    const names = run.views.map((v) => v.name);
    assert.equal(names[0], "info");
    assert.equal(names.at(-1), "summary");
    const info = of<InfoView>(run, "info")[0]!;
    const model = new GPT(new Engine(new CpuBackend()), gptConfig(ci), ci.seed);
    assert.equal(info.params, model.parameterCount());
    assert.equal(info.flopsPerToken, model.flopsPerToken(ci.seqLen));
    assert.equal(info.tokensPerStep, ci.batchSize * ci.seqLen);
    assert.ok(info.unigramValLoss > 3 && info.unigramValLoss < Math.log(vocabSize));

    const samples = of<SamplesView>(run, "samples");
    assert.deepEqual(samples.map((s) => s.step), [0, 10, 20]);
    for (const view of samples) {
      assert.equal(view.samples.length, SAMPLE_PROMPTS.length);
      view.samples.forEach((s, i) => {
        assert.equal(s.prompt, SAMPLE_PROMPTS[i]!.prompt);
        assert.ok(s.tokens.length > 0 && s.tokens.length <= ci.sampleTokens);
        assert.equal(s.probs.length, s.tokens.length);
        for (const p of s.probs) assert.ok(p > 0 && p <= 1, `probability ${p}`);
        assert.ok(s.matching >= 0 && s.matching <= s.expected.length);
      });
    }
    const weights = of<WeightsView>(run, "weights");
    assert.deepEqual(weights.map((w) => w.step), [0, 10, 20]);
    const spec = modelSpec(model);
    assert.deepEqual(Object.keys(weights[0]!.tensors).sort(), Object.keys(spec).sort());
    for (const [name, t] of Object.entries(weights.at(-1)!.tensors)) assert.deepEqual([...t.shape], [...spec[name]!.shape], name);

    const summary = of<SummaryView>(run, "summary");
    assert.equal(summary.length, 1);
    assert.equal(summary[0]!.steps, ci.steps);
    assert.equal(summary[0]!.val_loss, records.at(-1)!["val_loss"]);
    assert.equal(summary[0]!.heldout_total, ci.heldoutQuestions);
    assert.equal(summary[0]!.tokens_seen, ci.steps * ci.batchSize * ci.seqLen);
  });

  test("its records are PretrainRun's, the loop the CLI writes to metrics.jsonl (steps shifted by one)", { timeout: 60_000 }, async () => {
    const backend = new CpuBackend();
    const trainer = new PretrainRun(new Engine(backend), pretrainConfig(ci), ci.seed);
    try {
      for (const r of run.records) {
        const cli = await trainer.next();
        assert.equal(cli.step + 1, r.step);
        assert.equal(cli.loss, r.loss);
        assert.equal(cli.grad_norm, r["grad_norm"]);
        assert.equal(cli.lr, r["lr"]);
        assert.equal(cli.val_loss, r["val_loss"]);
      }
    } finally {
      trainer.dispose();
      backend.destroy();
    }
  });

  test("it runs without a context, as the CLI and the contract tests call it", { timeout: 60_000 }, async () => {
    const quiet = await collect({ ...ci, steps: 3 }, false);
    assert.equal(quiet.records.length, 3);
  });

  test("it starts from a checkpoint URL, and refuses a missing or mismatched one with a clear message", { timeout: 60_000 }, async () => {
    const trained = of<WeightsView>(run, "weights").at(-1)!.tensors;
    const url = (t: TensorMap) => `data:application/octet-stream;base64,${Buffer.from(encodeSafetensors(t)).toString("base64")}`;
    const resumed = await collect({ ...ci, init: "shipped checkpoint", checkpointUrl: url(trained), steps: 2, sampleEvery: 0, heldoutQuestions: 0 });
    const scratchFirst = run.records[0]!.loss;
    const lastTrained = run.records.at(-1)!.loss;
    assert.ok(resumed.records[0]!.loss < scratchFirst - 0.4, `first loss from the checkpoint ${resumed.records[0]!.loss} vs ${scratchFirst} from scratch`);
    assert.ok(Math.abs(resumed.records[0]!.loss - lastTrained) < 0.3, `it continues where the run ended (${lastTrained})`);

    const wrong = structuredClone(trained);
    delete wrong["norm.weight"];
    await assert.rejects(collect({ ...ci, init: "shipped checkpoint", checkpointUrl: url(wrong), steps: 1 }), /missing tensor "norm\.weight"/);
    await assert.rejects(collect({ ...ci, init: "shipped checkpoint", checkpointUrl: "", steps: 1 }), /no shipped checkpoint/);
    await assert.rejects(collect({ ...ci, init: "shipped checkpoint", checkpointUrl: "data:application/octet-stream;base64,", steps: 1 }), /not part of this build/);
  });

  test("samples of prompts of different lengths, taken in one batch, are each what the prompt gives alone", { timeout: 60_000 }, async () => {
    const engine = new Engine(new CpuBackend());
    const model = new GPT(engine, gptConfig(ci), 3);
    const prompts = [{ prompt: "12+3", expected: "4=15." }, { prompt: "To add 158 and 267: ones:", expected: "" }];
    const together = await samplePrompts(model, 12, prompts);
    for (let i = 0; i < prompts.length; i++) {
      const [alone] = await samplePrompts(model, 12, [prompts[i]!]);
      assert.deepEqual(together[i]!.tokens, alone!.tokens, `prompt ${i}`);
      assert.ok(together[i]!.probs.every((p, k) => Math.abs(p - alone!.probs[k]!) < 1e-5), `prompt ${i}: token probabilities`);
    }
    model.dispose();
  });

  test("bad shapes are refused in the page's words", () => {
    const base = PRETRAIN_JOB_PRESETS["default"]!;
    const cases: [Partial<Record<string, unknown>>, RegExp][] = [
      [{ nHeads: 3 }, /d_model \(64\) must be divisible by heads \(3\)/],
      [{ nKvHeads: 3 }, /heads \(4\) must be a multiple of KV heads \(3\)/],
      [{ dModel: 36, nHeads: 4 }, /head size d_model\/heads = 9 must be even/],
      [{ nKvHeads: 8, nHeads: 4 }, /heads \(4\) must be a multiple of KV heads \(8\)/],
      [{ batchSize: 200, seqLen: 100 }, /batch × context is 20000 tokens per step/],
      [{ init: "shipped checkpoint", dModel: 32 }, /the shipped checkpoint is d_model 64, 3 layers, 4 heads, 2 KV heads, d_ff 160, tied head/],
      [{ init: "from memory" }, /start from must be one of scratch, shipped checkpoint/],
      [{ lr: "fast" }, /learning rate must be a number/],
      [{ tiedHead: "maybe" }, /tied head must be true or false/],
    ];
    for (const [change, message] of cases) {
      const r = validateConfig(pretrainJob, { ...base, ...change });
      assert.equal(r.ok, false, JSON.stringify(change));
      if (!r.ok) assert.match(r.errors.map((e) => e.message).join("; "), message);
    }
    assert.ok(validateConfig(pretrainJob, { ...base, nKvHeads: 1 }).ok, "MQA is fine");
    assert.ok(validateConfig(pretrainJob, { ...base, nKvHeads: 4 }).ok, "MHA is fine");
  });
});

describe("the Pretrain page's pieces", () => {
  test("the size table's parameter count and FLOPs equal the real model's", () => {
    const backend = new CpuBackend();
    const engine = new Engine(backend);
    const configs: PretrainJobConfig[] = [
      PRETRAIN_JOB_PRESETS["default"]!, ci,
      { ...ci, nKvHeads: 1 }, { ...ci, nKvHeads: 4 }, { ...ci, tiedHead: false, dFF: 50, nLayers: 3, seqLen: 17 },
    ];
    for (const c of configs) {
      const model = new GPT(engine, gptConfig(c), 1);
      const s = modelStats({ ...c, vocabSize });
      assert.equal(s.params, model.parameterCount(), JSON.stringify(c));
      assert.equal(s.flopsPerToken, model.flopsPerToken(c.seqLen));
      model.dispose();
    }
    backend.destroy();
  });

  test("every code excerpt the page shows is found in its source file", () => {
    const read = (p: string) => readFileSync(join(ROOT, "src", p), "utf8");
    const pieces: [string, string | null][] = [
      ["Block", excerptFrom(read("nn/gpt.ts"), /^export class Block /)],
      ["GPT.forward", excerptMethod(read("nn/gpt.ts"), /^export class GPT /, "forward")],
      ["attention forward", excerptMethod(read("nn/attention.ts"), /^export class CausalSelfAttention /, "forward")],
      ["ropeKernel", excerpt(read("cpu/reference/attention.ts"), "ropeKernel")],
      ["RMSNorm", excerptFrom(read("nn/layers.ts"), /^export class RMSNorm /)],
      ["SwiGLU", excerptFrom(read("nn/layers.ts"), /^export class SwiGLU /)],
      ["PretrainRun.next", excerptMethod(read("train/pretrain.ts"), /^export class PretrainRun /, "next")],
      ["randomBatch", excerpt(read("train/text-data.ts"), "randomBatch")],
      ["unigramLoss", excerpt(read("train/text-data.ts"), "unigramLoss")],
      ["learningRate", excerpt(read("optim/schedule.ts"), "learningRate")],
      ["runPretrain", excerptFrom(read("harness/jobs/pretrain.ts"), /^async function\* runPretrain\(/)],
    ];
    for (const [name, text] of pieces) {
      assert.ok(text && text.split("\n").length >= 3, `${name} excerpt`);
      assert.match(text!, /\}\s*$/, `${name} ends with its closing brace`);
    }
    assert.match(excerptMethod(read("nn/gpt.ts"), /^export class GPT /, "forward")!, /^\/\*\*\n \* ids i32/, "the GPT's forward, not the block's");
  });
});
