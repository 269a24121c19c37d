// Writes data/results/<lesson>.json from finished run directories, copying each
// run's command and metrics from its summary.json (pages quote these files; they
// never hard-code a result). Claims are kept from the existing file. A run made from
// another run's checkpoint (its summary names a "base") also records the base's command.
// --series f1,f2 also copies those per-step fields of metrics.jsonl, as [step, value]
// pairs (the curves a page draws from a recorded run).
//   node --import tsx scripts/record-results.ts <lesson> [--series f1,f2] <name>=<run dir> [...]
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const seriesAt = args.indexOf("--series");
const seriesFields = seriesAt >= 0 ? (args.splice(seriesAt, 2)[1] ?? "").split(",").filter(Boolean) : [];
const [lesson, ...pairs] = args;
if (!lesson || pairs.length === 0) {
  console.error("usage: record-results.ts <lesson> <name>=<run dir> [...]");
  process.exit(2);
}
const file = join("data/results", `${lesson}.json`);
const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { claims?: string[] }) : {};
const runs = pairs.map((pair) => {
  const [name, dir] = pair.split("=");
  if (!name || !dir) throw new Error(`expected name=dir, got "${pair}"`);
  const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as {
    command: string; backend: string; adapter: string; wall_s: number; params: number; metrics: Record<string, number>; base?: string;
    calibration?: unknown;
  };
  // a run that started from another run's checkpoint (SFT from a base): keep the command that made the base
  const baseSummary = summary.base ? join(summary.base, "summary.json") : null;
  const base_command = baseSummary && existsSync(baseSummary) ? (JSON.parse(readFileSync(baseSummary, "utf8")) as { command: string }).command : undefined;
  let series: Record<string, [number, number][]> | undefined;
  if (seriesFields.length > 0) {
    const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    series = Object.fromEntries(seriesFields.map((f) => [f, lines.flatMap((l) => (typeof l[f] === "number" ? [[l.step as number, Math.round((l[f] as number) * 1e4) / 1e4] as [number, number]] : []))]));
  }
  return {
    name, command: summary.command, ...(base_command ? { base_command } : {}),
    backend: summary.backend, adapter: summary.adapter, wall_s: summary.wall_s, params: summary.params, metrics: summary.metrics,
    ...(series ? { series } : {}),
    // a reward model's calibration bins (r1-lab train rm), which its page draws
    ...(summary.calibration ? { calibration: summary.calibration } : {}),
  };
});
mkdirSync("data/results", { recursive: true });
// arrays of plain numbers (the series' [step, value] pairs) on one line each, so the file stays readable
const text = JSON.stringify({ runs, claims: previous.claims ?? [] }, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, nums: string) => `[${nums.replace(/\s+/g, "")}]`);
writeFileSync(file, text + "\n");
console.log(`wrote ${file} (${runs.length} runs)`);
