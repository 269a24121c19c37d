// Data loader: what the recorded teacher wrote during rejection sampling, for the page's
// browser: {summary, samples}, from data/traces/teacher-default.json (the sample-traces
// summary: command, acceptance per level) and data/traces/teacher-default-samples.jsonl
// (the first samples of each level, every verdict). {"missing": true} without them.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const at = (p) => fileURLToPath(new URL(`../../data/traces/${p}`, import.meta.url));
if (!existsSync(at("teacher-default.json")) || !existsSync(at("teacher-default-samples.jsonl"))) {
  process.stdout.write(JSON.stringify({ missing: true }));
} else {
  const summary = JSON.parse(readFileSync(at("teacher-default.json"), "utf8"));
  const samples = readFileSync(at("teacher-default-samples.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  process.stdout.write(JSON.stringify({ summary, samples }));
}
