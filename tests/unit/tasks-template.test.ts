import { test } from "node:test";
import assert from "node:assert/strict";
import { LEVELS, generateProblems } from "../../src/tasks/arithmetic.js";
import {
  R1_INSTRUCTION,
  encodeExample,
  formatCompletion,
  formatDirectAnswer,
  formatPrompt,
  maxExampleTokens,
} from "../../src/tasks/template.js";
import { BOS_ID, EOS_ID, THINK_OPEN_ID, decode, encode } from "../../src/tasks/tokenizer.js";
import { verify } from "../../src/tasks/verifier.js";

test("the chat template, exactly", () => {
  assert.equal(formatPrompt("37+48-19"), "User: 37+48-19. Assistant: ");
  assert.equal(
    formatCompletion(["37+48=85", "85-19=66"], "66"),
    "<think>37+48=85\n85-19=66</think>\n<answer>66</answer>",
  );
  assert.equal(formatDirectAnswer("66"), "<think></think>\n<answer>66</answer>");
  const withInstruction = formatPrompt("37+48", { instruction: true });
  assert.ok(withInstruction.startsWith(R1_INSTRUCTION + "\n"));
  assert.ok(withInstruction.endsWith("User: 37+48. Assistant: "));
  assert.match(R1_INSTRUCTION, /first thinks.*<think> <\/think>.*<answer> <\/answer>/);
});

test("encodeExample: BOS, prompt, completion, EOS, and where the completion starts", () => {
  const prompt = formatPrompt("12+34");
  const completion = formatCompletion(["12+34=46"], "46");
  const { ids, promptLength } = encodeExample(prompt, completion);
  assert.equal(ids[0], BOS_ID);
  assert.equal(ids.at(-1), EOS_ID);
  assert.equal(promptLength, 1 + prompt.length);
  assert.equal(decode(ids.slice(1, promptLength)), prompt);
  assert.equal(ids[promptLength], THINK_OPEN_ID);
  assert.equal(decode(ids.slice(promptLength, -1)), completion);
});

test("every generated problem formats, encodes and verifies as correct", () => {
  for (const { level } of LEVELS) {
    for (const p of generateProblems({ split: "val", level, count: 100, seed: 8 })) {
      const cot = formatCompletion(p.steps, p.answer);
      const direct = formatDirectAnswer(p.answer);
      assert.deepEqual(verify(cot, p.answer), { correct: true, formatOk: true });
      assert.deepEqual(verify(direct, p.answer), { correct: true, formatOk: true });
      const length = encodeExample(formatPrompt(p.question), cot).ids.length;
      assert.ok(length <= maxExampleTokens(level), `${p.question}: ${length} tokens`);
      assert.ok(encodeExample(formatPrompt(p.question), direct).ids.length <= maxExampleTokens(level, { cot: false }));
      encode(formatPrompt(p.question, { instruction: true }));
    }
  }
});

test("maxExampleTokens grows with the level (what context length each level needs)", () => {
  const lengths = LEVELS.map((s) => maxExampleTokens(s.level));
  assert.deepEqual(lengths, [...lengths].sort((a, b) => a - b));
  assert.ok(lengths[0]! <= 64 && lengths.at(-1)! <= 128, JSON.stringify(lengths));
});
