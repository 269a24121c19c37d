// Before/after for the in-place MLA decode: the same decode timed with two checkouts
// of the library, interleaved run by run so machine load hits both alike.
//   node --import tsx bench/mla-decode-ab.ts BEFORE_ROOT AFTER_ROOT [rounds]
// Each root is a checkout whose src/ has sample/decode-speed.ts (copy it into the old one).
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import type { GPTConfig } from "../src/nn/gpt.js";

const [beforeRoot, afterRoot, roundsArg] = process.argv.slice(2);
if (!beforeRoot || !afterRoot) throw new Error("usage: mla-decode-ab.ts BEFORE_ROOT AFTER_ROOT [rounds]");
const rounds = Number(roundsArg ?? 5);
const SHAPES: [string, GPTConfig, number][] = [
  ["default-sized", { vocabSize: 32, dModel: 64, nLayers: 3, nHeads: 4, nKvHeads: 4, dFF: 160, maxSeqLen: 128, ropeTheta: 10000, tiedHead: true, normEps: 1e-5, attention: { kind: "mla", dC: 32, dCq: 32, dR: 8 } }, 8],
  ["wide", { vocabSize: 32, dModel: 256, nLayers: 4, nHeads: 8, nKvHeads: 8, dFF: 512, maxSeqLen: 512, ropeTheta: 10000, tiedHead: true, normEps: 1e-5, attention: { kind: "mla", dC: 64, dCq: 128, dR: 16 } }, 4],
];

async function load(root: string) {
  const u = (p: string) => pathToFileURL(join(root, p)).href;
  const [{ GPT }, { Engine }, { createBackend }, { measureDecodeSpeed }] = await Promise.all([
    import(u("src/nn/gpt.ts")), import(u("src/tensor/engine.ts")), import(u("src/tensor/create.ts")), import(u("src/sample/decode-speed.ts")),
  ]);
  const backend = await createBackend("cpu");
  const engine = new Engine(backend);
  const models = SHAPES.map(([, c]) => new GPT(engine, c, 1));
  return { backend, time: (i: number) => measureDecodeSpeed(models[i], { batch: SHAPES[i]![2], promptLen: 8, repeats: 1, seed: 1 }) as Promise<{ tokensPerS: number }> };
}
const before = await load(beforeRoot);
const after = await load(afterRoot);
for (let i = 0; i < SHAPES.length; i++) {
  const b: number[] = [], a: number[] = [];
  for (let r = 0; r < rounds; r++) {
    b.push((await before.time(i)).tokensPerS);
    a.push((await after.time(i)).tokensPerS);
  }
  const med = (x: number[]) => x.slice().sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  console.log(JSON.stringify({ shape: SHAPES[i]![0], before_tokens_per_s: b.map(Math.round), after_tokens_per_s: a.map(Math.round), median_before: Math.round(med(b)), median_after: Math.round(med(a)), ratio: +(med(a) / med(b)).toFixed(2) }));
}
