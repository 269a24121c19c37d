// Decode tokens/s of an MLA GPT with its cache (absorbed path), next to MHA/GQA/MQA
// GPTs of the same width, on one engine. Random weights: speed does not depend on them.
// Run:
//   node --import tsx bench/mla-decode.ts [--backend cpu|webgpu] [--repeats 3] [--json PATH]
// Two shapes: the `default` pretrain model's (d 64, 3 layers, context 128) and a wider,
// longer one (d 256, 4 layers, context 512) where the cache is a larger share of the work.
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { GPT, type GPTConfig } from "../src/nn/gpt.js";
import { measureCacheSize, measureDecodeSpeed } from "../src/sample/decode-speed.js";
import { Engine } from "../src/tensor/engine.js";
import { createBackend } from "../src/tensor/create.js";

const SMALL: GPTConfig = {
  vocabSize: 32, dModel: 64, nLayers: 3, nHeads: 4, nKvHeads: 4, dFF: 160, maxSeqLen: 128, ropeTheta: 10000, tiedHead: true, normEps: 1e-5,
};
const WIDE: GPTConfig = { ...SMALL, dModel: 256, nLayers: 4, nHeads: 8, nKvHeads: 8, dFF: 512, maxSeqLen: 512 };

const KINDS: [string, (c: GPTConfig) => GPTConfig][] = [
  ["MHA", (c) => c],
  ["GQA", (c) => ({ ...c, nKvHeads: c.nHeads / 2 })],
  ["MQA", (c) => ({ ...c, nKvHeads: 1 })],
  ["MLA", (c) => ({ ...c, attention: { kind: "mla", dC: (2 * c.dModel) / c.nHeads, dCq: c.dModel / 2, dR: c.dModel / c.nHeads / 2 } })],
];

const { values } = parseArgs({ options: { backend: { type: "string", default: "cpu" }, repeats: { type: "string", default: "3" }, json: { type: "string" } } });
const kind = values.backend === "webgpu" ? "webgpu" : "cpu";
const backend = await createBackend(kind);
const engine = new Engine(backend);
const rows: Record<string, unknown>[] = [];
for (const [shape, base, batch] of [["default-sized", SMALL, 8], ["wide", WIDE, 4]] as const) {
  for (const [name, make] of KINDS) {
    const model = new GPT(engine, make(base), 1);
    const cache = measureCacheSize(model);
    const speed = await measureDecodeSpeed(model, { batch, promptLen: 8, repeats: Number(values.repeats), seed: 1 });
    const row = {
      shape, attention: name, batch, context: base.maxSeqLen, params: model.parameterCount(),
      cache_elements_per_token: cache.elementsPerToken, tokens_per_s: Math.round(speed.tokensPerS), ms: Math.round(speed.ms),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    model.dispose();
  }
}
backend.destroy();
if (values.json) await writeFile(values.json, JSON.stringify({ backend: backend.description, rows }, null, 2) + "\n");
