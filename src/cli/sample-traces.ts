// r1-lab sample-traces --from <teacher run> --preset ci|default --seed N --out DIR
//
// Rejection sampling (R1's stage 3, src/train/rejection.ts): the teacher writes n replies
// to each training prompt and only the correct, well-formed ones are kept. Writes
//   traces.jsonl   the kept traces, with the cold-start traces' fields (SFT reads them)
//   samples.jsonl  every sample with its verdict (kept, duplicate, too_long, wrong, malformed)
//   summary.json   the command, the dataset's size, the acceptance rate per level, the FLOPs
//   config.json    stage "rejection", the settings and the teacher
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readConfig, readModel, writeConfig, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { PRESET_NAMES, rejectionPreset } from "../train/presets.js";
import { rejectionSample, sampledTokens, stepProblems } from "../train/rejection.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { Progress } from "./progress.js";

export const TRACES_FILE = "traces.jsonl";
export const SAMPLES_FILE = "samples.jsonl";

export async function sampleTraces(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS, prompts: { type: "string" }, samples: { type: "string" }, "max-tokens": { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const from = values.from;
  if (!from) throw new UsageError("--from DIR is required: the teacher's run directory (e.g. data/checkpoints/grpo-default)");
  const out = values.out;
  if (!out) throw new UsageError("--out DIR is required (where the dataset goes)");
  const presetName = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const config = { ...rejectionPreset(presetName), seed };
  config.promptsPerLevel = intFlag("prompts", values.prompts, config.promptsPerLevel, 1);
  config.samplesPerPrompt = intFlag("samples", values.samples, config.samplesPerPrompt, 1);
  config.maxCompletionTokens = intFlag("max-tokens", values["max-tokens"], config.maxCompletionTokens, 0);

  const saved = (await readConfig(from)) as { stage?: string; model?: GPTConfig };
  if (!saved.model) throw new Error(`${from}/config.json has no "model" section`);
  const { tensors } = await readModel(from);
  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  const teacher = new GPT(engine, saved.model, seed);
  try {
    loadModelTensors(teacher, tensors);
    const total = config.levels.length * config.promptsPerLevel * config.samplesPerPrompt;
    const progress = new Progress(total, `sample-traces (${presetName}, ${backend.name})`);
    const result = await rejectionSample(teacher, config, (done) => progress.update(done));
    await mkdir(out, { recursive: true });
    await writeFile(join(out, TRACES_FILE), result.kept.map((t) => JSON.stringify(t)).join("\n") + (result.kept.length ? "\n" : ""));
    await writeFile(join(out, SAMPLES_FILE), result.samples.map((s) => JSON.stringify({
      id: s.problem.id, level: s.problem.level, question: s.problem.question, answer: s.problem.answer,
      completion: s.completion, tokens: s.tokens, verdict: s.verdict,
    })).join("\n") + "\n");
    const tokens = sampledTokens(result.samples);
    // sampling with a KV cache: about one forward pass per token, at the longest context
    const flops = tokens * teacher.flopsPerToken(saved.model.maxSeqLen);
    const acc = result.acceptance;
    const flags = [
      values.prompts ? ` --prompts ${config.promptsPerLevel}` : "", values.samples ? ` --samples ${config.samplesPerPrompt}` : "",
      values["max-tokens"] ? ` --max-tokens ${config.maxCompletionTokens}` : "",
    ].join("");
    const summary: RunSummary = {
      command: `r1-lab sample-traces --from ${from} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}${flags}`,
      stage: "rejection", preset: presetName, seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: teacher.parameterCount(),
      metrics: {
        traces: result.kept.length,
        /** kept (the answer is right) although a worked step is wrong */
        kept_with_flawed_steps: result.kept.filter((t) => stepProblems(t).length > 0).length,
        sampled: acc.all!.sampled,
        acceptance_rate: acc.all!.acceptance_rate,
        ...Object.fromEntries(config.levels.map((l) => [`acceptance_rate_L${l}`, acc[String(l)]!.acceptance_rate])),
        sampled_tokens: tokens,
        flops,
      },
      acceptance: acc,
      teacher: from, teacher_stage: saved.stage ?? null,
      config,
    };
    await writeConfig(out, { stage: "rejection", preset: presetName, seed, teacher: from, model: saved.model, rejection: config });
    await writeSummary(out, summary);
    if (values.json) print(JSON.stringify(summary, null, 2));
    else {
      const per = config.levels.map((l) => `L${l} ${pct(acc[String(l)]!.acceptance_rate)}`).join(" · ");
      print(`done: kept ${result.kept.length} traces of ${acc.all!.sampled} samples · acceptance ${pct(acc.all!.acceptance_rate)} (${per}) · ${summary.wall_s.toFixed(1)} s · dataset in ${out}/${TRACES_FILE}`);
    }
    return 0;
  } finally {
    teacher.dispose();
    backend.destroy();
  }
}

function pct(x: number | null | undefined): string {
  return x == null ? "?" : `${(x * 100).toFixed(1)}%`;
}
