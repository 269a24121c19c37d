import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  DEFAULT_CORPUS_OPTIONS,
  additionWorkedExample,
  makeTextbook,
  subtractionWorkedExample,
} from "../../src/tasks/corpus.js";
import { levelOf } from "../../src/tasks/arithmetic.js";
import { splitOf } from "../../src/tasks/splits.js";
import { NUM_SPECIAL_TOKENS, encode } from "../../src/tasks/tokenizer.js";

const textbookPath = new URL("../../data/corpus/textbook.txt", import.meta.url);
const notePath = new URL("../../data/corpus/textbook.json", import.meta.url);
const textbook = makeTextbook(DEFAULT_CORPUS_OPTIONS);

test("the committed textbook is exactly what its recorded command makes", () => {
  const committed = readFileSync(textbookPath, "utf8");
  const note = JSON.parse(readFileSync(notePath, "utf8")) as {
    command: string;
    options: Record<string, number>;
    sha256: string;
    bytes: number;
  };
  assert.equal(committed, makeTextbook({ ...DEFAULT_CORPUS_OPTIONS, ...note.options }));
  assert.equal(committed, textbook);
  assert.equal(note.sha256, createHash("sha256").update(committed).digest("hex"));
  assert.equal(note.bytes, Buffer.byteLength(committed));
  assert.match(note.command, /^node --import tsx scripts\/make-corpus\.ts --seed 1 /);
  assert.ok(note.bytes <= 300_000, `${note.bytes} bytes`);
});

test("every character of the textbook is in the vocabulary, and no special token appears", () => {
  const ids = encode(textbook); // throws naming the first unknown character
  assert.equal(ids.length, textbook.length, "one token per character");
  assert.ok(ids.every((id) => id >= NUM_SPECIAL_TOKENS));
  assert.doesNotMatch(textbook, /User:|Assistant:/);
});

test("deterministic per seed", () => {
  assert.equal(makeTextbook(DEFAULT_CORPUS_OPTIONS), textbook);
  assert.notEqual(makeTextbook({ ...DEFAULT_CORPUS_OPTIONS, seed: 2 }), textbook);
});

test("no val or heldout question appears anywhere in the textbook", () => {
  const shown: string[] = [];
  for (const m of textbook.matchAll(/\d+(?:[+-]\d+)+/g)) shown.push(m[0]);
  for (const m of textbook.matchAll(/To add (\d+) and (\d+)/g)) shown.push(`${m[1]}+${m[2]}`);
  for (const m of textbook.matchAll(/To take (\d+) from (\d+)/g)) shown.push(`${m[2]}-${m[1]}`);
  for (const m of textbook.matchAll(/(\d+) (plus|minus) (\d+)/g)) shown.push(`${m[1]}${m[2] === "plus" ? "+" : "-"}${m[3]}`);
  const questions = shown.filter((q) => levelOf(q) !== null);
  assert.ok(questions.length > 2000, `${questions.length} questions checked`);
  const leaked = questions.filter((q) => splitOf(q) !== "train");
  assert.deepEqual(leaked, []);
});

test("every worked result in the textbook is arithmetically right", () => {
  let checked = 0;
  for (const m of textbook.matchAll(/(\d+(?:[+-]\d+)+)=(\d+)/g)) {
    const tokens = m[1]!.match(/\d+|[+-]/g)!;
    let total = Number(tokens[0]);
    for (let i = 1; i < tokens.length; i += 2) total += (tokens[i] === "+" ? 1 : -1) * Number(tokens[i + 1]);
    assert.equal(Number(m[2]), total, m[0]);
    checked++;
  }
  for (const m of textbook.matchAll(/(\d+(?: plus \d+)+) is (\d+)/g)) {
    const sum = m[1]!.split(" plus ").reduce((a, b) => a + Number(b), 0);
    assert.equal(sum, Number(m[2]), m[0]);
  }
  assert.ok(checked > 3000);
});

test("worked examples read like a textbook", () => {
  assert.equal(
    additionWorkedExample(95, 38),
    "To add 95 and 38: ones: 5 plus 8 is 13, write 3 carry 1. tens: 9 plus 3 plus 1 is 13, write 3 carry 1. " +
      "hundreds: write the carry 1. So 95+38=133.",
  );
  assert.equal(
    subtractionWorkedExample(105, 98),
    "To take 98 from 105: ones: 5 minus 8 is below 0, so borrow 1: 15 minus 8 is 7, write 7. " +
      "tens: 0 minus 9 minus 1 borrowed is below 0, so borrow 1: 10 minus 9 minus 1 is 0, write 0. " +
      "hundreds: 1 minus 0 minus 1 borrowed is 0, write 0. So 105-98=7.",
  );
  assert.throws(() => subtractionWorkedExample(3, 5), /larger/);
  const lines = textbook.trimEnd().split("\n");
  for (const kind of [/^\d plus \d is \d+\.$/, /^In \d+, /, /^To add /, /^To take /, /^To work out /, / means /]) {
    assert.ok(lines.some((l) => kind.test(l)), String(kind));
  }
});
