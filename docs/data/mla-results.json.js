// Data loader: the MLA lesson's recorded results, data/results/mla.json
// ({"runs": [{"name", "command", "metrics"}], "claims": [...]}), as it is; {"missing": true}
// when it has not been recorded yet (the page says so).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/results/mla.json", import.meta.url));
if (!existsSync(file)) {
  process.stdout.write(JSON.stringify({ missing: true, file: "data/results/mla.json" }));
} else {
  process.stdout.write(JSON.stringify(JSON.parse(readFileSync(file, "utf8"))));
}
