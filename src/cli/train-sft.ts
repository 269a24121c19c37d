// r1-lab train sft --from <base run dir> --preset ci|default --seed N --out DIR
//
// Fine-tunes a base model on cold-start traces and writes the run record
// (metrics.jsonl, summary.json, config.json, model.safetensors, optimizer.safetensors).
// --from a base (pretrain) run starts a new SFT run from its weights; --from an
// unfinished SFT run (one stopped with --stop-after) continues it where it stopped.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evaluate } from "../eval/index.js";
import { appendMetrics, readConfig, readModel, readOptimizer, writeConfig, writeModel, writeOptimizer, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import type { GPTConfig } from "../nn/gpt.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { PRESET_NAMES, sftPreset } from "../train/presets.js";
import { SftRun, type SftResume } from "../train/sft.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { interruptedExit, runDirs, trimMetrics, watchInterrupt } from "./interrupt.js";
import { Progress } from "./progress.js";

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
  const presetName = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const preset = sftPreset(presetName);
  const config = preset.sft;
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  const stopAfter = intFlag("stop-after", values["stop-after"], config.steps, 1);

  const saved = (await readConfig(from)) as SavedConfig;
  if (!saved.model) throw new Error(`${from}/config.json has no "model" section`);
  const { tensors } = await readModel(from);
  // an SFT run's own checkpoint resumes it; anything else is a base to start from
  const optimizer = saved.stage === "sft" ? await readOptimizer(from) : undefined;
  const resuming = optimizer !== undefined;
  const start: SftResume = optimizer ? { model: tensors, optimizer, step: Number(saved.step ?? 0) } : { model: tensors, step: 0 };
  const base = resuming ? (saved.base ?? from) : from;

  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  let run: SftRun | null = null;
  try {
    run = new SftRun(engine, config, seed, saved.model, start);
    await mkdir(out, { recursive: true });
    if (!resuming || from !== out) await writeFile(join(out, "metrics.jsonl"), "");
    else await trimMetrics(out, run.step); // lines past the checkpoint come again
    const progress = new Progress(config.steps, `sft (${presetName}, ${backend.name})`);
    let last: Awaited<ReturnType<SftRun["next"]>> | null = null;
    const latest: Record<string, number> = {};
    const save = async () => {
      const ck = await run!.checkpoint();
      await writeModel(out, ck.model, { stage: "sft", step: String(run!.step) });
      await writeOptimizer(out, ck.optimizer, { step: String(run!.step) });
      await writeConfig(out, { stage: "sft", preset: presetName, seed, step: run!.step, base, model: saved.model, train: config, eval: preset.eval });
    };
    const interrupt = watchInterrupt();
    while (!run.done && run.step < stopAfter && !interrupt.requested) {
      last = await run.next();
      for (const key of ["val_loss", "heldout_accuracy", "format_rate"] as const) if (last[key] !== undefined) latest[key] = last[key]!;
      await appendMetrics(out, last as never);
      const note = latest.val_loss === undefined ? "" : ` · val ${latest.val_loss.toFixed(3)} · acc ${(latest.heldout_accuracy! * 100).toFixed(0)}% · format ${(latest.format_rate! * 100).toFixed(0)}%`;
      progress.update(run.step, `loss ${last.loss.toFixed(3)}${note}`);
      if (run.step % config.evalEvery === 0 && !run.done) await save();
    }
    await save();
    interrupt.dispose();
    if (interrupt.requested) return interruptedExit(interrupt.signal, run.step, out, print);
    if (!run.done) {
      print(`stopped after step ${run.step} of ${config.steps}; continue with --from ${out}`);
      return 0;
    }
    process.stderr.write("evaluating (held-out problems, every level, with and without thinking)…\n");
    let evalProgress: Progress | null = null;
    const scores = await evaluate(run.model, preset.eval, (done, total) => {
      evalProgress ??= new Progress(total, "eval sequences");
      evalProgress.update(done);
    });
    const valLoss = await run.validationLoss();
    const summary: RunSummary = {
      command: `r1-lab train sft --from ${base} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}${values.steps ? ` --steps ${config.steps}` : ""}`,
      stage: "sft", preset: presetName, seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: run.model.parameterCount(),
      metrics: {
        loss: last ? round(last.loss) : null,
        val_loss: round(valLoss),
        steps: run.step,
        ...scores.overall,
      },
      base,
      eval: preset.eval,
      config,
    };
    await writeSummary(out, summary);
    if (values.json) print(JSON.stringify(summary, null, 2));
    else {
      const m = summary.metrics;
      print(`done: val_loss ${m.val_loss} · held-out accuracy ${pct(m.heldout_accuracy)} with thinking, ${pct(m.heldout_accuracy_no_think)} without · format ${pct(m.format_rate)} · ${summary.wall_s.toFixed(1)} s · run record in ${out}`);
    }
    return 0;
  } finally {
    run?.dispose();
    backend.destroy();
  }
}

function pct(x: number | null | undefined): string {
  return x == null ? "?" : `${(x * 100).toFixed(1)}%`;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
