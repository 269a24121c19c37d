// Cold-start traces: worked solutions in R1's template, for supervised fine-tuning.
//
// DeepSeek-R1 began its training with "thousands" of long, readable chains of
// thought (the cold start), so that RL starts from a model that already writes
// <think>…</think><answer>…</answer>. Ours are written by a program, so every one
// is right. They come in two granularities, because how much a tiny model gains
// from thinking depends on how much work each token must do:
//
//   steps    one line per operation; each line is a whole two-number sum
//              <think>437+258=695
//              695-119=576</think>
//              <answer>576</answer>
//
//   columns  the column method, digit by digit, ones first, then "so" and the
//            whole result. A column that reaches 10 carries 1 into the next one,
//            which shows it as "+1" ("3+5+1=9"); a column whose top digit is too
//            small borrows: its top digit is written 10 larger ("15-9") and the
//            next column pays the 1 back ("9-1-1=7")
//              <think>437+258: 7+8=15 3+5+1=9 4+2=6 so 695
//              695-119: 15-9=6 9-1-1=7 6-1=5 so 576</think>
//              <answer>576</answer>
//
// The column lines are longer (two to three times the tokens), but each token
// only adds two digits and a carry. (The carry is not written a second time, as
// "c1", after the column that makes it: at level 5 that would push the longest
// trace past 256 tokens.)

import { type Problem, generateProblems, LEVELS, levelSpec, operandRange, problemFromQuestion } from "./arithmetic.js";
import { type Rng, deriveSeed, mulberry32, shuffleInPlace } from "./rng.js";
import { type Split } from "./splits.js";
import { encodeExample, formatCompletion, formatPrompt } from "./template.js";
import { SPECIAL_TOKENS } from "./tokenizer.js";
import { isWellFormatted, parseAnswer } from "./verifier.js";

