// What every `r1-lab train <stage>` shares: pick the engine, build the run, take its steps
// (a progress line and a metrics.jsonl line each), save checkpoints, write summary.json.
// A stage CLI (train.ts for pretrain, train-sft.ts, train-grpo.ts, train-distill.ts) parses
// its own flags, then hands runStage a Stage: the facts of the run and five pieces of its own:
//
//   build(engine)     create the run (a PretrainRun, SftRun, …) from its base or checkpoint;
//                     a good place for a stderr line saying what is about to happen. It may
//                     be async: a stage that first makes its data with the model (train rm
//                     samples its preference pairs) does that here
//   step(run)         take one training step → { record: its metrics.jsonl line, note: for the progress line }
//   save(run)         write the checkpoint: saveWeights(…) and the stage's config.json
//   summarize(run, k) evaluate the trained model → summary.json's command, params, metrics and
//                     extra fields (k: the --backend value that gives this backend again)
//   done(summary)     the line printed at the end (--json prints the summary instead)
//
// runStage returns the exit code: 0, or 130 when Ctrl-C stopped a resumable stage (see
// interrupt.ts). UsageErrors are thrown before runStage, while the flags are read.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { appendMetrics, writeModel, writeOptimizer, writeSummary } from "../io/run-record-node.js";
import type { MetricsRecord, RunSummary } from "../io/run-record.js";
import type { TensorMap } from "../io/safetensors.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport, type BackendKind, type CreatedBackend } from "../tensor/create.js";
import { PRESET_NAMES } from "../train/presets.js";
import { choiceFlag, intFlag } from "./args.js";
import { interruptedExit, trimMetrics, watchInterrupt } from "./interrupt.js";
import { Progress } from "./progress.js";

/** What runStage needs of a training run; PretrainRun, SftRun, GrpoRun and DistillRun all fit. */
export interface StageRun {
  /** steps taken so far (a resumed run starts at its checkpoint's) */
  readonly step: number;
  readonly done: boolean;
  dispose(): void;
}

/** summary.json's stage-specific part; runStage adds stage, preset, seed, backend, adapter and wall_s. */
export interface StageSummary {
  command: string;
  params: number;
  metrics: RunSummary["metrics"];
  /** the fields after metrics (base, eval, config, …), in the order they are written */
  extra: Record<string, unknown>;
}

export interface Stage<R extends StageRun> {
  /** "pretrain", "sft", …: summary.json's stage and the progress line's label */
  name: string;
  preset: string;
  seed: number;
  backend: BackendKind;
  out: string;
  /** the run's full length, for the progress bar */
  steps: number;
  /** --json: print summary.json instead of the done line */
  json: boolean | undefined;
  /**
   * how metrics.jsonl starts: "new" empties it; "trim" (a run continued in its own directory)
   * cuts it back to the checkpoint's step, since the steps after it are taken again.
   */
  metricsFile: "new" | "trim";
  /**
   * a stage that can stop and continue: it stops after step stopAfter (--stop-after), saves a
   * checkpoint every checkpointEvery steps, and on Ctrl-C saves and exits 130 (--resume continues).
   * Absent: the stage runs to its end and saves once.
   */
  resumable?: { stopAfter: number; checkpointEvery: number };
  build(engine: Engine): R | Promise<R>;
  step(run: R): Promise<{ record: { step: number; loss: number | null }; note: string }>;
  save(run: R): Promise<void>;
  summarize(run: R, kind: CreatedBackend["kind"]): Promise<StageSummary>;
  done(summary: RunSummary): string;
}

export async function runStage<R extends StageRun>(stage: Stage<R>, print: (s: string) => void): Promise<number> {
  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(stage.backend);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  let run: R | null = null;
  try {
    run = await stage.build(engine);
    await startMetrics(stage.out, stage.metricsFile, run.step);
    const stopped = await takeSteps(stage, run, new Progress(stage.steps, `${stage.name} (${stage.preset}, ${backend.name})`), print);
    if (stopped !== null) return stopped;
    const s = await stage.summarize(run, kind);
    const summary: RunSummary = {
      command: s.command, stage: stage.name, preset: stage.preset, seed: stage.seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: s.params,
      metrics: s.metrics,
      ...s.extra,
    };
    await writeSummary(stage.out, summary);
    print(stage.json ? JSON.stringify(summary, null, 2) : stage.done(summary));
    return 0;
  } finally {
    run?.dispose();
    backend.destroy();
  }
}

/**
 * The step loop, then the last checkpoint. Returns null when the run finished, or the exit
 * code when it stopped before its end (Ctrl-C: 130; --stop-after: 0).
 */
async function takeSteps<R extends StageRun>(stage: Stage<R>, run: R, progress: Progress, print: (s: string) => void): Promise<number | null> {
  const { out, resumable } = stage;
  // a stage that cannot resume has nothing to offer on Ctrl-C: the signal ends it as usual
  const interrupt = resumable ? watchInterrupt() : null;
  const stopAfter = resumable ? resumable.stopAfter : Infinity;
  while (!run.done && run.step < stopAfter && !interrupt?.requested) {
    const { record, note } = await stage.step(run);
    // the stage's record type (PretrainRecord, …) is a metrics line; its undefined fields are left out
    await appendMetrics(out, record as MetricsRecord);
    progress.update(run.step, note);
    if (resumable && run.step % resumable.checkpointEvery === 0 && !run.done) await stage.save(run);
  }
  await stage.save(run);
  interrupt?.dispose();
  if (interrupt?.requested) return interruptedExit(interrupt.signal, run.step, out, print);
  if (!run.done) {
    print(`stopped after step ${run.step} of ${stage.steps}; continue with --from ${out}`);
    return 0;
  }
  return null;
}

async function startMetrics(out: string, how: Stage<StageRun>["metricsFile"], step: number): Promise<void> {
  await mkdir(out, { recursive: true });
  if (how === "new") await writeFile(join(out, "metrics.jsonl"), "");
  else if (how === "trim") await trimMetrics(out, step);
}

/** The checkpoint's weights and AdamW moments, stamped with stage and step; the stage adds its config.json. */
export async function saveWeights(out: string, stage: string, step: number, ck: { model: TensorMap; optimizer: TensorMap }): Promise<void> {
  await writeModel(out, ck.model, { stage, step: String(step) });
  await writeOptimizer(out, ck.optimizer, { step: String(step) });
}

/** The flags every stage reads alike: --preset (default ci), --seed (1), --backend (auto). */
export function stageFlags(values: { preset?: string; seed?: string; backend?: string }) {
  return {
    preset: choiceFlag("preset", values.preset, PRESET_NAMES, "ci"),
    seed: intFlag("seed", values.seed, 1),
    backend: choiceFlag("backend", values.backend, BACKEND_KINDS, "auto"),
  };
}

/** summary metrics are rounded so re-runs compare equal despite float noise in the last digits */
export function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** a fraction as a percentage for the terminal, "?" when there is none */
export function pct(x: number | null | undefined): string {
  return x == null ? "?" : `${(x * 100).toFixed(1)}%`;
}
