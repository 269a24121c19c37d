import { test } from "node:test";
import assert from "node:assert/strict";
import { accuracyReward, formatReward, isWellFormatted, parseAnswer, verify } from "../../src/tasks/verifier.js";
import { formatCompletion, formatDirectAnswer } from "../../src/tasks/template.js";
import { mulberry32, pick } from "../../src/tasks/rng.js";

const GOOD = "<think>37+48=85\n85-19=66</think>\n<answer>66</answer>";

test("well-formed, correct completions", () => {
  assert.deepEqual(verify(GOOD, "66"), { correct: true, formatOk: true });
  assert.deepEqual(verify(GOOD, 66), { correct: true, formatOk: true });
  assert.deepEqual(verify(formatCompletion(["1+2=3"], "3"), "3"), { correct: true, formatOk: true });
  assert.deepEqual(verify(formatDirectAnswer("66"), "66"), { correct: true, formatOk: true });
  assert.deepEqual(verify(`  ${GOOD}  \n`, "66"), { correct: true, formatOk: true }, "surrounding whitespace");
  assert.deepEqual(verify("<think>x</think> <answer> 66 </answer>", "66"), { correct: true, formatOk: true });
  assert.deepEqual(verify(`${GOOD}<eos>`, "66"), { correct: true, formatOk: true }, "decoded stop token");
  assert.deepEqual(verify(`${GOOD}<eos><pad><pad>`, "66"), { correct: true, formatOk: true });
  assert.equal(parseAnswer("<answer>  1234 </answer>"), "1234");
});

test("wrong answers in good format", () => {
  assert.deepEqual(verify(GOOD, "67"), { correct: false, formatOk: true });
  for (const answer of ["066", "66.0", "+66", "6 6", "sixty-six", "66!", "-66"]) {
    assert.deepEqual(verify(`<think>x</think><answer>${answer}</answer>`, "66"), { correct: false, formatOk: true }, answer);
  }
  assert.deepEqual(verify("<think>x</think><answer>0</answer>", "-0"), { correct: true, formatOk: true });
});

test("right answer, bad format: the two rewards are independent", () => {
  const cases = [
    "<answer>66</answer>",
    "<answer>66</answer><think>x</think>",
    "Sure! <think>x</think><answer>66</answer>",
    "<think>x</think>so<answer>66</answer>",
    "<think>x</think><answer>66</answer> and more",
    "<think><think>x</think></think><answer>66</answer>",
    "<think>x</think><think>y</think><answer>66</answer>",
    "<think>x<eos></think><answer>66</answer>",
    "<thnik>x</think><answer>66</answer>", // a misspelt tag is plain text, not a tag
  ];
  for (const c of cases) assert.deepEqual(verify(c, "66"), { correct: true, formatOk: false }, c);
});

test("malformed output is simply wrong, never an exception", () => {
  const cases = [
    "",
    "   ",
    "66",
    "<think>",
    "<think>37+48=85</think>",
    "<think>x</think><answer>66",
    "<think>x</think>66</answer>",
    "</answer>66<answer>",
    "<think>x</think><answer></answer>",
    "<think>x</think><answer>   </answer>",
    "<think>x</think><answer>66</answer><answer>66</answer>",
    "<answer>65</answer><answer>66</answer>",
    "<think>x</think><answer>６６</answer>", // full-width digits
    "🙂🙂<answer>\u0000</answer>",
    "\ud800<think>\udfff</think><answer>66\u200b</answer>", // lone surrogates, zero-width space
    "<pad><pad><pad>",
    "<eos>",
  ];
  for (const c of cases) {
    const verdict = verify(c, "66");
    assert.equal(verdict.correct && verdict.formatOk, false, JSON.stringify(c));
    assert.equal(verdict.correct, false, JSON.stringify(c));
    assert.equal(accuracyReward(c, "66"), 0);
  }
  assert.equal(parseAnswer(""), null);
  assert.equal(isWellFormatted(""), false);
  // Not a string at all (from untyped JS): still no exception.
  assert.equal(parseAnswer(undefined as unknown as string), null);
  assert.equal(formatReward(null as unknown as string), 0);
});

test("random junk never throws and rewards stay 0/1", () => {
  const rng = mulberry32(123);
  const pieces = ["<think>", "</think>", "<answer>", "</answer>", "<eos>", "6", "66", " ", "\n", "x", "é", "🙂", "<", ">", "="];
  for (let i = 0; i < 3000; i++) {
    let text = "";
    const n = Math.floor(rng() * 12);
    for (let j = 0; j < n; j++) text += pick(rng, pieces);
    const acc = accuracyReward(text, "66");
    const fmt = formatReward(text);
    assert.ok(acc === 0 || acc === 1);
    assert.ok(fmt === 0 || fmt === 1);
  }
});

test("rewards", () => {
  assert.equal(accuracyReward(GOOD, "66"), 1);
  assert.equal(formatReward(GOOD), 1);
  assert.equal(accuracyReward(GOOD, "65"), 0);
  assert.equal(formatReward(GOOD), 1);
  assert.equal(accuracyReward("<answer>66</answer>", "66"), 1);
  assert.equal(formatReward("<answer>66</answer>"), 0);
  assert.throws(() => verify(GOOD, "sixty"), /expected answer must be an integer/);
});
