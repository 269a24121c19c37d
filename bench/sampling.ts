// How fast the kit samples a GRPO-sized batch: P prompts × G answers each, from the
// shipped base checkpoint, with temperature sampling and a KV cache. Two ways:
//   one batch  — all P·G sequences in one batch, prompts of different lengths
//                left-padded (src/sample/generate.ts);
//   per prompt — P batches of G, one prompt each (what equal-length batching forces).
// Run:
//   node --import tsx bench/sampling.ts [--backend webgpu|cpu] [--prompts 8] [--group 8]
//     [--max-tokens 48] [--json PATH]
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { readConfig, readModel } from "../src/io/run-record-node.js";
import { GPT, type GPTConfig } from "../src/nn/gpt.js";
import { generate, type GenerateOptions } from "../src/sample/generate.js";
import { ANSWER_CLOSE_ID, BOS_ID, EOS_ID, encode, formatPrompt, generateProblems } from "../src/tasks/index.js";
import { Engine } from "../src/tensor/engine.js";
import { createBackend } from "../src/tensor/create.js";
import { loadModelTensors } from "../src/train/checkpoint.js";

const CHECKPOINT = new URL("../data/checkpoints/pretrain-default", import.meta.url).pathname;

export interface SamplingResult {
  backend: string;
  prompts: number;
  group: number;
  max_new_tokens: number;
  prompt_lengths: number[];
  /** sequences × decoding steps each ran, whether or not its row had stopped */
  one_batch: { ms: number; tokens: number; tokens_per_s: number };
  per_prompt: { ms: number; tokens: number; tokens_per_s: number };
}

export async function samplingBench(kind: "webgpu" | "cpu", P = 8, G = 8, maxNewTokens = 48): Promise<SamplingResult> {
  const cfg = (await readConfig(CHECKPOINT)) as { model: GPTConfig };
  const backend = await createBackend(kind);
  try {
    const engine = new Engine(backend);
    const model = new GPT(engine, cfg.model, 0);
    loadModelTensors(model, (await readModel(CHECKPOINT)).tensors);
    // levels 1–3 give prompts of different lengths, as a GRPO batch would have
    const byLevel = [1, 2, 3].map((level) => generateProblems({ split: "train", level, count: P, seed: 7 }));
    const problems = Array.from({ length: P }, (_, i) => byLevel[i % 3]![Math.floor(i / 3)]!);
    const prompts = problems.map((p) => [BOS_ID, ...encode(formatPrompt(p.question))]);
    const opts: GenerateOptions = { temperature: 1, topK: 0, topP: 1, maxNewTokens, stopTokens: [EOS_ID, ANSWER_CLOSE_ID], seed: 1 };
    const countTokens = (tokens: number[][]) => tokens.reduce((n, t) => n + t.length, 0);

    await generate(model, prompts.slice(0, 2), { ...opts, maxNewTokens: 2 }); // warm-up: pipelines compiled

    let t0 = performance.now();
    const batch = await generate(model, prompts.flatMap((p) => Array.from({ length: G }, () => p)), opts);
    const oneMs = performance.now() - t0;
    const oneTokens = countTokens(batch.tokens);

    t0 = performance.now();
    let perTokens = 0;
    for (const p of prompts) perTokens += countTokens((await generate(model, Array.from({ length: G }, () => p), opts)).tokens);
    const perMs = performance.now() - t0;
    model.dispose();
    const rate = (tokens: number, ms: number) => Math.round((tokens / ms) * 1000);
    return {
      backend: backend.description,
      prompts: P,
      group: G,
      max_new_tokens: maxNewTokens,
      prompt_lengths: prompts.map((p) => p.length),
      one_batch: { ms: Math.round(oneMs), tokens: oneTokens, tokens_per_s: rate(oneTokens, oneMs) },
      per_prompt: { ms: Math.round(perMs), tokens: perTokens, tokens_per_s: rate(perTokens, perMs) },
    };
  } finally {
    backend.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      backend: { type: "string", default: "webgpu" },
      prompts: { type: "string", default: "8" },
      group: { type: "string", default: "8" },
      "max-tokens": { type: "string", default: "48" },
      json: { type: "string" },
    },
  });
  if (values.backend !== "webgpu" && values.backend !== "cpu") throw new Error(`--backend must be webgpu or cpu, got ${values.backend}`);
  const r = await samplingBench(values.backend, Number(values.prompts), Number(values.group), Number(values["max-tokens"]));
  console.log(`${r.backend}: ${r.prompts} prompts × ${r.group} samples, up to ${r.max_new_tokens} new tokens; prompt lengths ${r.prompt_lengths.join(", ")}`);
  console.log(`  one batch of ${r.prompts * r.group}:  ${r.one_batch.tokens} tokens in ${r.one_batch.ms} ms = ${r.one_batch.tokens_per_s} tokens/s`);
  console.log(`  ${r.prompts} batches of ${r.group}:   ${r.per_prompt.tokens} tokens in ${r.per_prompt.ms} ms = ${r.per_prompt.tokens_per_s} tokens/s`);
  if (values.json) await writeFile(values.json, JSON.stringify(r, null, 2) + "\n");
}
