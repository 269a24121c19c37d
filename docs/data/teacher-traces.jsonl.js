// Data loader: the recorded teacher's kept traces, data/traces/teacher-default.jsonl (the
// distillation dataset the page's student trains on), as they are; empty when absent.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/traces/teacher-default.jsonl", import.meta.url));
if (existsSync(file)) process.stdout.write(readFileSync(file));
