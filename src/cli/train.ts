// r1-lab train <stage>: run a training stage and write its run record:
// metrics.jsonl, summary.json, config.json, model.safetensors (+ optimizer.safetensors
// so the run can be resumed with --from).
import { writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { appendMetrics, readConfig, readModel, readOptimizer, writeConfig, writeModel, writeOptimizer, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { PretrainRun, type ResumeState } from "../train/pretrain.js";
import { pretrainPreset, PRESET_NAMES, STUDENT_ARCHS, studentModel } from "../train/presets.js";
import { UsageError, COMMON_OPTIONS, parse, intFlag, choiceFlag } from "./args.js";
import { Progress } from "./progress.js";
import { trainDistill } from "./train-distill.js";
import { trainGrpo } from "./train-grpo.js";
import { trainSft } from "./train-sft.js";

export const STAGES = ["pretrain", "sft", "grpo", "distill"] as const;

export async function train(argv: string[], print: (s: string) => void): Promise<number> {
  // each stage parses its own flags; this first pass only finds the stage (so it accepts any stage's flags)
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS, steps: { type: "string" }, "stop-after": { type: "string" }, style: { type: "string" },
    data: { type: "string" }, teacher: { type: "string" }, "kd-alpha": { type: "string" }, "kd-temperature": { type: "string" }, arch: { type: "string" },
  });
  const stage = positionals[0];
  if (!stage) throw new UsageError(`which stage? (${STAGES.join(", ")})`);
  if (!(STAGES as readonly string[]).includes(stage)) throw new UsageError(`unknown stage "${stage}" (available: ${STAGES.join(", ")})`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  if (stage === "sft") return trainSft(argv, print);
  if (stage === "grpo") return trainGrpo(argv, print);
  if (stage === "distill") return trainDistill(argv, print);
  if (values.style !== undefined) throw new UsageError("--style is a flag of train grpo");
  for (const flag of ["data", "teacher", "kd-alpha", "kd-temperature"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is a flag of train distill`);
  }
  const preset = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const out = values.out;
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const config = pretrainPreset(preset);
  // --arch student: the preset's smaller student for distillation (STUDENT_MODELS), pretrained like the teacher
  const arch = choiceFlag("arch", values.arch, ["preset", ...STUDENT_ARCHS] as const, "preset");
  if (arch !== "preset") config.model = studentModel(arch, preset);
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);

  // --stop-after N: take N steps of the full schedule and save; --from continues it later
  const stopAfter = intFlag("stop-after", values["stop-after"], config.steps, 1);

  let resume: ResumeState | undefined;
  if (values.from) {
    const from = values.from;
    const saved = (await readConfig(from)) as { step?: number; train?: unknown };
    const { tensors } = await readModel(from);
    const optimizer = await readOptimizer(from);
    resume = { model: tensors, ...(optimizer ? { optimizer } : {}), step: optimizer ? Number(saved.step ?? 0) : 0 };
  }

  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  let run: PretrainRun | null = null;
  try {
    run = new PretrainRun(engine, config, seed, resume);
    await mkdir(out, { recursive: true });
    if (!resume) await writeFile(join(out, "metrics.jsonl"), "");
    const progress = new Progress(config.steps, `pretrain (${preset}, ${backend.name})`);
    let last: Awaited<ReturnType<PretrainRun["next"]>> | null = null;
    let lastVal = NaN;
    const save = async () => {
      const ck = await run!.checkpoint();
      await writeModel(out, ck.model, { stage: "pretrain", step: String(run!.step) });
      await writeOptimizer(out, ck.optimizer, { step: String(run!.step) });
      await writeConfig(out, { stage: "pretrain", preset, seed, step: run!.step, model: config.model, train: config });
    };
    while (!run.done && run.step < stopAfter) {
      last = await run.next();
      if (last.val_loss !== undefined) lastVal = last.val_loss;
      await appendMetrics(out, last as never);
      progress.update(run.step, `loss ${last.loss.toFixed(3)}${Number.isNaN(lastVal) ? "" : ` · val ${lastVal.toFixed(3)}`}`);
      if (run.step % config.evalEvery === 0 && !run.done) await save();
    }
    await save();
    if (!run.done) {
      print(`stopped after step ${run.step} of ${config.steps}; continue with --from ${out}`);
      return 0;
    }
    const held = await run.heldoutAccuracy();
    const summary: RunSummary = {
      command: `r1-lab train pretrain --preset ${preset} --seed ${seed} --backend ${kind} --out ${out}${values.steps ? ` --steps ${config.steps}` : ""}${values.from ? ` --from ${values.from}` : ""}${arch !== "preset" ? ` --arch ${arch}` : ""}`,
      stage: "pretrain", preset, seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: run.model.parameterCount(),
      metrics: {
        loss: last ? round(last.loss) : null,
        val_loss: round(lastVal),
        unigram_val_loss: round(run.unigramValLoss),
        heldout_accuracy: held.accuracy,
        steps: run.step,
        tokens_seen: run.step * config.batchSize * config.seqLen,
      },
      flops_per_token: run.model.flopsPerToken(config.seqLen),
      config,
    };
    await writeSummary(out, summary);
    if (values.json) print(JSON.stringify(summary, null, 2));
    else print(`done: val_loss ${summary.metrics.val_loss} (unigram ${summary.metrics.unigram_val_loss}), held-out direct accuracy ${(held.accuracy * 100).toFixed(1)}% · ${summary.wall_s.toFixed(1)} s · run record in ${out}`);
    return 0;
  } finally {
    run?.dispose();
    backend.destroy();
  }
}

/** metrics are rounded so re-runs compare equal despite float noise in the last digits */
function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
