// SFT: the completion-only loss mask, padding that never leaks between examples,
// the epoch order of batches, and a resumed SftRun equal to an uninterrupted one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { Engine } from "../../src/tensor/engine.js";
import { modelTensors } from "../../src/train/checkpoint.js";
import { batchIndices, exampleFromTrace, padBatch } from "../../src/train/sft-data.js";
import { SftRun, type SftConfig, type SftRecord } from "../../src/train/sft.js";
import { EOS_ID, PAD_ID, decode, formatPrompt, problemFromQuestion, traceCompletion, vocabSize } from "../../src/tasks/index.js";

const tiny: GPTConfig = { vocabSize, dModel: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, dFF: 32, maxSeqLen: 64, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 };

function example(question: string) {
  const p = problemFromQuestion(question);
  return { prompt: formatPrompt(question), completion: traceCompletion(p, "steps") };
}

test("the loss mask covers exactly the completion's tokens, EOS included, prompt and padding excluded", () => {
  const short = example("12+34");
  const long = example("37+48-19");
  const batch = padBatch([exampleFromTrace(short), exampleFromTrace(long)]);
  const rows = [short, long];
  let total = 0;
  rows.forEach((x, b) => {
    const row = (a: ArrayLike<number>) => Array.from(a).slice(b * batch.T, (b + 1) * batch.T);
    const targets = row(batch.targets);
    const mask = row(batch.mask);
    const counted = targets.filter((_, t) => mask[t] === 1);
    assert.equal(decode(counted), x.completion + "<eos>", "masked-in targets spell the completion and EOS");
    const first = mask.indexOf(1);
    assert.equal(decode(targets.slice(0, first)), x.prompt, "the targets before it are the prompt (after BOS)");
    assert.ok(targets.slice(first + counted.length).every((id) => id === PAD_ID), "what follows EOS is padding");
    assert.ok(mask.slice(first + counted.length).every((m) => m === 0), "padding is masked out");
    assert.equal(counted.at(-1), EOS_ID);
    total += counted.length;
  });
  assert.equal(batch.count, total);
  assert.equal(batch.T, exampleFromTrace(long).ids.length - 1, "padded to the longest example");
});

test("padding never lets attention cross examples: each row's logits equal the example run alone", async () => {
  const backend = new CpuBackend();
  const e = new Engine(backend);
  const model = new GPT(e, tiny, 5);
  const xs = ["12+34", "37+48-19", "90-45"].map((q) => exampleFromTrace(example(q)));
  const batch = padBatch(xs);
  const V = vocabSize;
  const batched = await e.noGrad(() => model.forward(e.tensor(batch.ids, [batch.B, batch.T], "i32"))).data();
  for (let b = 0; b < xs.length; b++) {
    const alone = padBatch([xs[b]!]);
    const own = await e.noGrad(() => model.forward(e.tensor(alone.ids, [1, alone.T], "i32"))).data();
    for (let t = 0; t < alone.T; t++) {
      for (let v = 0; v < V; v++) {
        const got = batched[(b * batch.T + t) * V + v]!;
        const want = own[t * V + v]!;
        assert.ok(Math.abs(got - want) < 1e-4, `row ${b} position ${t}: ${got} vs ${want}`);
      }
    }
  }
  // and the batch loss is the token-weighted mean of the rows' own losses
  const lossOf = async (bt: ReturnType<typeof padBatch>) =>
    e.noGrad(() => model.loss(e.tensor(bt.ids, [bt.B, bt.T], "i32"), e.tensor(bt.targets, [bt.B, bt.T], "i32"), e.tensor(bt.mask, [bt.B, bt.T], "f32"), bt.count)).item();
  let weighted = 0;
  for (const x of xs) {
    const one = padBatch([x]);
    weighted += (await lossOf(one)) * one.count;
  }
  assert.ok(Math.abs((await lossOf(batch)) - weighted / batch.count) < 1e-4);
  model.dispose();
  backend.destroy();
});

test("batches read the data in seeded epochs: every example once per epoch, the same for the same seed", () => {
  const n = 10;
  const B = 4;
  const firstEpoch = [0, 1].flatMap((s) => batchIndices(n, B, 7, s)).concat(batchIndices(n, B, 7, 2).slice(0, 2));
  assert.deepEqual([...firstEpoch].sort((a, b) => a - b), [...Array(n).keys()]);
  assert.deepEqual(batchIndices(n, B, 7, 5), batchIndices(n, B, 7, 5));
  assert.notDeepEqual([0, 1, 2].map((s) => batchIndices(n, B, 7, s)), [0, 1, 2].map((s) => batchIndices(n, B, 8, s)));
});

const config: SftConfig = {
  granularity: "steps", perLevel: [24, 8], dataSeed: 1, valPerLevel: 4,
  batchSize: 4, steps: 6, lr: 3e-3, warmupSteps: 2, minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
  evalEvery: 3, evalProblemsPerLevel: 2,
};

test("an SftRun resumed from its checkpoint takes exactly the steps of an uninterrupted one", async () => {
  const backend = new CpuBackend();
  const e = new Engine(backend);
  const base = new GPT(e, tiny, 9);
  const start = { model: await modelTensors(base), step: 0 };
  base.dispose();

  const whole = new SftRun(e, config, 2, tiny, start);
  const wholeRecords: SftRecord[] = [];
  while (!whole.done) wholeRecords.push(await whole.next());
  assert.equal(wholeRecords.length, 6);
  for (const k of ["val_loss", "heldout_accuracy", "format_rate"]) {
    assert.equal(typeof wholeRecords[2]![k], "number", `evaluation record has ${k}`);
    assert.equal(wholeRecords[1]![k], undefined);
  }
  assert.ok(wholeRecords[5]!.val_loss! < wholeRecords[2]!.val_loss! + 1, "finite and sane");

  const first = new SftRun(e, config, 2, tiny, start);
  for (let i = 0; i < 3; i++) await first.next();
  const saved = await first.checkpoint();
  first.dispose();
  const resumed = new SftRun(e, config, 2, tiny, { ...saved, step: 3 });
  const rest: SftRecord[] = [];
  while (!resumed.done) rest.push(await resumed.next());
  assert.deepEqual(rest.map((r) => r.step), [3, 4, 5]);
  rest.forEach((r, i) => {
    const w = wholeRecords[3 + i]!;
    assert.ok(Math.abs(r.loss - w.loss) < 1e-5, `step ${r.step}: ${r.loss} vs ${w.loss}`);
  });
  assert.ok(Math.abs(rest[2]!.val_loss! - wholeRecords[5]!.val_loss!) < 1e-5);
  whole.dispose();
  resumed.dispose();
  backend.destroy();
});

test("SftRun refuses a base whose context cannot hold the longest trace, saying which", async () => {
  const backend = new CpuBackend();
  const e = new Engine(backend);
  const base = new GPT(e, tiny, 9);
  const start = { model: await modelTensors(base), step: 0 };
  const columns: SftConfig = { ...config, granularity: "columns", perLevel: [0, 0, 5] };
  assert.throws(() => new SftRun(e, columns, 1, tiny, start), /147 tokens.*maxSeqLen\) is 64/);
  base.dispose();
  backend.destroy();
});