export const GRANULARITIES = ["steps", "columns"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export function parseGranularity(value: string): Granularity {
  if ((GRANULARITIES as readonly string[]).includes(value)) return value as Granularity;
  throw new Error(`unknown granularity "${value}" (expected one of: ${GRANULARITIES.join(", ")})`);
}

/** Digits of n, ones first, padded with zeros to `length`. */
function digitsOf(n: number, length: number): number[] {
  return Array.from({ length }, (_, i) => Math.floor(n / 10 ** i) % 10);
}

/**
 * One operation by the column method: "437+258: 7+8=15 3+5+1=9 4+2=6 so 695".
 * The shorter number is padded with zeros ("1998+437" has a column "1+0=1").
 * Requires a - b ≥ 0 for subtraction (the task world never goes below zero).
 */
export function columnLine(a: number, op: "+" | "-", b: number): string {
  const result = op === "+" ? a + b : a - b;
  if (result < 0) throw new Error(`columnLine: ${a}-${b} goes below zero`);
  const columns = Math.max(String(a).length, String(b).length);
  const top = digitsOf(a, columns);
  const bottom = digitsOf(b, columns);
  const parts: string[] = [];
  let carry = 0; // a carry (addition) or a borrow (subtraction) owed by this column
  for (let i = 0; i < columns; i++) {
    const t = top[i] as number;
    const u = bottom[i] as number;
    if (op === "+") {
      const sum = t + u + carry;
      parts.push(`${t}+${u}${carry ? "+1" : ""}=${sum}`);
      carry = sum >= 10 ? 1 : 0;
    } else {
      const borrow = t - u - carry < 0 ? 1 : 0;
      const value = t + 10 * borrow - u - carry;
      parts.push(`${t + 10 * borrow}-${u}${carry ? "-1" : ""}=${value}`);
      carry = borrow;
    }
  }
  return `${a}${op}${b}: ${parts.join(" ")} so ${result}`;
}

/** The thinking of a problem at a granularity, one string per line. */
export function thinkingLines(problem: Pick<Problem, "steps">, granularity: Granularity): string[] {
  if (granularity === "steps") return [...problem.steps];
  return problem.steps.map((step) => {
    const m = /^(\d+)([+-])(\d+)=\d+$/.exec(step);
    if (!m) throw new Error(`thinkingLines: not a step "${step}"`);
    return columnLine(Number(m[1]), m[2] as "+" | "-", Number(m[3]));
  });
}

/** The SFT target text: the thinking inside <think>, then the answer. */
export function traceCompletion(problem: Pick<Problem, "steps" | "answer">, granularity: Granularity): string {
  return formatCompletion(thinkingLines(problem, granularity), problem.answer);
}

/** One cold-start example as it is written to data/ (a line of the .jsonl file). */
export interface Trace {
  readonly id: string;
  readonly level: number;
  readonly question: string;
  readonly answer: string;
  /** what the model is conditioned on, formatPrompt(question) */
  readonly prompt: string;
  /** what SFT teaches it to write after the prompt */
  readonly completion: string;
}

export function makeTrace(problem: Problem, granularity: Granularity): Trace {
  return {
    id: problem.id,
    level: problem.level,
    question: problem.question,
    answer: problem.answer,
    prompt: formatPrompt(problem.question),
    completion: traceCompletion(problem, granularity),
  };
}

export interface TraceSetOptions {
  readonly seed: number;
  readonly granularity: Granularity;
  /** how many traces of each level (levels 1…5 in order) */
  readonly perLevel: readonly number[];
  readonly split?: Split;
}

/** What data/traces was made with: 400 traces of each level, 2,000 in all. */
export const DEFAULT_TRACE_OPTIONS: Omit<TraceSetOptions, "granularity"> = {
  seed: 1,
  perLevel: [400, 400, 400, 400, 400],
};

/**
 * A set of traces, levels interleaved by a seeded shuffle. Train-split problems
 * (the default) never show a val or held-out question, not even as a step.
 */
export function makeTraceSet(options: TraceSetOptions): Trace[] {
  const split = options.split ?? "train";
  if (options.perLevel.length > LEVELS.length) throw new Error(`perLevel has ${options.perLevel.length} counts; there are ${LEVELS.length} levels`);
  const traces: Trace[] = [];
  options.perLevel.forEach((count, i) => {
    const level = (LEVELS[i] as { level: number }).level;
    for (const p of generateProblems({ split, level, count, seed: deriveSeed(options.seed, "traces") })) {
      traces.push(makeTrace(p, options.granularity));
    }
  });
  const rng: Rng = mulberry32(deriveSeed(options.seed, `traces/shuffle/${split}`));
  return shuffleInPlace(rng, traces);
}

/** The longest trace of a level in tokens, [BOS, prompt, completion, EOS]: what context it needs. */
export function maxTraceTokens(level: number, granularity: Granularity): number {
  // all-plus, all-nines has the largest totals, so the most digits and columns
  const { terms, digits } = levelSpec(level);
  const question = Array.from({ length: terms }, () => String(operandRange(digits)[1])).join("+");
  const problem = problemFromQuestion(question);
  return encodeExample(formatPrompt(question), traceCompletion(problem, granularity)).ids.length;
}

// ---- checking a trace, independently of how it was made ----

const STEP_LINE = /^(\d+)([+-])(\d+)=(\d+)$/;
const COLUMN_LINE = /^(\d+)([+-])(\d+): (.+) so (\d+)$/;

/** The column entries of a column line re-derived by hand; returns a reason or null. */
function checkColumns(a: number, op: "+" | "-", b: number, body: string, result: number): string | null {
  const columns = Math.max(String(a).length, String(b).length);
  const top = digitsOf(a, columns);
  const bottom = digitsOf(b, columns);
  const tokens = body.split(" ");
  let carry = 0;
  let digits = "";
  let k = 0;
  for (let i = 0; i < columns; i++) {
    const cell = tokens[k++];
    const m = cell === undefined ? null : /^(\d+)([+-])(\d)(?:([+-])1)?=(\d+)$/.exec(cell);
    if (!m) return `column ${i + 1}: cannot read "${cell ?? ""}"`;
    const [, shownTop, cellOp, shownBottom, extra, shownValue] = m;
    if (cellOp !== op || (extra !== undefined && extra !== op)) return `column ${i + 1}: "${cell}" uses the wrong operation`;
    if (Number(shownBottom) !== bottom[i]) return `column ${i + 1}: bottom digit should be ${bottom[i]}`;
    if ((extra !== undefined ? 1 : 0) !== carry) return `column ${i + 1}: the ${op === "+" ? "carry" : "borrow"} is ${carry ? "missing" : "not owed"}`;
    const t = Number(shownTop);
    const value = op === "+" ? t + Number(shownBottom) + carry : t - Number(shownBottom) - carry;
    if (value !== Number(shownValue)) return `column ${i + 1}: "${cell}" is wrong arithmetic`;
    const last = i === columns - 1;
    if (op === "+") {
      if (t !== top[i]) return `column ${i + 1}: top digit should be ${top[i]}`;
      carry = value >= 10 ? 1 : 0;
      digits = (last ? String(value) : String(value % 10)) + digits;
    } else {
      const borrow = t === (top[i] as number) + 10 ? 1 : 0;
      if (t !== top[i] && !borrow) return `column ${i + 1}: top digit should be ${top[i]} (or ${top[i]! + 10} after a borrow)`;
      if (value < 0 || value > 9) return `column ${i + 1}: result ${value} is not one digit`;
      if (borrow !== (top[i]! - bottom[i]! - carry < 0 ? 1 : 0)) return `column ${i + 1}: borrowed when it should not (or not when it should)`;
      carry = borrow;
      digits = String(value) + digits;
    }
  }
  if (k !== tokens.length) return `extra text after the last column: "${tokens.slice(k).join(" ")}"`;
  if (carry && op === "-") return "borrowed past the leftmost column";
  if (Number(digits) !== result) return `the columns give ${Number(digits)}, the line says ${result}`;
  return null;
}

/**
 * Checks a completion as a trace of `question`: well-formed (the verifier's
 * format rule), one thinking line per operation, left to right, each line's
 * arithmetic right and its first operand the previous line's result, and the
 * answer the last result. Returns the problems found (empty = a good trace).
 * Written from the rules, not from the generator, so a generator bug shows up.
 */
export function checkTrace(question: string, completion: string, granularity: Granularity): string[] {
  const problems: string[] = [];
  if (!isWellFormatted(completion)) problems.push("not <think>…</think> <answer>…</answer>");
  const { thinkOpen, thinkClose } = SPECIAL_TOKENS;
  const start = completion.indexOf(thinkOpen);
  const end = completion.indexOf(thinkClose);
  if (start < 0 || end < start) return [...problems, "no think block"];
  const lines = completion.slice(start + thinkOpen.length, end).split("\n");
  const numbers = question.split(/[+-]/).map(Number);
  const ops = question.match(/[+-]/g) ?? [];
  if (lines.length !== ops.length) problems.push(`${lines.length} thinking lines for ${ops.length} operations`);
  let total = numbers[0] as number;
  lines.forEach((line, i) => {
    const m = granularity === "steps" ? STEP_LINE.exec(line) : COLUMN_LINE.exec(line);
    if (!m) return void problems.push(`line ${i + 1} "${line}" is not a ${granularity} line`);
    const a = Number(m[1]);
    const op = m[2] as "+" | "-";
    const b = Number(m[3]);
    const result = Number(granularity === "steps" ? m[4] : m[5]);
    if (a !== total || op !== ops[i] || b !== numbers[i + 1]) problems.push(`line ${i + 1} "${line}" is not the next operation`);
    if (result !== (op === "+" ? a + b : a - b)) problems.push(`line ${i + 1} "${line}" has a wrong result`);
    if (granularity === "columns") {
      const why = checkColumns(a, op, b, m[4] as string, result);
      if (why) problems.push(`line ${i + 1}: ${why}`);
    }
    total = result;
  });
  if (parseAnswer(completion) !== String(total)) problems.push(`the answer is not the last result ${total}`);
  return problems;
}
