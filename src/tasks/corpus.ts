// The pretraining "textbook": facts and worked examples of the task world,
// written as short prose lines, one fact or example per line. It is what the
// base model reads before it ever sees the chat template, the way V3-Base read
// the web before R1's post-training. Examples of lines:
//
//   7 plus 8 is 15.
//   In 47, the tens digit is 4 and the ones digit is 7.
//   To add 47 and 38: ones: 7 plus 8 is 15, write 5 carry 1. tens: 4 plus 3 plus 1 is 8, write 8. So 47+38=85.
//   To work out 37+48-19, go from left to right: 37+48=85, then 85-19=66. So 37+48-19=66.
//
// No line uses the chat format or special tokens. No line shows a question of
// the val or heldout split (not even as "add 47 and 38"), so held-out scores
// measure generalisation, not recall of the textbook. Lines are shuffled so any
// slice of the file mixes every kind of line.

import { MAX_LEVEL, MIN_LEVEL, generateProblems, levelOf, type Problem } from "./arithmetic.js";
import { type Rng, deriveSeed, mulberry32, pick, randomInt, shuffleInPlace } from "./rng.js";
import { splitOf } from "./splits.js";

export interface CorpusOptions {
  readonly seed: number;
  /** how many times each single-digit addition/subtraction fact appears */
  readonly factRepeats: number;
  readonly placeValueLines: number;
  readonly additionExamples: number;
  readonly subtractionExamples: number;
  /** multi-step chains, spread evenly over all levels */
  readonly chainExamples: number;
}

/** What data/corpus/textbook.txt was made with (about 245 KB, 2,850 lines). */
export const DEFAULT_CORPUS_OPTIONS: CorpusOptions = {
  seed: 1,
  factRepeats: 2,
  placeValueLines: 200,
  additionExamples: 500,
  subtractionExamples: 350,
  chainExamples: 1000,
};

const COLUMN_NAMES = ["ones", "tens", "hundreds", "thousands"];

/** Digits of n, least significant first, padded with zeros to `length`. */
function digitsOf(n: number, length: number): number[] {
  const digits: number[] = [];
  for (let i = 0; i < length; i++) {
    digits.push(Math.floor(n / 10 ** i) % 10);
  }
  return digits;
}

/** A two-number expression may appear only if it is no val/heldout question. */
function allowedInTextbook(expression: string): boolean {
  return levelOf(expression) === null || splitOf(expression) === "train";
}

/** A number with 2 or 3 digits (the operand sizes of the task world). */
function drawOperand(rng: Rng): number {
  return rng() < 0.5 ? randomInt(rng, 10, 99) : randomInt(rng, 100, 999);
}

function digitFactLines(): string[] {
  const lines: string[] = [];
  for (let a = 0; a <= 9; a++) {
    for (let b = 0; b <= 9; b++) {
      lines.push(`${a} plus ${b} is ${a + b}.`, `${a}+${b}=${a + b}.`);
      lines.push(`${a + b} minus ${b} is ${a}.`, `${a + b}-${b}=${a}.`);
    }
  }
  return lines;
}

function placeValueLine(rng: Rng): string {
  const n = drawOperand(rng);
  const digits = digitsOf(n, String(n).length);
  const parts = digits.map((d, i) => `the ${COLUMN_NAMES[i]} digit is ${d}`).reverse();
  const last = parts.pop() as string;
  return `In ${n}, ${parts.join(", ")} and ${last}.`;
}

/** "To add 47 and 38: ones: 7 plus 8 is 15, write 5 carry 1. ..." */
export function additionWorkedExample(a: number, b: number): string {
  const columns = Math.max(String(a).length, String(b).length);
  const top = digitsOf(a, columns);
  const bottom = digitsOf(b, columns);
  const parts: string[] = [];
  let carry = 0;
  for (let i = 0; i < columns; i++) {
    const sum = (top[i] as number) + (bottom[i] as number) + carry;
    const added = carry ? `${top[i]} plus ${bottom[i]} plus ${carry}` : `${top[i]} plus ${bottom[i]}`;
    const write = sum >= 10 ? `write ${sum - 10} carry 1` : `write ${sum}`;
    parts.push(`${COLUMN_NAMES[i]}: ${added} is ${sum}, ${write}.`);
    carry = sum >= 10 ? 1 : 0;
  }
  if (carry) parts.push(`${COLUMN_NAMES[columns]}: write the carry 1.`);
  return `To add ${a} and ${b}: ${parts.join(" ")} So ${a}+${b}=${a + b}.`;
}

