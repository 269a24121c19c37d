// Data loader: the MoE lesson's recorded results, data/results/moe.json, as it is;
// {"missing": true} when it has not been recorded yet (the page says so).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/results/moe.json", import.meta.url));
if (!existsSync(file)) {
  process.stdout.write(JSON.stringify({ missing: true, file: "data/results/moe.json" }));
} else {
  process.stdout.write(JSON.stringify(JSON.parse(readFileSync(file, "utf8"))));
}
