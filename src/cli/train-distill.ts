// r1-lab train distill --from <student base> --data <sample-traces dir> --preset ci|default --out DIR
//                      [--teacher DIR --kd-alpha A --kd-temperature T] [--steps N] [--seed N]
//
// Distillation (src/train/distill.ts): the student, starting from its own base model, is
// fine-tuned on the teacher's kept traces (sequence-level, what R1-Distill did); with
// --kd-alpha > 0 also on the teacher's distributions (token-level; needs --teacher).
// At the end the student is scored like the GRPO runs (greedy held-out accuracy, pass@k,
// chat template). The run record is the usual one, plus the FLOPs of training.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { evaluateStyled } from "../eval/styled.js";
import { readConfig, readModel, readSummary, writeConfig } from "../io/run-record-node.js";
import type { GPTConfig } from "../nn/gpt.js";
import { CHAT, type Trace } from "../tasks/index.js";
import { DistillRun, type DistillRecord, type TeacherWeights } from "../train/distill.js";
import { distillPreset } from "../train/presets.js";
import { COMMON_OPTIONS, UsageError, intFlag, parse } from "./args.js";
import { progressBar } from "./progress.js";
import { TRACES_FILE } from "./sample-traces.js";
import { pct, round, runStage, saveWeights, stageFlags } from "./stage.js";

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
  const { preset: presetName, seed, backend } = stageFlags(values);
  const preset = distillPreset(presetName);
  const config = preset.distill;
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  if (values["kd-alpha"] !== undefined) config.kdAlpha = numberFlag("kd-alpha", values["kd-alpha"], 0, 1);
  if (values["kd-temperature"] !== undefined) config.kdTemperature = numberFlag("kd-temperature", values["kd-temperature"], 1e-3, 100);
  if (config.kdAlpha > 0 && !values.teacher) throw new UsageError("--kd-alpha > 0 (token-level distillation) needs --teacher DIR");

  const saved = (await readConfig(from)) as { stage?: string; model?: GPTConfig };
  const model = saved.model;
  if (!model) throw new Error(`${from}/config.json has no "model" section`);
  const { tensors } = await readModel(from);
  const traces = (await readFile(join(data, TRACES_FILE), "utf8")).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Trace);
  const dataSummary = await readSummary(data);
  let teacher: TeacherWeights | undefined;
  if (values.teacher && config.kdAlpha > 0) {
    const t = (await readConfig(values.teacher)) as { model?: GPTConfig };
    if (!t.model) throw new Error(`${values.teacher}/config.json has no "model" section`);
    teacher = { config: t.model, model: (await readModel(values.teacher)).tensors };
  }

  let last: DistillRecord | null = null;
  let heldout: number | undefined;
  // distillation is not resumable: it runs to its end and saves once
  return runStage({
    name: "distill", preset: presetName, seed, backend, out, steps: config.steps, json: values.json, metricsFile: "new",
    build: (engine) => {
      const run = new DistillRun(engine, config, seed, model, { model: tensors, step: 0 }, traces, teacher);
      announce(run, traces.length, data);
      return run;
    },
    step: async (run) => {
      last = await run.next();
      if (last.heldout_accuracy !== undefined) heldout = last.heldout_accuracy;
      return { record: last, note: `loss ${last.loss.toFixed(3)}${heldout === undefined ? "" : ` · held-out ${pct(heldout)}`}` };
    },
    save: async (run) => {
      await saveWeights(out, "distill", run.step, await run.checkpoint());
      await writeConfig(out, { stage: "distill", preset: presetName, seed, step: run.step, base: from, data, teacher: values.teacher ?? null, model, train: config, eval: preset.eval });
    },
    summarize: async (run, kind) => {
      process.stderr.write("scoring the student on the held-out problems…\n");
      const scores = await evaluateStyled(run.student, CHAT, preset.eval, progressBar("eval sequences"));
      const kdFlags = config.kdAlpha > 0 ? ` --teacher ${values.teacher} --kd-alpha ${config.kdAlpha} --kd-temperature ${config.kdTemperature}` : "";
      return {
        command: `r1-lab train distill --from ${from} --data ${data} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
          (values.steps ? ` --steps ${config.steps}` : "") + kdFlags,
        params: run.student.parameterCount(),
        metrics: {
          loss: last ? round(last.loss) : null,
          steps: run.step,
          traces: run.train.length,
          tokens_trained: tokensTrained(run),
          flops: run.flops,
          ...scores,
        },
        extra: {
          base: from, data, data_command: dataSummary.command, teacher: values.teacher ?? dataSummary.teacher ?? null,
          mode: config.kdAlpha > 0 ? "token-level" : "sequence-level",
          ...(run.train.length === 0 ? { note: "no trace to learn from: the student is its base model, untrained" } : {}),
          eval: preset.eval,
          config,
        },
      };
    },
    done: ({ metrics: m, wall_s }) =>
      `done: held-out accuracy ${pct(m.heldout_accuracy)} (greedy) · pass@1 ${pct(m.pass_at_1)} · ${(m.flops! / 1e12).toFixed(3)} TFLOPs of training · ${wall_s.toFixed(1)} s · run record in ${out}`,
  }, print);
}

/** what is about to be distilled, on stderr; a warning when no trace fits the student */
function announce(run: DistillRun, traceCount: number, data: string): void {
  const config = run.config;
  process.stderr.write(`distilling into a ${run.student.parameterCount()}-parameter student: ${run.train.length} teacher traces` +
    (run.dropped ? ` (${run.dropped} too long for its context left out)` : "") + (config.kdAlpha > 0 ? `, token-level KD α=${config.kdAlpha} T=${config.kdTemperature}` : ", sequence-level") + "\n");
  if (run.train.length === 0) {
    process.stderr.write(`warning: no trace to learn from (${traceCount} in ${data}, none fitting the student's context): the student stays its base model\n`);
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
