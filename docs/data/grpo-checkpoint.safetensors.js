// Data loader: the GRPO teacher's weights, data/checkpoints/grpo-default/model.safetensors
// (for token-level KD on the distillation page); empty when absent.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/checkpoints/grpo-default/model.safetensors", import.meta.url));
if (existsSync(file)) process.stdout.write(readFileSync(file));
