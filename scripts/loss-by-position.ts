// Loss of a trained model by position in its context window, on the textbook's
// validation stream: shows whether the model has learned to use positions beyond
// the windows it was trained on.
//
//   node --import tsx scripts/loss-by-position.ts --from data/checkpoints/pretrain-default --window 128 --bucket 32
//
// Prints one line per bucket of positions: the mean next-token loss (nats).
import { CpuBackend } from "../src/cpu/index.js";
import { readConfig, readModel } from "../src/io/run-record-node.js";
import { GPT, type GPTConfig } from "../src/nn/gpt.js";
import { Engine } from "../src/tensor/engine.js";
import { loadModelTensors } from "../src/train/checkpoint.js";
import { loadTextbook, validationBatches } from "../src/train/text-data.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const from = flag("from", "data/checkpoints/pretrain-default");
const cfg = ((await readConfig(from)) as { model: GPTConfig }).model;
const window = Number(flag("window", String(cfg.maxSeqLen)));
const bucket = Number(flag("bucket", "32"));
const backend = new CpuBackend();
const e = new Engine(backend);
const model = new GPT(e, cfg, 0);
loadModelTensors(model, (await readModel(from)).tensors);
const sums = new Float64Array(window);
let rows = 0;
for (const b of validationBatches(loadTextbook().val, 16, window, 1_000)) {
  if (b.T !== window) continue; // the short tail window has no far positions
  const losses = await e.noGrad(() => {
    const logits = model.forward(e.tensor(b.ids, [b.rows, b.T], "i32"));
    return e.crossEntropy(logits, e.tensor(b.targets, [b.rows * b.T], "i32"));
  }).data();
  for (let r = 0; r < b.rows; r++) for (let t = 0; t < window; t++) sums[t]! += losses[r * window + t]!;
  rows += b.rows;
}
console.log(`${from}: loss by position, ${rows} validation windows of ${window} tokens`);
for (let s = 0; s < window; s += bucket) {
  let total = 0;
  for (let t = s; t < Math.min(window, s + bucket); t++) total += sums[t]!;
  console.log(`positions ${String(s).padStart(3)}–${String(Math.min(window, s + bucket) - 1).padStart(3)}: ${(total / rows / Math.min(bucket, window - s)).toFixed(3)} nats`);
}
model.dispose();
backend.destroy();
