// Data loader: the RLHF lesson's shipped preference pairs, data/preferences/pairs-ci.json
// (made by `r1-lab train rm --preset ci`, see data/preferences/README.md), as they are;
// {"missing": true} when the file is not there (the page says so).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/preferences/pairs-ci.json", import.meta.url));
if (!existsSync(file)) {
  process.stdout.write(JSON.stringify({ missing: true, file: "data/preferences/pairs-ci.json" }));
} else {
  process.stdout.write(JSON.stringify(JSON.parse(readFileSync(file, "utf8"))));
}
