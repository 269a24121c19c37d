// Writes the pretraining textbook and a JSON note of exactly how it was made.
//
//   node --import tsx scripts/make-corpus.ts --seed 1 --out data/corpus
//
// Flags (defaults are DEFAULT_CORPUS_OPTIONS in src/tasks/corpus.ts):
//   --seed N  --fact-repeats N  --place-value-lines N  --addition-examples N
//   --subtraction-examples N  --chain-examples N  --out DIR (default data/corpus)
// Output: DIR/textbook.txt and DIR/textbook.json (options, full command, size,
// sha256). The same flags always produce the same bytes.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CorpusOptions, DEFAULT_CORPUS_OPTIONS, makeTextbook } from "../src/tasks/corpus.js";
import { encode } from "../src/tasks/tokenizer.js";

const NUMERIC_FLAGS: Record<string, keyof CorpusOptions> = {
  "--seed": "seed",
  "--fact-repeats": "factRepeats",
  "--place-value-lines": "placeValueLines",
  "--addition-examples": "additionExamples",
  "--subtraction-examples": "subtractionExamples",
  "--chain-examples": "chainExamples",
};

function fail(reason: string): never {
  console.error(`make-corpus: ${reason}`);
  process.exit(2);
}

function parseArgs(argv: string[]): { options: CorpusOptions; outDir: string } {
  const options: Record<keyof CorpusOptions, number> = { ...DEFAULT_CORPUS_OPTIONS };
  let outDir = "data/corpus";
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    if (value === undefined) fail(`${flag} needs a value`);
    if (flag === "--out") {
      outDir = value;
      continue;
    }
    const key = NUMERIC_FLAGS[flag];
    if (!key) fail(`unknown flag ${flag} (known: ${[...Object.keys(NUMERIC_FLAGS), "--out"].join(" ")})`);
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) fail(`${flag} must be a whole number ≥ 0, got "${value}"`);
    options[key] = n;
  }
  return { options, outDir };
}

const { options, outDir } = parseArgs(process.argv.slice(2));
const text = makeTextbook(options);
const ids = encode(text); // throws, naming the character, if anything is outside the vocabulary

// Spell out every option, so the command reproduces the file even if defaults change.
const flags = Object.entries(NUMERIC_FLAGS).map(([flag, key]) => `${flag} ${options[key]}`);
const command = `node --import tsx scripts/make-corpus.ts ${flags.join(" ")} --out ${outDir}`;

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "textbook.txt"), text);
const note = {
  command,
  generator: "src/tasks/corpus.ts makeTextbook",
  options,
  bytes: Buffer.byteLength(text),
  lines: text.split("\n").length - 1,
  tokens: ids.length,
  sha256: createHash("sha256").update(text).digest("hex"),
};
writeFileSync(join(outDir, "textbook.json"), JSON.stringify(note, null, 2) + "\n");
console.log(`wrote ${join(outDir, "textbook.txt")}: ${note.lines} lines, ${note.bytes} bytes, sha256 ${note.sha256.slice(0, 12)}…`);
