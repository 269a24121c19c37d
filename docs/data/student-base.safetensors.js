// Data loader: the student's base model (r1-lab train pretrain --preset default --arch student),
// data/checkpoints/student-pretrain-default/model.safetensors; empty when absent.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../../data/checkpoints/student-pretrain-default/model.safetensors", import.meta.url));
if (existsSync(file)) process.stdout.write(readFileSync(file));
