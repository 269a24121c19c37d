// Data loader: the distillation lesson's recorded results, data/results/distill.json
// ({"runs": [{"name", "command", "metrics", "stages"}], "claims": [...]}), as it is;
// {"missing": true} when it has not been recorded yet (the page says so).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/results/distill.json", import.meta.url));
process.stdout.write(existsSync(file) ? JSON.stringify(JSON.parse(readFileSync(file, "utf8"))) : JSON.stringify({ missing: true, file: "data/results/distill.json" }));
