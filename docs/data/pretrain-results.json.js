// Data loader: the Pretrain lesson's recorded results, data/results/pretrain.json
// ({"runs": [{"name", "command", "metrics"}], "claims": [...]}), as it is. When the
// file has not been recorded yet the page gets {"missing": true} and says so.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/results/pretrain.json", import.meta.url));
if (!existsSync(file)) {
  process.stdout.write(JSON.stringify({ missing: true, file: "data/results/pretrain.json" }));
} else {
  const results = JSON.parse(readFileSync(file, "utf8")); // fail the build on a malformed file
  process.stdout.write(JSON.stringify(results));
}
