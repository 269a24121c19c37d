// GRPO's rule rewards (src/tasks/rewards.ts) and the two answer styles (src/tasks/styles.ts)
// on crafted replies: right, wrong, missing tags, two answers, junk, empty.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { accuracyRule, formatRule, ruleReward, validateRewardWeights, DEFAULT_REWARD_WEIGHTS } from "../../src/tasks/rewards.js";
import { CHAT, TEXTBOOK, answerStyle } from "../../src/tasks/styles.js";
import { generateProblems, makeTextbookLines, DEFAULT_CORPUS_OPTIONS } from "../../src/tasks/index.js";

const Q = "37+48-19";
const W = { accuracy: 1, format: 0.1 };

describe("chat style (R1's template)", () => {
  const cases: { reply: string; correct: boolean; formatOk: boolean; why: string }[] = [
    { reply: "<think>37+48=85\n85-19=66</think>\n<answer>66</answer>", correct: true, formatOk: true, why: "right, well formed" },
    { reply: "<think>37+48=85\n85-19=66</think>\n<answer>66</answer><eos>", correct: true, formatOk: true, why: "with the decoded stop token" },
    { reply: "<think>37+48=85\n85-19=67</think>\n<answer>67</answer>", correct: false, formatOk: true, why: "wrong, well formed" },
    { reply: "<answer>66</answer>", correct: true, formatOk: false, why: "right, but no thinking block" },
    { reply: "<think>37+48=85\n85-19=66</think>\n66", correct: false, formatOk: false, why: "no answer tags: nothing to read" },
    { reply: "<think>x</think><answer>66</answer><answer>67</answer>", correct: false, formatOk: false, why: "two answers (hedging)" },
    { reply: "<think>x</think><answer>66</answer><think>y</think>", correct: true, formatOk: false, why: "a second think block" },
    { reply: "<answer>66</answer><think>x</think>", correct: true, formatOk: false, why: "tags out of order" },
    { reply: "<think>x</think><answer></answer>", correct: false, formatOk: false, why: "empty answer" },
    { reply: "", correct: false, formatOk: false, why: "empty reply" },
    { reply: "66 66 66 )(*&^ <think", correct: false, formatOk: false, why: "junk" },
    { reply: "<think>x</think><answer>066</answer>", correct: false, formatOk: true, why: "leading zero is not the integer" },
  ];
  for (const c of cases) {
    test(c.why, () => {
      assert.equal(accuracyRule(c.reply, Q, "66", CHAT), c.correct ? 1 : 0);
      assert.equal(formatRule(c.reply, Q, CHAT), c.formatOk ? 1 : 0);
      const s = ruleReward(c.reply, Q, "66", W, CHAT);
      assert.equal(s.reward, (c.correct ? 1 : 0) + (c.formatOk ? 0.1 : 0));
    });
  }
});

describe("textbook style (R1-Zero from our base)", () => {
  const good = "37+48=85, then 85-19=66. So 37+48-19=66.";
  const cases: { reply: string; correct: boolean; formatOk: boolean; why: string }[] = [
    { reply: good, correct: true, formatOk: true, why: "right, in the textbook's shape" },
    { reply: `${good}\n`, correct: true, formatOk: true, why: "ended by the newline stop token" },
    { reply: `${good}<eos>`, correct: true, formatOk: true, why: "ended by EOS" },
    { reply: "37+48=85, then 85-19=67. So 37+48-19=67.", correct: false, formatOk: true, why: "wrong, well formed" },
    { reply: "So 37+48-19=66.", correct: true, formatOk: false, why: "right, but no working" },
    { reply: "37+48=85, then 85-19=66. So 37+48-19=66. So 37+48-19=67.", correct: false, formatOk: false, why: "two closing sentences" },
    { reply: "37+48=85. So 37+48=85.", correct: false, formatOk: false, why: "closes on another question" },
    { reply: "37+48=85, then 85-19=66. So 37+48-19=66. And more", correct: true, formatOk: false, why: "text after the answer" },
    { reply: "<think>37+48=85</think> So 37+48-19=66.", correct: true, formatOk: false, why: "special tokens in the working" },
    { reply: "", correct: false, formatOk: false, why: "empty reply" },
    { reply: "So 37+48-19=", correct: false, formatOk: false, why: "cut off before the answer" },
  ];
  for (const c of cases) {
    test(c.why, () => {
      assert.equal(accuracyRule(c.reply, Q, "66", TEXTBOOK), c.correct ? 1 : 0, "accuracy");
      assert.equal(formatRule(c.reply, Q, TEXTBOOK), c.formatOk ? 1 : 0, "format");
    });
  }

  test("the textbook's own worked chains are right and well formed in this style", () => {
    const chains = makeTextbookLines(DEFAULT_CORPUS_OPTIONS).filter((l) => l.startsWith("To work out ")).slice(0, 50);
    assert.ok(chains.length === 50);
    for (const line of chains) {
      const m = /^To work out (\S+), go from left to right: (.*)$/.exec(line)!;
      const [question, reply] = [m[1]!, m[2]!];
      assert.equal(TEXTBOOK.prompt(question) + reply, line, "the prompt is the line's opening");
      const expected = /=(\d+)\.$/.exec(line)![1]!;
      assert.deepEqual([accuracyRule(reply, question, expected, TEXTBOOK), formatRule(reply, question, TEXTBOOK)], [1, 1], line);
    }
  });
});

test("the reward is the weighted sum, and the weights are checked", () => {
  const right = "<think>x</think><answer>66</answer>";
  assert.equal(ruleReward(right, Q, "66", { accuracy: 2, format: 0.5 }).reward, 2.5);
  assert.equal(ruleReward(right, Q, "66", { accuracy: 1, format: 0 }).reward, 1);
  assert.deepEqual(DEFAULT_REWARD_WEIGHTS, { accuracy: 1, format: 0.1 });
  assert.throws(() => validateRewardWeights({ accuracy: -1, format: 0 }), /finite number ≥ 0/);
  assert.throws(() => validateRewardWeights({ accuracy: 0, format: 0 }), /all 0/);
  assert.throws(() => validateRewardWeights({ accuracy: NaN, format: 1 }), /finite/);
});

test("styles by name; every training problem's worked answer scores full marks in the chat style", () => {
  assert.equal(answerStyle("chat"), CHAT);
  assert.equal(answerStyle("textbook"), TEXTBOOK);
  for (const p of generateProblems({ split: "train", level: 3, count: 20, seed: 5 })) {
    const reply = `<think>${p.steps.join("\n")}</think>\n<answer>${p.answer}</answer>`;
    assert.equal(ruleReward(reply, p.question, p.answer).reward, 1.1);
  }
});
