// R1's chat template, in miniature.
//
// DeepSeek-R1-Zero (Table 1 of the paper) prompts the base model with a
// conversation in which the assistant first reasons inside <think></think> and
// then answers inside <answer></answer>, ending "User: {prompt}. Assistant:".
// We keep that shape. The instruction sentence is optional and off by default:
// a character-level model pays one token per character, and ~170 characters of
// instruction would not fit the short context a tiny model trains with. (R1's
// README also advises no system prompt at inference.)
//
//   prompt:      "User: 37+48-19. Assistant: "
//   completion:  "<think>37+48=85\n85-19=66</think>\n<answer>66</answer>"
//   direct:      "<think></think>\n<answer>66</answer>"
//
// The direct (no chain of thought) form keeps an empty think block, so the same
// verifier and format rule apply to both and the only difference between a
// "CoT" and a "no-CoT" model is the thinking itself.

import { LEVELS, levelSpec, operandRange, solveExpression } from "./arithmetic.js";
import { BOS_ID, EOS_ID, SPECIAL_TOKENS, encode } from "./tokenizer.js";

const { thinkOpen, thinkClose, answerOpen, answerClose } = SPECIAL_TOKENS;

/** A paraphrase of R1-Zero's instruction (Table 1), for formatPrompt(q, {instruction: true}). */
export const R1_INSTRUCTION =
  "A conversation between User and Assistant. The User asks a question and the Assistant solves it. " +
  `The Assistant first thinks about the reasoning, then gives the answer, with the reasoning inside ${thinkOpen} ${thinkClose} ` +
  `and the answer inside ${answerOpen} ${answerClose}.`;

export interface PromptOptions {
  /** prepend R1_INSTRUCTION (default false) */
  readonly instruction?: boolean;
}

/** The text the model is conditioned on; generation continues right after it. */
export function formatPrompt(question: string, options: PromptOptions = {}): string {
  const preamble = options.instruction ? `${R1_INSTRUCTION}\n` : "";
  return `${preamble}User: ${question}. Assistant: `;
}

/** The SFT target: the worked steps inside <think>, then the answer. */
export function formatCompletion(steps: readonly string[], answer: string): string {
  return `${thinkOpen}${steps.join("\n")}${thinkClose}\n${answerOpen}${answer}${answerClose}`;
}

/** The answer with no chain of thought (an empty think block, see the header). */
export function formatDirectAnswer(answer: string): string {
  return formatCompletion([], answer);
}

/** A training example as token ids: [BOS, prompt…, completion…, EOS]. */
export interface EncodedExample {
  readonly ids: number[];
  /** tokens before the completion (BOS + prompt); SFT puts no loss on these */
  readonly promptLength: number;
}

export function encodeExample(prompt: string, completion: string): EncodedExample {
  const promptIds = [BOS_ID, ...encode(prompt)];
  return { ids: [...promptIds, ...encode(completion), EOS_ID], promptLength: promptIds.length };
}

/**
 * The longest [BOS, prompt, completion, EOS] any problem of `level` can need,
 * in tokens: use it to pick a context length. The all-plus, all-nines question
 * is the longest, since it has the largest running totals.
 */
export function maxExampleTokens(level: number, options: PromptOptions & { cot?: boolean } = {}): number {
  const { terms, digits } = levelSpec(level);
  const question = Array.from({ length: terms }, () => String(operandRange(digits)[1])).join("+");
  const { answer, steps } = solveExpression(question);
  const completion = options.cot === false ? formatDirectAnswer(answer) : formatCompletion(steps, answer);
  return encodeExample(formatPrompt(question, options), completion).ids.length;
}

/** maxExampleTokens for every level, e.g. { 1: 38, 2: 52, ... }. */
export function maxExampleTokensByLevel(options: PromptOptions & { cot?: boolean } = {}): Record<number, number> {
  return Object.fromEntries(LEVELS.map((s) => [s.level, maxExampleTokens(s.level, options)]));
}
