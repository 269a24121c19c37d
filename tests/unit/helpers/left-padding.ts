// The left-padding check both attention kinds must pass (src/sample/generate.ts): a
// batch of prompts of different lengths decodes each prompt exactly as it would be
// decoded alone, and the padded prompt's logits equal its logits alone.
import assert from "node:assert/strict";
import type { GPT } from "../../../src/nn/gpt.js";
import { generate, type GenerateOptions } from "../../../src/sample/generate.js";
import { assertClose } from "./assert-close.js";

/** For a GPT with vocabSize ≥ 17 and maxSeqLen ≥ 14. */
export async function checkLeftPaddedDecoding(model: GPT): Promise<void> {
  const engine = model.engine;
  const prompts = [[1, 5, 9], [2], [16, 0, 7, 3, 3, 8], [4, 4]];
  const opts: GenerateOptions = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 8, stopTokens: [], seed: 3 };
  const batch = await generate(model, prompts, opts);
  for (let b = 0; b < prompts.length; b++) {
    const alone = await generate(model, [prompts[b]!], opts);
    assert.deepEqual(batch.tokens[b], alone.tokens[0], `prompt ${b} (length ${prompts[b]!.length})`);
  }
  // The batch's budget is set by its longest prompt (6 tokens): 8 new tokens each.
  assert.ok(batch.tokens.every((t) => t.length === 8));

  // The logits themselves, not only the argmax: the prompt [2] behind 3 pads against itself alone.
  const padded = engine.tensor([0, 0, 0, 2, 16, 0, 7, 3], [2, 4], "i32");
  const keyStart = engine.tensor([3, 0], [2], "i32");
  const both = await engine.noGrad(() => model.forward(padded, undefined, 0, keyStart)).data();
  const alone = await engine.noGrad(() => model.forward(engine.tensor([2], [1, 1], "i32"))).data();
  const V = model.config.vocabSize;
  assertClose(both.slice(3 * V, 4 * V), alone, { atol: 1e-4 }, "padded vs alone");
  // and without keyStart the padding would change them
  const unmasked = await engine.noGrad(() => model.forward(padded)).data();
  assert.ok(Array.from(unmasked.slice(3 * V, 4 * V)).some((x, i) => Math.abs(x - alone[i]!) > 1e-3), "padding matters when not masked");
}
