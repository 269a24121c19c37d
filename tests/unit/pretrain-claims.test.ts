// The Pretrain page's "what to notice" lines, asserted on what they describe: the
// recorded default run (data/checkpoints/pretrain-default/metrics.jsonl, made by the
// command in its summary.json; re-recording it re-checks the claims), the shipped
// base model's attention, and one step from that checkpoint. The page prints the
// numbers from the same functions (src/harness/jobs/pretrain-claims.ts).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { GPT } from "../../src/nn/gpt.js";
import { loadModelTensors } from "../../src/train/checkpoint.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { BOS_ID, encode, vocabSize } from "../../src/tasks/index.js";
import { JOBS } from "../../src/harness/registry.js";
import type { MetricRecord } from "../../src/harness/jobs.js";
import { PRETRAIN_JOB_PRESETS } from "../../src/harness/jobs/pretrain.js";
import { previousTokenStats, recordedRunFacts, topKeys, type Curve } from "../../src/harness/jobs/pretrain-claims.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CK = join(ROOT, "data", "checkpoints", "pretrain-default");
const shipped = existsSync(join(CK, "model.safetensors")) ? false : "the shipped checkpoint is not in this checkout";

function recorded(): { loss: [number, number][]; val: [number, number][]; summary: { metrics: Record<string, number> } } {
  const loss: [number, number][] = [];
  const val: [number, number][] = [];
  for (const line of readFileSync(join(CK, "metrics.jsonl"), "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { step: number; loss: number; val_loss?: number };
    loss.push([r.step + 1, r.loss]); // as the page's data loader counts them
    if (typeof r.val_loss === "number") val.push([r.step + 1, r.val_loss]);
  }
  return { loss, val, summary: JSON.parse(readFileSync(join(CK, "summary.json"), "utf8")) };
}

describe("the Pretrain page's notes on the recorded default run", { skip: shipped }, () => {
  const { loss, val, summary } = recorded();
  const facts = recordedRunFacts(loss as Curve, val as Curve, summary.metrics["unigram_val_loss"]!);

  test("the first loss is near ln V (random weights spread probability evenly)", () => {
    assert.ok(Math.abs(facts.firstLoss - Math.log(vocabSize)) < 0.15, `first loss ${facts.firstLoss} vs ln ${vocabSize} = ${Math.log(vocabSize)}`);
  });
  test("it crosses the unigram baseline after a few dozen steps", () => {
    assert.ok(facts.crossesUnigramAt !== null && facts.crossesUnigramAt >= 10 && facts.crossesUnigramAt <= 100, `crosses at step ${facts.crossesUnigramAt}`);
  });
  test("validation tracks training: it falls at every evaluation and ends close to the training loss", () => {
    assert.ok(facts.valFallsEveryEval, `validation losses: ${val.map(([, v]) => v.toFixed(3)).join(", ")}`);
    assert.ok(facts.finalGap >= 0 && facts.finalGap < 0.15, `final gap ${facts.finalGap}`);
  });
  test("the steepest fall comes in the first 100 steps", () => {
    assert.ok(facts.firstDrop > 2 && facts.firstDrop > 3 * facts.maxLaterDrop, `first ${facts.firstDrop}, later at most ${facts.maxLaterDrop}`);
  });
  test("the base model cannot yet work sums out: its held-out direct score is low (the page quotes it)", () => {
    const results = JSON.parse(readFileSync(join(ROOT, "data", "results", "pretrain.json"), "utf8")) as { runs: { name: string; metrics: Record<string, number> }[] };
    const def = results.runs.find((r) => r.name === "default");
    assert.ok(def, "data/results/pretrain.json records the default run");
    assert.ok(def.metrics["heldout_accuracy"]! <= 0.1, `heldout_accuracy ${def.metrics["heldout_accuracy"]}`);
  });
});

describe("the shipped model's attention, as the page describes it", { skip: shipped }, () => {
  const PROMPT = "To add 47 and 38: ones: 7 plus 8 is 15, write 5"; // the page's default prompt
  async function maps(): Promise<{ T: number; heads: (layer: number, head: number) => Float32Array }> {
    const config = JSON.parse(readFileSync(join(CK, "config.json"), "utf8")).model;
    const engine = new Engine(new CpuBackend());
    const model = new GPT(engine, config, 0);
    loadModelTensors(model, decodeSafetensors(readFileSync(join(CK, "model.safetensors"))).tensors);
    const ids = [BOS_ID, ...encode(PROMPT)];
    const T = ids.length;
    const layers = await engine.scope(async () => {
      const out: Float32Array[] = [];
      for (const t of model.attentionMaps(engine.tensor(ids, [1, T], "i32"))) out.push(Float32Array.from(await t.data()));
      return out;
    });
    return { T, heads: (l, h) => layers[l]!.subarray(h * T * T, (h + 1) * T * T) };
  }
  // positions in [BOS, ...characters]
  const pos = (needle: string, offset = 0) => PROMPT.indexOf(needle) + offset + 1;

  test("layer 2: at the space after \"ones:\", head 2 puts almost all its weight on the 7 of 47, head 1 on the 3 and 8 of 38", async () => {
    const { T, heads } = await maps();
    const q = pos("ones:", 5);
    assert.equal(PROMPT[q - 1], " ");
    const h2 = heads(2, 2);
    assert.deepEqual(topKeys(h2, T, q, 1), [pos("47", 1)]);
    assert.ok(h2[q * T + pos("47", 1)]! > 0.8, `head 2's weight on the 7: ${h2[q * T + pos("47", 1)]}`);
    assert.deepEqual(new Set(topKeys(heads(2, 1), T, q, 2)), new Set([pos("38"), pos("38", 1)]));
  });

  test("layer 1's heads 2 and 3 lean to the previous token more than any other head, but it is their strongest look in fewer than half the rows", async () => {
    const { T, heads } = await maps();
    const stats = [0, 1, 2].flatMap((l) => [0, 1, 2, 3].map((h) => ({ l, h, ...previousTokenStats(heads(l, h), T) })));
    const others = stats.filter((s) => !(s.l === 1 && (s.h === 2 || s.h === 3)));
    for (const h of [2, 3]) {
      const s = stats.find((x) => x.l === 1 && x.h === h)!;
      assert.ok(s.meanWeight > 0.25, `layer 1 head ${h}: mean weight on the previous token ${s.meanWeight}`);
      assert.ok(others.every((o) => o.meanWeight < s.meanWeight), `layer 1 head ${h} leans to it more than every other head`);
      assert.ok(s.argmaxRows < s.rows / 2, `layer 1 head ${h}: strongest look in ${s.argmaxRows} of ${s.rows} rows`);
    }
  });
});

describe("the \"from the checkpoint\" experiment", { skip: shipped }, () => {
  test("its first loss is within 0.15 of the recorded run's last", { timeout: 60_000 }, async () => {
    const bytes = readFileSync(join(CK, "model.safetensors"));
    const config = { ...PRETRAIN_JOB_PRESETS["from the checkpoint"]!, steps: 1, sampleEvery: 0, heldoutQuestions: 0,
      checkpointUrl: `data:application/octet-stream;base64,${bytes.toString("base64")}` };
    const records: MetricRecord[] = [];
    for await (const r of JOBS["pretrain"]!.run(config, new CpuBackend())) records.push(r);
    const last = recorded().loss.at(-1)![1];
    assert.ok(Math.abs(records[0]!.loss - last) < 0.15, `first loss ${records[0]!.loss}, recorded last ${last}`);
  });
});
