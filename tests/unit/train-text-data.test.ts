// The pretraining validation loss reads the whole validation stream, every target once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadTextbook, validationBatches, validationTokens } from "../../src/train/text-data.js";
import { PRETRAIN_PRESETS } from "../../src/train/presets.js";

test("validation batches predict every token of the stream exactly once, in order", () => {
  const stream = Int32Array.from({ length: 103 }, (_, i) => i);
  const batches = validationBatches(stream, 4, 10, 100); // 102 targets: 10 windows of 10, then a tail of 2
  assert.equal(validationTokens(batches), 102);
  assert.deepEqual(batches.map((b) => [b.rows, b.T]), [[4, 10], [4, 10], [2, 10], [1, 2]]);
  const targets = batches.flatMap((b) => Array.from(b.targets));
  assert.deepEqual(targets, Array.from({ length: 102 }, (_, i) => i + 1));
  const ids = batches.flatMap((b) => Array.from(b.ids));
  assert.deepEqual(ids, Array.from({ length: 102 }, (_, i) => i));
  assert.equal(validationBatches(stream, 4, 10, 2).length, 2, "a cap still cuts it short");
});

test("the pretrain presets' validation covers the whole validation stream", () => {
  const { val } = loadTextbook();
  for (const [name, p] of Object.entries(PRETRAIN_PRESETS)) {
    const batches = validationBatches(val, p.batchSize, p.seqLen, p.evalBatches);
    assert.equal(validationTokens(batches), val.length - 1, `${name}: ${batches.length} batches`);
  }
});
