// Data loader: the shipped GRPO model's weights, data/checkpoints/grpo-default/model.safetensors,
// copied as they are (about half a megabyte). Empty when the checkpoint is not there: the
// job then says it is not part of this build.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/checkpoints/grpo-default/model.safetensors", import.meta.url));
if (existsSync(file)) process.stdout.write(readFileSync(file));
