// The task world: short chains of integer additions and subtractions, such as
// "37+48-19", evaluated left to right. The worked chain of thought writes one
// line per operation ("37+48=85", "85-19=66") and the answer is the last total.
//
// Why this world (DESIGN.md asks for verifiable, graded and CoT-helpful):
// - Verifiable: the answer is one integer, so a rule (string equality) grades it;
//   there is nothing for a learned reward model to be fooled about.
// - Graded: two knobs, the number of terms (how many steps) and the number of
//   digits per operand (how hard each step is), give the levels below.
// - CoT-helpful: without thinking, the model must compute the whole chain inside
//   the few forward passes that emit the answer digits. With the chain of thought
//   each line is one two-number sum whose inputs are already written down, so the
//   work per token stays the same however many terms there are. (Plain two-number
//   addition would be a weaker choice: a tiny model can learn it directly, so the
//   CoT-vs-no-CoT gap would be small.)
// Every running total stays ≥ 0, so answers never need a minus sign; this keeps
// the subtraction lines the same shape as the textbook's column method.

import { type Rng, deriveSeed, fnv1a32, mulberry32, randomInt } from "./rng.js";
import { type Split, canonicalQuestion, splitOf } from "./splits.js";

/** A difficulty level: how many numbers, each with exactly how many digits. */
export interface LevelSpec {
  readonly level: number;
  readonly terms: number;
  readonly digits: number;
}

/** Harder levels never have fewer terms or fewer digits than easier ones. */
export const LEVELS: readonly LevelSpec[] = [
  { level: 1, terms: 2, digits: 2 }, // 37+48             one step
  { level: 2, terms: 3, digits: 2 }, // 37+48-19          two steps
  { level: 3, terms: 4, digits: 2 }, // 37+48-19+52       three steps
  { level: 4, terms: 4, digits: 3 }, // 437+258-119+320   three steps, bigger sums
  { level: 5, terms: 5, digits: 3 }, // 437+258-119+320-105   four steps
];
export const MIN_LEVEL = 1;
export const MAX_LEVEL = LEVELS.length;

/** One problem with its worked solution. */
export interface Problem {
  /** stable id derived from the question: the same question always has the same id */
  readonly id: string;
  readonly level: number;
  readonly split: Split;
  /** e.g. "37+48-19" */
  readonly question: string;
  /** e.g. "66" */
  readonly answer: string;
  /** the worked chain of thought, e.g. ["37+48=85", "85-19=66"] */
  readonly steps: readonly string[];
}

export function levelSpec(level: number): LevelSpec {
  const spec = LEVELS.find((s) => s.level === level);
  if (!spec) throw new Error(`unknown level ${level} (levels are ${MIN_LEVEL}–${MAX_LEVEL})`);
  return spec;
}

/** Smallest and largest operand with exactly `digits` digits (1 digit includes 0). */
export function operandRange(digits: number): [number, number] {
  return [digits === 1 ? 0 : 10 ** (digits - 1), 10 ** digits - 1];
}

interface Parsed {
  readonly numbers: number[];
  readonly numberTexts: string[];
  readonly ops: ("+" | "-")[];
}

const EXPRESSION = /^\d+(?:[+-]\d+)*$/;

function parseExpression(question: string): Parsed | null {
  const text = canonicalQuestion(question);
  if (!EXPRESSION.test(text)) return null;
  const numberTexts = text.split(/[+-]/);
  const ops = (text.match(/[+-]/g) ?? []) as ("+" | "-")[];
  return { numbers: numberTexts.map(Number), numberTexts, ops };
}

/** The answer and worked steps of any "a+b-c..." expression, left to right. */
export function solveExpression(question: string): { answer: string; steps: string[] } {
  const parsed = parseExpression(question);
  if (!parsed) throw new Error(`not an addition/subtraction chain: "${question}"`);
  const { numbers, ops } = parsed;
  let total = numbers[0] as number;
  const steps: string[] = [];
  ops.forEach((op, i) => {
    const operand = numbers[i + 1] as number;
    const next = op === "+" ? total + operand : total - operand;
    steps.push(`${total}${op}${operand}=${next}`);
    total = next;
  });
  return { answer: String(total), steps };
}

/**
 * The level of a question, or null when it does not have exactly the shape the
 * generator produces (term count, digit count, no running total below zero).
 */
