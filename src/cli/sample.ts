// r1-lab sample --from DIR --prompt "…": continue a prompt with a trained model.
import { readConfig, readModel } from "../io/run-record-node.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import { generate } from "../sample/generate.js";
import { ANSWER_CLOSE_ID, BOS_ID, EOS_ID, decode, encode } from "../tasks/index.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";

export async function sample(argv: string[], print: (s: string) => void): Promise<number> {
  const { values } = parse(argv, {
    ...COMMON_OPTIONS,
    prompt: { type: "string" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    "max-tokens": { type: "string" },
    n: { type: "string" },
  });
  if (!values.from) throw new UsageError("--from DIR is required (a run directory with model.safetensors and config.json)");
  if (values.prompt === undefined) throw new UsageError('--prompt "…" is required');
  const temperature = values.temperature === undefined ? 0 : Number(values.temperature);
  const topP = values["top-p"] === undefined ? 1 : Number(values["top-p"]);
  if (!(temperature >= 0)) throw new UsageError(`--temperature must be a number ≥ 0, got "${values.temperature}"`);
  if (!(topP > 0 && topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got "${values["top-p"]}"`);
  const topK = intFlag("top-k", values["top-k"], 0);
  const maxNewTokens = intFlag("max-tokens", values["max-tokens"], 80, 1);
  const n = intFlag("n", values.n, 1, 1);
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  let promptIds: number[];
  try {
    promptIds = [BOS_ID, ...encode(values.prompt)];
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const cfg = (await readConfig(values.from)) as { model?: GPTConfig };
  if (!cfg.model) throw new Error(`${values.from}/config.json has no "model" section`);
  const { backend } = await createBackendWithReport(backendKind);
  try {
    const engine = new Engine(backend);
    const model = new GPT(engine, cfg.model, 0);
    const { tensors } = await readModel(values.from);
    loadModelTensors(model, tensors);
    const { tokens } = await generate(model, Array.from({ length: n }, () => promptIds), {
      temperature, topK, topP, maxNewTokens, seed, stopTokens: [EOS_ID, ANSWER_CLOSE_ID],
    });
    const texts = tokens.map((t) => decode(t));
    if (values.json) print(JSON.stringify({ prompt: values.prompt, completions: texts }, null, 2));
    else for (const t of texts) print(values.prompt + t);
    model.dispose();
    return 0;
  } finally {
    backend.destroy();
  }
}
