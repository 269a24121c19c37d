// Data loader: the RLHF lesson's recorded results, data/results/rlhf.json
// ({"runs": [{"name", "command", "metrics", "series", "calibration"}], "claims": [...], "same_kl": {...}}),
// as it is; {"missing": true} when it has not been recorded yet (the page says so).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/results/rlhf.json", import.meta.url));
if (!existsSync(file)) {
  process.stdout.write(JSON.stringify({ missing: true, file: "data/results/rlhf.json" }));
} else {
  process.stdout.write(JSON.stringify(JSON.parse(readFileSync(file, "utf8"))));
}
