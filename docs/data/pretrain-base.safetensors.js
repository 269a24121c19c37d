// Data loader: the shipped base model's weights,
// data/checkpoints/pretrain-default/model.safetensors, copied as they are (a few
// hundred KB). Empty when the checkpoint is not there: the page then offers only
// "start from scratch".
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/checkpoints/pretrain-default/model.safetensors", import.meta.url));
if (existsSync(file)) process.stdout.write(readFileSync(file));
