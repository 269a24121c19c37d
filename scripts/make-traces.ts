// Writes the cold-start SFT traces and a JSON note of exactly how they were made.
//
//   node --import tsx scripts/make-traces.ts --granularity steps --seed 1 --out data/traces
//
// Flags (defaults are DEFAULT_TRACE_OPTIONS in src/tasks/traces.ts):
//   --granularity steps|columns   one line per operation, or the column method
//   --seed N                      which train-split problems are drawn
//   --per-level N,N,N,N,N         traces of each level, levels 1…5
//   --out DIR                     (default data/traces)
// Output: DIR/cold-start-<granularity>.jsonl (one trace per line: id, level,
// question, answer, prompt, completion) and DIR/cold-start-<granularity>.json
// (options, full command, counts, longest trace in tokens, sha256). Every trace is
// checked with checkTrace before anything is written; the same flags always
// produce the same bytes.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeExample } from "../src/tasks/template.js";
import {
  DEFAULT_TRACE_OPTIONS,
  type Granularity,
  type TraceSetOptions,
  checkTrace,
  makeTraceSet,
  parseGranularity,
} from "../src/tasks/traces.js";

function fail(reason: string): never {
  console.error(`make-traces: ${reason}`);
  process.exit(2);
}

function parseFlags(argv: string[]): { options: TraceSetOptions; outDir: string } {
  let granularity: Granularity = "steps";
  let seed = DEFAULT_TRACE_OPTIONS.seed;
  let perLevel = [...DEFAULT_TRACE_OPTIONS.perLevel];
  let outDir = "data/traces";
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    if (value === undefined) fail(`${flag} needs a value`);
    if (flag === "--out") outDir = value;
    else if (flag === "--granularity") {
      try {
        granularity = parseGranularity(value);
      } catch (e) {
        fail((e as Error).message);
      }
    } else if (flag === "--seed") {
      seed = Number(value);
      if (!Number.isInteger(seed) || seed < 0) fail(`--seed must be a whole number ≥ 0, got "${value}"`);
    } else if (flag === "--per-level") {
      perLevel = value.split(",").map(Number);
      if (perLevel.length < 1 || perLevel.length > 5 || perLevel.some((n) => !Number.isInteger(n) || n < 0)) {
        fail(`--per-level takes 1 to 5 whole numbers, e.g. 400,400,400,400,400; got "${value}"`);
      }
    } else fail(`unknown flag ${flag} (known: --granularity --seed --per-level --out)`);
  }
  return { options: { seed, granularity, perLevel }, outDir };
}

const { options, outDir } = parseFlags(process.argv.slice(2));
const traces = makeTraceSet(options);
let longest = 0;
for (const t of traces) {
  const problems = checkTrace(t.question, t.completion, options.granularity);
  if (problems.length) fail(`trace ${t.id} (${t.question}) is bad: ${problems.join("; ")}`);
  longest = Math.max(longest, encodeExample(t.prompt, t.completion).ids.length); // throws on unknown characters
}
const text = traces.map((t) => JSON.stringify(t)).join("\n") + "\n";
const name = `cold-start-${options.granularity}`;
const command =
  `node --import tsx scripts/make-traces.ts --granularity ${options.granularity} --seed ${options.seed} ` +
  `--per-level ${options.perLevel.join(",")} --out ${outDir}`;

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `${name}.jsonl`), text);
const note = {
  command,
  generator: "src/tasks/traces.ts makeTraceSet",
  options,
  traces: traces.length,
  split: "train",
  longest_tokens: longest,
  bytes: Buffer.byteLength(text),
  sha256: createHash("sha256").update(text).digest("hex"),
};
writeFileSync(join(outDir, `${name}.json`), JSON.stringify(note, null, 2) + "\n");
console.log(`wrote ${join(outDir, `${name}.jsonl`)}: ${traces.length} traces, longest ${longest} tokens, sha256 ${note.sha256.slice(0, 12)}…`);
