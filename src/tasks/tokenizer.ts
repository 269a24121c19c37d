// A character-level tokenizer with a fixed vocabulary.
//
// One token per character keeps the model honest about arithmetic: "85" is the
// tokens "8","5", so the model has to learn place value instead of memorising a
// token for every number. The vocabulary never depends on the data, so a
// checkpoint's embedding rows mean the same thing in every run.
//
// Layout (ids are stable; checkpoints depend on them):
//   0–6   special tokens: PAD, BOS, EOS, <think>, </think>, <answer>, </answer>
//   7     newline
//   8…    printable ASCII from space (32) to "~" (126), except "<" and ">"
// "<" and ">" are left out on purpose: they only ever appear as part of a special
// token, so the model cannot write half a tag like "</thi".

export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const THINK_OPEN_ID = 3;
export const THINK_CLOSE_ID = 4;
export const ANSWER_OPEN_ID = 5;
export const ANSWER_CLOSE_ID = 6;

/** How each special token is written in text (encode recognises these as units). */
export const SPECIAL_TOKENS = {
  pad: "<pad>",
  bos: "<bos>",
  eos: "<eos>",
  thinkOpen: "<think>",
  thinkClose: "</think>",
  answerOpen: "<answer>",
  answerClose: "</answer>",
} as const;

const SPECIAL_TEXTS: readonly string[] = [
  SPECIAL_TOKENS.pad,
  SPECIAL_TOKENS.bos,
  SPECIAL_TOKENS.eos,
  SPECIAL_TOKENS.thinkOpen,
  SPECIAL_TOKENS.thinkClose,
  SPECIAL_TOKENS.answerOpen,
  SPECIAL_TOKENS.answerClose,
];

function buildCharacters(): string[] {
  const chars = ["\n"];
  for (let code = 32; code <= 126; code++) {
    const ch = String.fromCharCode(code);
    if (ch !== "<" && ch !== ">") chars.push(ch);
  }
  return chars;
}

/** Token id → its text. Index = id. */
export const VOCAB: readonly string[] = [...SPECIAL_TEXTS, ...buildCharacters()];
export const vocabSize = VOCAB.length;
export const NUM_SPECIAL_TOKENS = SPECIAL_TEXTS.length;

const CHAR_TO_ID = new Map<string, number>();
VOCAB.forEach((text, id) => {
  if (id >= NUM_SPECIAL_TOKENS) CHAR_TO_ID.set(text, id);
});

export function isSpecialId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < NUM_SPECIAL_TOKENS;
}

/** The id of one plain character; throws for characters outside the vocabulary. */
export function charId(ch: string): number {
  const id = CHAR_TO_ID.get(ch);
  if (id === undefined) throw unknownCharacter(ch, -1);
  return id;
}

function unknownCharacter(ch: string, index: number): Error {
  const code = ch.codePointAt(0) ?? 0;
  const where = index >= 0 ? ` at position ${index}` : "";
  const hint =
    ch === "<" || ch === ">"
      ? ` ("<" and ">" only occur inside special tokens: ${SPECIAL_TEXTS.join(" ")})`
      : " (the vocabulary is newline plus printable ASCII)";
  return new Error(
    `tokenizer: unknown character ${JSON.stringify(ch)} (U+${code.toString(16).toUpperCase().padStart(4, "0")})${where}${hint}`,
  );
}

/** Text → token ids. Special tokens written as text ("<think>") become one id. */
export function encode(text: string): number[] {
  const ids: number[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === "<") {
      const special = SPECIAL_TEXTS.findIndex((s) => text.startsWith(s, i));
      if (special >= 0) {
        ids.push(special);
        i += (SPECIAL_TEXTS[special] as string).length;
        continue;
      }
    }
    // Iterate by code point so an emoji is reported whole, not as half a surrogate.
    const ch = String.fromCodePoint(text.codePointAt(i) as number);
    const id = CHAR_TO_ID.get(ch);
    if (id === undefined) throw unknownCharacter(ch, i);
    ids.push(id);
    i += ch.length;
  }
  return ids;
}

/** Token ids → text. Special tokens are written as their text ("<eos>"). */
export function decode(ids: ArrayLike<number>): string {
  let text = "";
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    const piece = Number.isInteger(id) ? VOCAB[id] : undefined;
    if (piece === undefined) {
      throw new Error(`tokenizer: token id ${id} at position ${i} is outside the vocabulary (0–${vocabSize - 1})`);
    }
    text += piece;
  }
  return text;
}

/** Throws with the first offending character if `text` cannot be encoded. */
export function assertEncodable(text: string): void {
  encode(text);
}
