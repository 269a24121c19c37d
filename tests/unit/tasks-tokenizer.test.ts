import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ANSWER_CLOSE_ID,
  ANSWER_OPEN_ID,
  BOS_ID,
  EOS_ID,
  PAD_ID,
  SPECIAL_TOKENS,
  THINK_CLOSE_ID,
  THINK_OPEN_ID,
  VOCAB,
  charId,
  decode,
  encode,
  vocabSize,
} from "../../src/tasks/tokenizer.js";
import { formatCompletion, formatPrompt } from "../../src/tasks/template.js";

test("special tokens have the fixed ids 0–6 and one token each", () => {
  assert.deepEqual(
    [PAD_ID, BOS_ID, EOS_ID, THINK_OPEN_ID, THINK_CLOSE_ID, ANSWER_OPEN_ID, ANSWER_CLOSE_ID],
    [0, 1, 2, 3, 4, 5, 6],
  );
  assert.equal(VOCAB[THINK_OPEN_ID], "<think>");
  assert.equal(VOCAB[ANSWER_CLOSE_ID], "</answer>");
  for (const [id, text] of VOCAB.slice(0, 7).entries()) assert.deepEqual(encode(text), [id], text);
  assert.deepEqual(encode(SPECIAL_TOKENS.bos + SPECIAL_TOKENS.eos + SPECIAL_TOKENS.pad), [BOS_ID, EOS_ID, PAD_ID]);
});

test("vocabulary: newline + printable ASCII without < >, no duplicates", () => {
  assert.equal(vocabSize, VOCAB.length);
  assert.equal(vocabSize, 7 + 1 + 95 - 2);
  assert.equal(new Set(VOCAB).size, vocabSize);
  for (const ch of "0123456789+-= .,:\nabcxyzABCXYZ?!()") assert.ok(charId(ch) >= 7, ch);
});

test("round-trip: every vocabulary entry, mixed text and special tokens", () => {
  const everything = VOCAB.join("");
  assert.equal(decode(encode(everything)), everything);
  assert.deepEqual(encode(everything), VOCAB.map((_, id) => id));
  const text = "User: 37+48-19. Assistant: <think>37+48=85\n85-19=66</think>\n<answer>66</answer><eos><pad><pad>";
  const ids = encode(text);
  assert.equal(decode(ids), text);
  assert.deepEqual(ids.slice(-3), [EOS_ID, PAD_ID, PAD_ID]);
  assert.equal(ids.filter((id) => id === THINK_OPEN_ID).length, 1);
  assert.equal(ids.length, text.length - ("<think></think><answer></answer><eos><pad><pad>".length - 7));
});

test("one token per character, and encode(prompt + completion) = encode(prompt) ++ encode(completion)", () => {
  assert.deepEqual(encode("85").length, 2);
  const prompt = formatPrompt("12+34");
  const completion = formatCompletion(["12+34=46"], "46");
  assert.deepEqual(encode(prompt + completion), [...encode(prompt), ...encode(completion)]);
});

test("unknown characters throw a clear error naming the character", () => {
  assert.throws(() => encode("café"), /unknown character "é" \(U\+00E9\) at position 3/);
  assert.throws(() => encode("ok 🙂"), /unknown character "🙂" \(U\+1F642\) at position 3/);
  assert.throws(() => encode("\t"), /unknown character "\\t"/);
  assert.throws(() => encode("3<4"), /unknown character "<".*special tokens/);
  assert.throws(() => encode("</thin"), /unknown character "<"/);
  assert.throws(() => charId("é"), /unknown character "é"/);
});

test("decode refuses ids outside the vocabulary", () => {
  assert.throws(() => decode([5, vocabSize]), new RegExp(`token id ${vocabSize} at position 1 is outside`));
  assert.throws(() => decode([-1]), /token id -1/);
  assert.throws(() => decode([1.5]), /token id 1.5/);
  assert.equal(decode(new Int32Array([BOS_ID, charId("7")])), "<bos>7");
});
