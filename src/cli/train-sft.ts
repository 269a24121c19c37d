// r1-lab train sft --from <base run dir> --preset ci|default --seed N --out DIR
//
// Fine-tunes a base model on cold-start traces and writes the run record
// (metrics.jsonl, summary.json, config.json, model.safetensors, optimizer.safetensors).
// --from a base (pretrain) run starts a new SFT run from its weights; --from an
// unfinished SFT run (one stopped with --stop-after) continues it where it stopped.
// The step loop, checkpoints and summary.json are runStage's (stage.ts).
import { evaluate } from "../eval/index.js";
import { readConfig, readModel, readOptimizer, writeConfig } from "../io/run-record-node.js";
import type { GPTConfig } from "../nn/gpt.js";
import { sftPreset } from "../train/presets.js";
import { SftRun, type SftResume } from "../train/sft.js";
import { COMMON_OPTIONS, UsageError, intFlag, parse } from "./args.js";
import { runDirs } from "./interrupt.js";
import { progressBar } from "./progress.js";
import { pct, round, runStage, saveWeights, stageFlags } from "./stage.js";

interface SavedConfig {
  stage?: string;
  step?: number;
  preset?: string;
  seed?: number;
  model?: GPTConfig;
  base?: string;
}

export async function trainSft(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, steps: { type: "string" }, "stop-after": { type: "string" }, resume: { type: "string" } });
  if (positionals.length !== 1 || positionals[0] !== "sft") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "sft")}"`);
  const { from, out } = runDirs(values);
  if (!from) throw new UsageError("--from DIR is required: the base model's run directory (e.g. data/checkpoints/pretrain-default)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const { preset: presetName, seed, backend } = stageFlags(values);
  const preset = sftPreset(presetName);
  const config = preset.sft;
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  const stopAfter = intFlag("stop-after", values["stop-after"], config.steps, 1);

  const saved = (await readConfig(from)) as SavedConfig;
  const model = saved.model;
  if (!model) throw new Error(`${from}/config.json has no "model" section`);
  const { tensors } = await readModel(from);
  // an SFT run's own checkpoint resumes it; anything else is a base to start from
  const optimizer = saved.stage === "sft" ? await readOptimizer(from) : undefined;
  const resuming = optimizer !== undefined;
  const start: SftResume = optimizer ? { model: tensors, optimizer, step: Number(saved.step ?? 0) } : { model: tensors, step: 0 };
  const base = resuming ? (saved.base ?? from) : from;

  let last: Awaited<ReturnType<SftRun["next"]>> | null = null;
  const latest: Record<string, number> = {};
  return runStage({
    name: "sft", preset: presetName, seed, backend, out, steps: config.steps, json: values.json,
    metricsFile: resuming && from === out ? "trim" : "new",
    resumable: { stopAfter, checkpointEvery: config.evalEvery },
    build: (engine) => new SftRun(engine, config, seed, model, start),
    step: async (run) => {
      last = await run.next();
      for (const key of ["val_loss", "heldout_accuracy", "format_rate"] as const) if (last[key] !== undefined) latest[key] = last[key]!;
      const note = latest.val_loss === undefined ? "" : ` · val ${latest.val_loss.toFixed(3)} · acc ${(latest.heldout_accuracy! * 100).toFixed(0)}% · format ${(latest.format_rate! * 100).toFixed(0)}%`;
      return { record: last, note: `loss ${last.loss.toFixed(3)}${note}` };
    },
    save: async (run) => {
      await saveWeights(out, "sft", run.step, await run.checkpoint());
      await writeConfig(out, { stage: "sft", preset: presetName, seed, step: run.step, base, model, train: config, eval: preset.eval });
    },
    summarize: async (run, kind) => {
      process.stderr.write("evaluating (held-out problems, every level, with and without thinking)…\n");
      const scores = await evaluate(run.model, preset.eval, progressBar("eval sequences"));
      const valLoss = await run.validationLoss();
      return {
        command: `r1-lab train sft --from ${base} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}${values.steps ? ` --steps ${config.steps}` : ""}`,
        params: run.model.parameterCount(),
        metrics: { loss: last ? round(last.loss) : null, val_loss: round(valLoss), steps: run.step, ...scores.overall },
        extra: { base, eval: preset.eval, config },
      };
    },
    done: (summary) => {
      const m = summary.metrics;
      return `done: val_loss ${m.val_loss} · held-out accuracy ${pct(m.heldout_accuracy)} with thinking, ${pct(m.heldout_accuracy_no_think)} without · format ${pct(m.format_rate)} · ${summary.wall_s.toFixed(1)} s · run record in ${out}`;
    },
  }, print);
}
