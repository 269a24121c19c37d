// Rejection sampling (src/train/rejection.ts): only verified, well-formed replies are kept.
// Crafted replies cover every verdict; then the shipped cold-start model samples for real
// and every kept trace is checked again with the verifier, and re-encodes for SFT.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readModel, readConfig } from "../../src/io/run-record-node.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { loadModelTensors } from "../../src/train/checkpoint.js";
import { filterSamples, rejectionProblems, rejectionSample, stepProblems, type RejectionConfig } from "../../src/train/rejection.js";
import { exampleFromTrace } from "../../src/train/sft-data.js";
import { decode, encode, isWellFormatted, problemFromQuestion, verify } from "../../src/tasks/index.js";

const p = problemFromQuestion("37+48-19"); // 66
const q = problemFromQuestion("12+30"); // 42
const good = "<think>37+48=85\n85-19=66</think>\n<answer>66</answer>";

test("crafted replies: each gets the verdict of the first rule it fails; only 'kept' enter the dataset", () => {
  const replies = [
    { text: good, tokens: 20, want: "kept" },
    { text: good, tokens: 20, want: "duplicate" },
    { text: `${good}<eos>`, tokens: 21, want: "duplicate" }, // the stop token's text is not part of the trace
    { text: "<think>37+48=85\n85-19=67</think>\n<answer>67</answer>", tokens: 20, want: "wrong" },
    { text: "<answer>66</answer>", tokens: 5, want: "malformed" }, // right answer, no thinking
    { text: "<think>37+48=85</think>\n<answer>66</answer><answer>66</answer>", tokens: 20, want: "malformed" },
    { text: "<think>37+48=85\n85-19=66", tokens: 48, want: "malformed" }, // ran out of tokens
    { text: "<think>37 + 48 is 85, minus 19 is 66</think>\n<answer>66</answer>", tokens: 40, want: "too_long" },
    { text: "<think>37+48-19=66</think>\n<answer> 66 </answer>", tokens: 18, want: "kept" },
  ];
  const r = filterSamples([p], [replies], { maxCompletionTokens: 30, dedupe: true });
  assert.deepEqual(r.samples.map((s) => s.verdict), replies.map((x) => x.want));
  assert.equal(r.kept.length, 2);
  for (const t of r.kept) {
    assert.deepEqual(verify(t.completion, t.answer), { correct: true, formatOk: true });
    assert.equal(t.prompt, "User: 37+48-19. Assistant: ");
    assert.equal(t.question, "37+48-19");
    assert.ok(!t.completion.includes("<eos>"));
  }
  // the verifier reads the answer only: a trace with a wrong step that a later step undid is kept
  const lucky = filterSamples([problemFromQuestion("98-30+93")], [[{ text: "<think>98-30=78\n78+93=161</think>\n<answer>161</answer>", tokens: 26 }]], { maxCompletionTokens: 0, dedupe: true });
  assert.equal(lucky.samples[0]!.verdict, "kept");
  assert.ok(stepProblems(lucky.kept[0]!).includes('line 1 "98-30=78" has a wrong result'), String(stepProblems(lucky.kept[0]!)));
  assert.ok(stepProblems(lucky.kept[0]!).length > 0);
  assert.deepEqual(stepProblems(r.kept[0]!), [], "a right trace has no step problems");
  const a = r.acceptance["1"] ?? r.acceptance[String(p.level)]!;
  assert.equal(a.sampled, 9);
  assert.equal(a.kept, 2);
  assert.equal(a.acceptance_rate, Math.round((4 / 9) * 1e4) / 1e4, "kept + duplicates pass the verifier");
  assert.equal(a.malformed, 3);
  assert.equal(a.wrong, 1);
  assert.equal(a.too_long, 1);

  // without dedupe or a length limit every verified reply is kept; a wrong reply to another prompt is not
  const r2 = filterSamples([p, q], [replies, [{ text: good, tokens: 20 }]], { maxCompletionTokens: 0, dedupe: false });
  assert.equal(r2.kept.length, 5);
  assert.equal(r2.samples.at(-1)!.verdict, "wrong", "66 is not the answer to 12+30");
  assert.deepEqual(Object.keys(r2.acceptance).sort(), [String(p.level), String(q.level), "all"].sort());
  assert.equal(r2.acceptance.all!.sampled, 10);
});

test("the shipped cold-start model samples for real: every kept trace verifies, is well formed and re-encodes", async () => {
  const dir = "data/checkpoints/sft-default";
  const { model: mc } = (await readConfig(dir)) as { model: GPTConfig };
  const engine = new Engine(new CpuBackend());
  const teacher = new GPT(engine, mc, 1);
  loadModelTensors(teacher, (await readModel(dir)).tensors);
  const c: RejectionConfig = { levels: [1, 2], promptsPerLevel: 4, samplesPerPrompt: 4, temperature: 1, topP: 1, maxNewTokens: 60, maxCompletionTokens: 0, dedupe: false, seed: 3, batchSize: 32 };
  const r = await rejectionSample(teacher, c);
  assert.equal(r.samples.length, 32);
  assert.deepEqual(rejectionProblems(c).map((x) => x.split), new Array(8).fill("train"), "prompts come from the train split");
  assert.ok(r.kept.length > 0, "the cold-start model solves some level-1/2 problems");
  for (const t of r.kept) {
    assert.deepEqual(verify(t.completion, t.answer), { correct: true, formatOk: true }, t.completion);
    const ex = exampleFromTrace(t);
    assert.equal(decode(ex.ids.slice(ex.promptLength, -1)), t.completion, "the trace re-encodes to the teacher's tokens");
  }
  for (const s of r.samples.filter((x) => x.verdict !== "kept")) {
    assert.ok(!(verify(s.completion, s.problem.answer).correct && isWellFormatted(s.completion)), `rejected but verified: ${s.completion}`);
  }
  const all = r.acceptance.all!;
  assert.equal(all.kept, r.kept.length);
  assert.equal(all.acceptance_rate, Math.round((r.kept.length / 32) * 1e4) / 1e4);
  assert.ok(encode(r.kept[0]!.completion).length > 0);
  teacher.dispose();
});