export function levelOf(question: string): number | null {
  const parsed = parseExpression(question);
  if (!parsed) return null;
  const { numbers, numberTexts, ops } = parsed;
  const digits = (numberTexts[0] as string).length;
  if (numberTexts.some((t) => t.length !== digits || (digits > 1 && t.startsWith("0")))) return null;
  let total = numbers[0] as number;
  for (let i = 0; i < ops.length; i++) {
    total += ops[i] === "+" ? (numbers[i + 1] as number) : -(numbers[i + 1] as number);
    if (total < 0) return null;
  }
  const spec = LEVELS.find((s) => s.terms === numbers.length && s.digits === digits);
  return spec ? spec.level : null;
}

/**
 * True when the problem's steps show a question that belongs to another split.
 * Level-1 questions ("85-19") are exactly the steps of longer problems, so a
 * training problem could otherwise reveal a held-out level-1 answer in its
 * chain of thought. Training data (problems and textbook) must avoid this.
 */
export function leaksAnotherSplit(problem: Pick<Problem, "split" | "question" | "steps">): boolean {
  const shown = [problem.question, ...problem.steps.map((s) => s.split("=")[0] as string)];
  return shown.some((q) => levelOf(q) !== null && splitOf(q) !== problem.split);
}

/** Builds the Problem for a question written by hand (e.g. typed on a page). */
export function problemFromQuestion(question: string): Problem {
  const text = canonicalQuestion(question);
  const level = levelOf(text);
  if (level === null) {
    throw new Error(`"${question}" is not a question of any level (see LEVELS: terms × digits, totals ≥ 0)`);
  }
  const { answer, steps } = solveExpression(text);
  return {
    id: `L${level}-${fnv1a32(text).toString(16).padStart(8, "0")}`,
    level,
    split: splitOf(text),
    question: text,
    answer,
    steps,
  };
}

/** Draws one question of a level. Subtractions are drawn so no total goes below 0. */
export function drawQuestion(rng: Rng, level: number): string {
  const { terms, digits } = levelSpec(level);
  const [lo, hi] = operandRange(digits);
  let total = randomInt(rng, lo, hi);
  let question = String(total);
  for (let i = 1; i < terms; i++) {
    const subtract = rng() < 0.5 && total >= lo;
    const operand = subtract ? randomInt(rng, lo, Math.min(hi, total)) : randomInt(rng, lo, hi);
    total += subtract ? -operand : operand;
    question += (subtract ? "-" : "+") + operand;
  }
  return question;
}

export interface GenerateOptions {
  readonly split: Split;
  readonly level: number;
  readonly count: number;
  readonly seed: number;
  /** no question twice (default true); set false to sample with replacement */
  readonly unique?: boolean;
}

/**
 * `count` problems of one split and level, the same for the same options.
 * Draws questions and keeps those whose hash puts them in `split` (rejection
 * sampling), plus, for "train", only those that leak no other split's question.
 */
export function generateProblems(options: GenerateOptions): Problem[] {
  const { split, level, count, seed } = options;
  const unique = options.unique ?? true;
  levelSpec(level); // validates the level early, with a clear message
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a whole number ≥ 0, got ${count}`);
  const rng = mulberry32(deriveSeed(seed, `problems/${split}/L${level}`));
  const seen = new Set<string>();
  const problems: Problem[] = [];
  const maxDraws = 10_000 + count * 400;
  for (let draws = 0; problems.length < count; draws++) {
    if (draws >= maxDraws) {
      throw new Error(
        `found only ${problems.length} of ${count} ${unique ? "distinct " : ""}level-${level} problems ` +
          `in split "${split}" after ${draws} draws; ask for fewer, or pass unique: false`,
      );
    }
    const question = drawQuestion(rng, level);
    if (splitOf(question) !== split) continue;
    if (unique && seen.has(question)) continue;
    const problem = problemFromQuestion(question);
    if (split === "train" && leaksAnotherSplit(problem)) continue;
    seen.add(question);
    problems.push(problem);
  }
  return problems;
}

/** A mix over several levels, e.g. for a curriculum stage: counts per level. */
export function generateMixedProblems(
  split: Split,
  countsByLevel: Readonly<Record<number, number>>,
  seed: number,
): Problem[] {
  const all: Problem[] = [];
  for (const [level, count] of Object.entries(countsByLevel)) {
    all.push(...generateProblems({ split, level: Number(level), count, seed }));
  }
  // Interleave deterministically so a batch does not hold a single level.
  const rng = mulberry32(deriveSeed(seed, `mix/${split}`));
  const keyed = all.map((p) => ({ p, key: rng() }));
  keyed.sort((a, b) => a.key - b.key);
  return keyed.map((k) => k.p);
}
