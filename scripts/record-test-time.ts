// Writes data/results/test-time.json ({runs: [{name, command, metrics, …}], claims}; metrics are
// the eval report's flat "overall" numbers) from `r1-lab eval --json --budget …` reports, one per
// model (the Test-time compute lesson quotes this file; it never hard-codes a result).
// Claims, and runs of other names, are kept from the existing file; a run of the same name is replaced.
//   node --import tsx scripts/record-test-time.ts <name>=<report.json> [...]
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const file = "data/results/test-time.json";
const pairs = process.argv.slice(2);
if (pairs.length === 0) {
  console.error("usage: record-test-time.ts <name>=<eval report.json> [...]");
  process.exit(2);
}
const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { claims?: string[]; runs?: { name: string }[] }) : {};
const fresh = pairs.map((pair) => {
  const [name, path] = pair.split("=");
  if (!name || !path) throw new Error(`expected name=report.json, got "${pair}"`);
  const r = JSON.parse(readFileSync(path, "utf8")) as { command: string; backend: string; config: unknown; overall: unknown; budget?: unknown; levels: unknown };
  if (!r.budget) throw new Error(`${path} has no thinking-budget sweep: run r1-lab eval with --budget`);
  return { name, command: r.command, backend: r.backend, config: r.config, metrics: r.overall, budget: r.budget, levels: r.levels };
});
const runs = [...(previous.runs ?? []).filter((r) => !fresh.some((f) => f.name === r.name)), ...fresh];
writeFileSync(file, JSON.stringify({ runs, claims: previous.claims ?? [] }, null, 2) + "\n");
console.log(`wrote ${file} (${runs.length} runs: ${runs.map((r) => r.name).join(", ")})`);
