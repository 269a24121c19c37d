// Writes the claims of data/results/mla.json from its runs (src/harness/jobs/mla-claims.ts),
// after scripts/record-results.ts has copied the runs in. Run from the repository root:
//   node --import tsx scripts/mla-claims.ts
import { readFileSync, writeFileSync } from "node:fs";
import { mlaClaims, mlaFacts, type RecordedRun } from "../src/harness/jobs/mla-claims.js";
const file = "data/results/mla.json";
const d = JSON.parse(readFileSync(file, "utf8")) as { runs: RecordedRun[]; claims: string[] };
const presets = ["ci", "default"].filter((p) => d.runs.some((r) => r.command.includes(`--preset ${p} `)));
d.claims = presets.flatMap((p) => mlaClaims(mlaFacts(d.runs, p)));
writeFileSync(file, JSON.stringify(d, null, 2) + "\n");
console.log(d.claims.join("\n"));
