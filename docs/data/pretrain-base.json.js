// Data loader: what the page needs to know about the shipped base model,
// data/checkpoints/pretrain-default/ (made by the command in its summary.json):
// its config.json, summary.json, and its recorded validation curve from
// metrics.jsonl (and its training-loss curve, for the facts the page quotes), with steps counted as steps
// done (1-based) like the page's harness; `missing: true` when the
// checkpoint is not there. Also the textbook's size, from data/corpus/textbook.json.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const path = (rel) => fileURLToPath(new URL(`../../data/${rel}`, import.meta.url));
const ck = (name) => path(`checkpoints/pretrain-default/${name}`);
const readJson = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null);

const textbook = readJson(path("corpus/textbook.json"));
// the textbook's first lines, to show the learner what the model reads
const firstLines = existsSync(path("corpus/textbook.txt")) ? readFileSync(path("corpus/textbook.txt"), "utf8").split("\n").slice(0, 6) : [];
const corpus = textbook ? { lines: textbook.lines, tokens: textbook.tokens, bytes: textbook.bytes, command: textbook.command, firstLines } : null;

if (!existsSync(ck("model.safetensors"))) {
  process.stdout.write(JSON.stringify({ missing: true, dir: "data/checkpoints/pretrain-default", corpus }));
} else {
  const val = [];
  const loss = [];
  if (existsSync(ck("metrics.jsonl"))) {
    for (const line of readFileSync(ck("metrics.jsonl"), "utf8").split("\n")) {
      if (!line.trim()) continue;
      let r;
      try { r = JSON.parse(line); } catch { continue; } // a line still being written
      const step = r.step + 1; // metrics.jsonl numbers steps from 0
      if (typeof r.val_loss === "number") val.push([step, r.val_loss]);
      if (typeof r.loss === "number") loss.push([step, r.loss]);
    }
  }
  process.stdout.write(JSON.stringify({
    missing: false, config: readJson(ck("config.json")), summary: readJson(ck("summary.json")), val, loss, corpus,
  }));
}
