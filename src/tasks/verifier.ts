// Rule-based grading, as in DeepSeek-R1: no neural reward model, just two rules.
//
//   format   — the completion is exactly one <think>…</think> block followed by
//              exactly one <answer>…</answer> block, with only whitespace around
//              them, and a non-empty answer;
//   accuracy — the answer block's content, trimmed, is exactly the expected
//              integer ("66"; not "066", "66.0" or "sixty-six").
//
// The two are independent: "<answer>66</answer>" alone is correct but badly
// formatted. Anything a model can emit (empty text, missing or repeated tags,
// unicode junk) is simply wrong; these functions never throw on model output.

import { SPECIAL_TOKENS } from "./tokenizer.js";

const { thinkOpen, thinkClose, answerOpen, answerClose, eos, pad } = SPECIAL_TOKENS;
const TAGS = [thinkOpen, thinkClose, answerOpen, answerClose] as const;

export interface Verdict {
  readonly correct: boolean;
  readonly formatOk: boolean;
}

function countOf(text: string, needle: string): number {
  let count = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) count++;
  return count;
}

/** Drops trailing <eos>/<pad> text, in case a sampler decoded the stop token too. */
function stripStopTokens(text: string): string {
  let out = text.trimEnd();
  for (;;) {
    if (out.endsWith(eos)) out = out.slice(0, -eos.length).trimEnd();
    else if (out.endsWith(pad)) out = out.slice(0, -pad.length).trimEnd();
    else return out;
  }
}

/**
 * The content of the completion's answer block, trimmed; null when there is no
 * answer block, more than one (no hedging by listing several answers), the tags
 * are out of order, or the block is empty.
 */
export function parseAnswer(completion: string): string | null {
  if (typeof completion !== "string") return null;
  if (countOf(completion, answerOpen) !== 1 || countOf(completion, answerClose) !== 1) return null;
  const start = completion.indexOf(answerOpen) + answerOpen.length;
  const end = completion.indexOf(answerClose);
  if (end < start) return null;
  const content = completion.slice(start, end).trim();
  return content === "" ? null : content;
}

/** True when the completion is "<think>…</think> <answer>…</answer>" and nothing else. */
export function isWellFormatted(completion: string): boolean {
  if (typeof completion !== "string") return false;
  const text = stripStopTokens(completion);
  if (TAGS.some((tag) => countOf(text, tag) !== 1)) return false;
  const positions = TAGS.map((tag) => text.indexOf(tag));
  const [tOpen, tClose, aOpen, aClose] = positions as [number, number, number, number];
  if (!(tOpen < tClose && tClose < aOpen && aOpen < aClose)) return false;
  const before = text.slice(0, tOpen);
  const between = text.slice(tClose + thinkClose.length, aOpen);
  const after = text.slice(aClose + answerClose.length);
  if (before.trim() !== "" || between.trim() !== "" || after.trim() !== "") return false;
  // The think block may hold anything but other special tokens.
  const thinking = text.slice(tOpen + thinkOpen.length, tClose);
  if (thinking.includes(SPECIAL_TOKENS.bos) || thinking.includes(eos) || thinking.includes(pad)) return false;
  return parseAnswer(text) !== null;
}

/** Canonical form of an expected answer: a plain integer string. */
function canonicalExpected(expected: string | number): string {
  const text = String(expected).trim();
  if (!/^-?\d+$/.test(text)) throw new Error(`verify: expected answer must be an integer, got "${expected}"`);
  return BigInt(text).toString(); // "066" → "66", "-0" → "0"
}

/** Grades one completion against the expected integer answer. */
export function verify(completion: string, expected: string | number): Verdict {
  const want = canonicalExpected(expected);
  const got = parseAnswer(completion);
  return { correct: got !== null && got === want, formatOk: isWellFormatted(completion) };
}

/** GRPO accuracy reward: 1 when the answer is right, else 0. */
export function accuracyReward(completion: string, expected: string | number): number {
  return verify(completion, expected).correct ? 1 : 0;
}

/** GRPO format reward: 1 when the think/answer structure is right, else 0. */
export function formatReward(completion: string): number {
  return isWellFormatted(completion) ? 1 : 0;
}
