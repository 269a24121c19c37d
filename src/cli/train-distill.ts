// r1-lab train distill --from <student base> --data <sample-traces dir> --preset ci|default --out DIR
//                      [--teacher DIR --kd-alpha A --kd-temperature T] [--steps N] [--seed N]
//
// Distillation (src/train/distill.ts): the student, starting from its own base model, is
// fine-tuned on the teacher's kept traces (sequence-level, what R1-Distill did); with
// --kd-alpha > 0 also on the teacher's distributions (token-level; needs --teacher).
// At the end the student is scored like the GRPO runs (greedy held-out accuracy, pass@k,
// chat template). The run record is the usual one, plus the FLOPs of training.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evaluateStyled } from "../eval/styled.js";
import { appendMetrics, readConfig, readModel, readSummary, writeConfig, writeModel, writeOptimizer, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import type { GPTConfig } from "../nn/gpt.js";
import { CHAT, type Trace } from "../tasks/index.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { DistillRun, type DistillRecord, type TeacherWeights } from "../train/distill.js";
import { distillPreset, PRESET_NAMES } from "../train/presets.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { Progress } from "./progress.js";
import { TRACES_FILE } from "./sample-traces.js";

export async function trainDistill(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS, steps: { type: "string" }, data: { type: "string" }, teacher: { type: "string" },
    "kd-alpha": { type: "string" }, "kd-temperature": { type: "string" },
  });
  if (positionals.length !== 1 || positionals[0] !== "distill") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "distill")}"`);
  const from = values.from;
  if (!from) throw new UsageError("--from DIR is required: the student's base model (a pretrain run of the student's size)");
  const data = values.data;
  if (!data) throw new UsageError("--data DIR is required: a dataset written by r1-lab sample-traces");
  const out = values.out;
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const presetName = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const preset = distillPreset(presetName);
  const config = preset.distill;
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  if (values["kd-alpha"] !== undefined) config.kdAlpha = numberFlag("kd-alpha", values["kd-alpha"], 0, 1);
  if (values["kd-temperature"] !== undefined) config.kdTemperature = numberFlag("kd-temperature", values["kd-temperature"], 1e-3, 100);
  if (config.kdAlpha > 0 && !values.teacher) throw new UsageError("--kd-alpha > 0 (token-level distillation) needs --teacher DIR");

  const saved = (await readConfig(from)) as { stage?: string; model?: GPTConfig };
  if (!saved.model) throw new Error(`${from}/config.json has no "model" section`);
  const { tensors } = await readModel(from);
  const traces = (await readFile(join(data, TRACES_FILE), "utf8")).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Trace);
  const dataSummary = await readSummary(data);
  let teacher: TeacherWeights | undefined;
  if (values.teacher && config.kdAlpha > 0) {
    const t = (await readConfig(values.teacher)) as { model?: GPTConfig };
    if (!t.model) throw new Error(`${values.teacher}/config.json has no "model" section`);
    teacher = { config: t.model, model: (await readModel(values.teacher)).tensors };
  }

  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  let run: DistillRun | null = null;
  try {
    run = new DistillRun(engine, config, seed, saved.model, { model: tensors, step: 0 }, traces, teacher);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "metrics.jsonl"), "");
    process.stderr.write(`distilling into a ${run.student.parameterCount()}-parameter student: ${run.train.length} teacher traces` +
      (run.dropped ? ` (${run.dropped} too long for its context left out)` : "") + (config.kdAlpha > 0 ? `, token-level KD α=${config.kdAlpha} T=${config.kdTemperature}` : ", sequence-level") + "\n");
    if (run.train.length === 0) {
      process.stderr.write(`warning: no trace to learn from (${traces.length} in ${data}, none fitting the student's context): the student stays its base model\n`);
    }
    const progress = new Progress(config.steps, `distill (${presetName}, ${backend.name})`);
    let last: DistillRecord | null = null;
    let heldout: number | undefined;
    while (!run.done) {
      last = await run.next();
      if (last.heldout_accuracy !== undefined) heldout = last.heldout_accuracy;
      await appendMetrics(out, last as never);
      progress.update(run.step, `loss ${last.loss.toFixed(3)}${heldout === undefined ? "" : ` · held-out ${pct(heldout)}`}`);
    }
    const ck = await run.checkpoint();
    await writeModel(out, ck.model, { stage: "distill", step: String(run.step) });
    await writeOptimizer(out, ck.optimizer, { step: String(run.step) });
    await writeConfig(out, { stage: "distill", preset: presetName, seed, step: run.step, base: from, data, teacher: values.teacher ?? null, model: saved.model, train: config, eval: preset.eval });
    process.stderr.write("scoring the student on the held-out problems…\n");
    let bar: Progress | null = null;
    const scores = await evaluateStyled(run.student, CHAT, preset.eval, (done, total) => {
      bar ??= new Progress(total, "eval sequences");
      bar.update(done);
    });
    const kdFlags = config.kdAlpha > 0 ? ` --teacher ${values.teacher} --kd-alpha ${config.kdAlpha} --kd-temperature ${config.kdTemperature}` : "";
    const summary: RunSummary = {
      command: `r1-lab train distill --from ${from} --data ${data} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
        (values.steps ? ` --steps ${config.steps}` : "") + kdFlags,
      stage: "distill", preset: presetName, seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: run.student.parameterCount(),
      metrics: {
        loss: last ? round(last.loss) : null,
        steps: run.step,
        traces: run.train.length,
        tokens_trained: tokensTrained(run),
        flops: run.flops,
        ...scores,
      },
      base: from, data, data_command: dataSummary.command, teacher: values.teacher ?? dataSummary.teacher ?? null,
      mode: config.kdAlpha > 0 ? "token-level" : "sequence-level",
      ...(run.train.length === 0 ? { note: "no trace to learn from: the student is its base model, untrained" } : {}),
      eval: preset.eval,
      config,
    };
    await writeSummary(out, summary);
    if (values.json) print(JSON.stringify(summary, null, 2));
    else print(`done: held-out accuracy ${pct(summary.metrics.heldout_accuracy)} (greedy) · pass@1 ${pct(summary.metrics.pass_at_1)} · ${(run.flops / 1e12).toFixed(3)} TFLOPs of training · ${summary.wall_s.toFixed(1)} s · run record in ${out}`);
    return 0;
  } finally {
    run?.dispose();
    backend.destroy();
  }
}

/** tokens of all the padded batches trained on */
function tokensTrained(run: DistillRun): number {
  let n = 0;
  for (let s = 0; s < run.step; s++) {
    const b = run.batchAt(s);
    n += b.B * b.T;
  }
  return n;
}

function numberFlag(name: string, value: string, min: number, max: number): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x < min || x > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${value}"`);
  return x;
}

function pct(x: number | null | undefined): string {
  return x == null ? "?" : `${(x * 100).toFixed(1)}%`;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