/** "To take 38 from 85: ones: 5 minus 8 is below 0, so borrow 1: 15 minus 8 is 7, write 7. ..." */
export function subtractionWorkedExample(a: number, b: number): string {
  if (b > a) throw new Error(`subtractionWorkedExample: ${b} is larger than ${a}`);
  const columns = String(a).length;
  const top = digitsOf(a, columns);
  const bottom = digitsOf(b, columns);
  const parts: string[] = [];
  let borrow = 0;
  for (let i = 0; i < columns; i++) {
    const t = top[i] as number;
    const u = bottom[i] as number;
    const taken = borrow ? `${t} minus ${u} minus 1 borrowed` : `${t} minus ${u}`;
    const value = t - u - borrow;
    if (value >= 0) {
      parts.push(`${COLUMN_NAMES[i]}: ${taken} is ${value}, write ${value}.`);
      borrow = 0;
    } else {
      const retaken = borrow ? `${t + 10} minus ${u} minus 1` : `${t + 10} minus ${u}`;
      parts.push(`${COLUMN_NAMES[i]}: ${taken} is below 0, so borrow 1: ${retaken} is ${value + 10}, write ${value + 10}.`);
      borrow = 1;
    }
  }
  return `To take ${b} from ${a}: ${parts.join(" ")} So ${a}-${b}=${a - b}.`;
}

/** One multi-step chain in one of a few phrasings, so the model sees variety. */
function chainLine(rng: Rng, problem: Problem): string {
  const { question, answer, steps } = problem;
  const words = (step: string): string => {
    const [left, result] = step.split("=") as [string, string];
    return `${left.replace("+", " plus ").replace("-", " minus ")} is ${result}`;
  };
  const phrasing = pick(rng, [0, 1, 2, 3]);
  switch (phrasing) {
    case 0:
      return `To work out ${question}, go from left to right: ${steps.join(", then ")}. So ${question}=${answer}.`;
    case 1:
      return `${question}: first ${steps.join(". Next ")}. The answer is ${answer}.`;
    case 2:
      return `Work out ${question} one step at a time. ${steps.join(". ")}. So the answer is ${answer}.`;
    default:
      return `${question} means ${steps.map(words).join(", then ")}, so ${question}=${answer}.`;
  }
}

/** The whole textbook as lines (no trailing newline in any line). */
export function makeTextbookLines(options: CorpusOptions = DEFAULT_CORPUS_OPTIONS): string[] {
  const { seed } = options;
  const lines: string[] = [];

  for (let r = 0; r < options.factRepeats; r++) lines.push(...digitFactLines());

  const placeRng = mulberry32(deriveSeed(seed, "corpus/place-value"));
  for (let i = 0; i < options.placeValueLines; i++) lines.push(placeValueLine(placeRng));

  const addRng = mulberry32(deriveSeed(seed, "corpus/addition"));
  for (let made = 0; made < options.additionExamples; ) {
    const a = drawOperand(addRng);
    const b = drawOperand(addRng);
    if (!allowedInTextbook(`${a}+${b}`)) continue;
    lines.push(additionWorkedExample(a, b));
    made++;
  }

  const subRng = mulberry32(deriveSeed(seed, "corpus/subtraction"));
  for (let made = 0; made < options.subtractionExamples; ) {
    const a = drawOperand(subRng);
    const b = randomInt(subRng, 10, Math.min(a, 999));
    if (!allowedInTextbook(`${a}-${b}`)) continue;
    lines.push(subtractionWorkedExample(a, b));
    made++;
  }

  // Train-split problems only; generateProblems already keeps train problems
  // whose steps would reveal a val/heldout question out of the train split.
  const chainRng = mulberry32(deriveSeed(seed, "corpus/chains"));
  const levels = MAX_LEVEL - MIN_LEVEL + 1;
  for (let level = MIN_LEVEL; level <= MAX_LEVEL; level++) {
    const count =
      Math.floor(options.chainExamples / levels) + (level - MIN_LEVEL < options.chainExamples % levels ? 1 : 0);
    const problems = generateProblems({ split: "train", level, count, seed: deriveSeed(seed, "corpus/chain-problems") });
    for (const problem of problems) lines.push(chainLine(chainRng, problem));
  }

  return shuffleInPlace(mulberry32(deriveSeed(seed, "corpus/shuffle")), lines);
}

/** The textbook as one string, one line per fact or example, ending in a newline. */
export function makeTextbook(options: CorpusOptions = DEFAULT_CORPUS_OPTIONS): string {
  return makeTextbookLines(options).join("\n") + "\n";
}
