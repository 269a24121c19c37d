// Data loader: the report card of the recorded default pipeline, data/reports/default/report.json
// (r1-lab pipeline, copied by scripts/record-distill.ts --ship default); {"missing": true} without it.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/reports/default/report.json", import.meta.url));
process.stdout.write(existsSync(file) ? JSON.stringify(JSON.parse(readFileSync(file, "utf8"))) : JSON.stringify({ missing: true }));
