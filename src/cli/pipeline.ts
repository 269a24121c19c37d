// r1-lab pipeline --preset ci|default --out DIR [--seed N] [--backend KIND] [--until STAGE]
//                 [--watts W] [--usd-per-kwh X]
//
// The whole recipe as one command, each stage from the previous one's checkpoint:
//   pretrain → sft → grpo                the teacher: R1's path
//   rejection                           the teacher's correct, well-formed replies (R1's stage 3)
//   student-pretrain → distill          a smaller student, distilled (R1-Distill)
//   student-sft → student-grpo          the same student by its own cold start and RL
//   compare                             teacher and both students on the same held-out problems
// --student student-large distils into (and trains by RL) the larger student of src/train/presets.ts.
// --teacher DIR starts from an existing teacher (e.g. the shipped data/checkpoints/grpo-default):
// its three stages are not run; the report card reads their records, following each run's
// "base" back to its pretraining.
// Every stage writes its run record in DIR/<stage>; a stage whose summary.json is already
// there is not run again (an interrupted pipeline resumes where it stopped; an unfinished
// stage starts over). At the end (and after every stage) it writes DIR/report.json and
// DIR/report.md: the report card (src/train/report.ts).
import { cpus } from "node:os";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evaluateStyled } from "../eval/styled.js";
import { readConfig, readMetrics, readModel, readSummary, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import { CpuBackend } from "../cpu/index.js";
import { CHAT } from "../tasks/index.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { batchesCost, grpoCost, meanPromptTokens, pretrainCost, type GrpoStepCounts, type StageCost } from "../train/flops.js";
import type { GrpoConfig } from "../train/grpo.js";
import { distillPreset, PRESET_NAMES, STUDENT_ARCHS, type PretrainConfig, type StudentArch } from "../train/presets.js";
import {
  DEEPSEEK_SCALE, PIPELINE_STAGES, STAGE_ROLE, STAGE_TITLE, energyOf, reportMarkdown, totalsOf,
  type MachineCost, type PipelineReport, type PipelineStage, type StageReport, type Table6,
} from "../train/report.js";
import { SftRun, type SftConfig } from "../train/sft.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { sampleTraces } from "./sample-traces.js";
import { train } from "./train.js";

type Command = (argv: string[], print: (s: string) => void) => Promise<number>;

/** Each stage's command: the directory it writes, and the r1-lab arguments that run it. */
export function stageArgs(stage: Exclude<PipelineStage, "compare">, out: string, common: string[], teacher = join(out, "grpo"), student: StudentArch = "student"): { run: Command; argv: string[] } {
  const d = (s: string) => join(out, s);
  switch (stage) {
    case "pretrain": return { run: train, argv: ["pretrain", ...common, "--out", d("pretrain")] };
    case "sft": return { run: train, argv: ["sft", "--from", d("pretrain"), ...common, "--out", d("sft")] };
    case "grpo": return { run: train, argv: ["grpo", "--from", d("sft"), ...common, "--out", d("grpo")] };
    case "rejection": return { run: sampleTraces, argv: ["--from", teacher, ...common, "--out", d("rejection")] };
    case "student-pretrain": return { run: train, argv: ["pretrain", "--arch", student, ...common, "--out", d("student-pretrain")] };
    case "distill": return { run: train, argv: ["distill", "--from", d("student-pretrain"), "--data", d("rejection"), ...common, "--out", d("distill")] };
    case "student-sft": return { run: train, argv: ["sft", "--from", d("student-pretrain"), ...common, "--out", d("student-sft")] };
    case "student-grpo": return { run: train, argv: ["grpo", "--from", d("student-sft"), ...common, "--out", d("student-grpo")] };
  }
}

export async function pipeline(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS, until: { type: "string" }, teacher: { type: "string" }, student: { type: "string" }, watts: { type: "string" }, "usd-per-kwh": { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const out = values.out;
  if (!out) throw new UsageError("--out DIR is required (every stage's run record and the report card go there)");
  const preset = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backend = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const until = choiceFlag("until", values.until, PIPELINE_STAGES, "compare");
  const machine: MachineCost = {
    watts: positiveFlag("watts", values.watts, 30), usd_per_kwh: positiveFlag("usd-per-kwh", values["usd-per-kwh"], 0.15),
    cpus: cpus().length, cpu_model: cpus()[0]?.model.trim() ?? "unknown CPU", backend,
  };
  const common = ["--preset", preset, "--seed", String(seed), "--backend", backend];
  const teacher = values.teacher ?? join(out, "grpo");
  const student = choiceFlag("student", values.student, STUDENT_ARCHS, "student");
  const given = values.teacher ? await teacherLineage(values.teacher) : null;
  const command = `r1-lab pipeline --preset ${preset} --seed ${seed} --backend ${backend}${values.teacher ? ` --teacher ${values.teacher}` : ""}${values.student ? ` --student ${student}` : ""} --out ${out}` +
    (values.until ? ` --until ${until}` : "") + (values.watts ? ` --watts ${machine.watts}` : "") + (values["usd-per-kwh"] ? ` --usd-per-kwh ${machine.usd_per_kwh}` : "");
  await mkdir(out, { recursive: true });

  const stages: StageReport[] = [];
  let table6: Table6 | null = null;
  const write = async (finished: boolean) => {
    const report: PipelineReport = { command, preset, seed, machine, stages, table6, totals: totalsOf(stages), finished };
    await writeFile(join(out, "report.json"), JSON.stringify(report, null, 2) + "\n");
    await writeFile(join(out, "report.md"), reportMarkdown(report));
  };
  for (const stage of PIPELINE_STAGES) {
    const dir = given?.[stage] ?? join(out, stage);
    const resumed = existsSync(join(dir, "summary.json"));
    if (given?.[stage]) print(`${stage}: the given teacher's record (${dir})`);
    else if (resumed) print(`${stage}: finished already (${dir}/summary.json), not run again`);
    else {
      print(`${stage}: running`);
      const code = stage === "compare" ? await compare(out, teacher, preset, seed, backend) : await runStage(stage, out, common, teacher, student, print);
      if (code !== 0) {
        print(`${stage}: failed (exit ${code}); run the same command again to resume from this stage`);
        await write(false);
        return code;
      }
    }
    stages.push({ ...(await stageReport(stage, dir, resumed, machine)), given: given?.[stage] !== undefined });
    if (stage === "compare") table6 = (await readSummary(dir)).metrics as Table6;
    await write(stage === "compare");
    if (stage === until && stage !== "compare") {
      print(`stopped after ${stage} (--until); run without --until to continue`);
      return 0;
    }
  }
  const t = table6!;
  print(`done: teacher ${pct(t.teacher_heldout_accuracy)} · distilled student ${pct(t.student_distilled_heldout_accuracy)} · ` +
    `RL student ${pct(t.student_rl_heldout_accuracy)} (held-out, greedy) · report card in ${out}/report.md`);
  return 0;
}

/** The teacher's grpo, sft and pretrain run directories, following each record's "base". */
async function teacherLineage(teacher: string): Promise<Partial<Record<PipelineStage, string>>> {
  const dirs: Partial<Record<PipelineStage, string>> = {};
  let dir: string | undefined = teacher;
  while (dir) {
    const summary = await readSummary(dir);
    if (summary.stage !== "pretrain" && summary.stage !== "sft" && summary.stage !== "grpo") {
      throw new Error(`--teacher: ${dir} is a ${summary.stage} run; the teacher's lineage must be grpo ← sft ← pretrain`);
    }
    dirs[summary.stage] = dir;
    dir = typeof summary.base === "string" ? summary.base : undefined;
  }
  if (!dirs.grpo) throw new Error(`--teacher: ${teacher} is not a GRPO run`);
  return dirs;
}

async function runStage(stage: Exclude<PipelineStage, "compare">, out: string, common: string[], teacher: string, student: StudentArch, print: (s: string) => void): Promise<number> {
  const { run, argv } = stageArgs(stage, out, common, teacher, student);
  return run(argv, (s) => print(`  ${s}`));
}

/** The teacher and both students, scored on the same held-out problems (the distill preset's evaluation). */
async function compare(out: string, teacherDir: string, preset: string, seed: number, backendKind: (typeof BACKEND_KINDS)[number]): Promise<number> {
  const started = Date.now();
  const evalConfig = distillPreset(preset).eval;
  const { backend, kind, adapter } = await createBackendWithReport(backendKind);
  const engine = new Engine(backend);
  try {
    const score = async (stage: string) => {
      const dir = stage === "grpo" ? teacherDir : join(out, stage);
      const { model: config } = (await readConfig(dir)) as { model: GPTConfig };
      const model = new GPT(engine, config, seed);
      try {
        loadModelTensors(model, (await readModel(dir)).tensors);
        return await evaluateStyled(model, CHAT, evalConfig);
      } finally {
        model.dispose();
      }
    };
    const teacher = await score("grpo");
    const distilled = await score("distill");
    const rl = await score("student-grpo");
    const flops = async (stage: string) => (await readStageCost(stage as PipelineStage, join(out, stage))).flops;
    const rejection = await readSummary(join(out, "rejection"));
    const metrics: Record<string, number> = {
      teacher_heldout_accuracy: teacher.heldout_accuracy!,
      student_distilled_heldout_accuracy: distilled.heldout_accuracy!,
      student_rl_heldout_accuracy: rl.heldout_accuracy!,
      teacher_pass_at_1: teacher.pass_at_1!,
      student_distilled_pass_at_1: distilled.pass_at_1!,
      student_rl_pass_at_1: rl.pass_at_1!,
      acceptance_rate: rejection.metrics.acceptance_rate!,
      student_distilled_flops: await flops("distill"),
      student_rl_flops: (await flops("student-sft")) + (await flops("student-grpo")),
      student_base_flops: await flops("student-pretrain"),
      teacher_sampling_flops: await flops("rejection"),
    };
    for (const l of evalConfig.levels) {
      metrics[`teacher_heldout_accuracy_L${l}`] = teacher[`heldout_accuracy_L${l}`]!;
      metrics[`student_distilled_heldout_accuracy_L${l}`] = distilled[`heldout_accuracy_L${l}`]!;
      metrics[`student_rl_heldout_accuracy_L${l}`] = rl[`heldout_accuracy_L${l}`]!;
    }
    const summary: RunSummary = {
      command: `r1-lab pipeline --preset ${preset} --seed ${seed} --backend ${kind} --out ${out} (stage compare; teacher ${teacherDir})`,
      stage: "compare", preset, seed, backend: backend.name, adapter, wall_s: (Date.now() - started) / 1000, params: 0,
      metrics, eval: evalConfig,
    };
    await mkdir(join(out, "compare"), { recursive: true });
    await writeSummary(join(out, "compare"), summary);
    return 0;
  } finally {
    backend.destroy();
  }
}

/** One row of the report card, from the stage's run record. */
async function stageReport(stage: PipelineStage, dir: string, resumed: boolean, machine: MachineCost): Promise<Omit<StageReport, "given">> {
  const summary = await readSummary(dir);
  const cost = await readStageCost(stage, dir);
  const keep = ["heldout_accuracy", "heldout_accuracy_before", "format_rate", "val_loss", "loss", "pass_at_1", "traces", "acceptance_rate", "steps",
    "teacher_heldout_accuracy", "student_distilled_heldout_accuracy", "student_rl_heldout_accuracy"];
  const metrics = Object.fromEntries(keep.filter((k) => summary.metrics[k] !== undefined).map((k) => [k, summary.metrics[k]!]));
  return {
    stage, title: STAGE_TITLE[stage], role: STAGE_ROLE[stage], dir, command: summary.command, wall_s: summary.wall_s,
    ...cost, ...energyOf(summary.wall_s, machine), metrics, resumed, deepseek: DEEPSEEK_SCALE[stage] ?? null,
  };
}

/** Tokens and FLOPs of a finished stage, from its record (src/train/flops.ts says how). */
export async function readStageCost(stage: PipelineStage, dir: string): Promise<StageCost> {
  const summary = await readSummary(dir);
  if (stage === "rejection" || stage === "distill") return { tokens: summary.metrics.sampled_tokens ?? summary.metrics.tokens_trained ?? 0, flops: summary.metrics.flops ?? 0 };
  if (stage === "compare") return { tokens: 0, flops: 0 };
  const config = (await readConfig(dir)) as { model: GPTConfig; train: unknown; seed?: number };
  const engine = new Engine(new CpuBackend());
  const model = new GPT(engine, config.model, 1);
  try {
    if (stage === "pretrain" || stage === "student-pretrain") {
      const c = config.train as PretrainConfig;
      return pretrainCost(model, Number(summary.metrics.steps), c.batchSize, c.seqLen);
    }
    if (stage === "sft" || stage === "student-sft") {
      const run = new SftRun(engine, config.train as SftConfig, summary.seed, config.model, { step: 0 });
      try {
        return batchesCost(model, Array.from({ length: Number(summary.metrics.steps) }, (_, s) => run.batchAt(s)));
      } finally {
        run.dispose();
      }
    }
    const c = config.train as GrpoConfig;
    const records = (await readMetrics(dir)) as unknown as GrpoStepCounts[];
    return grpoCost(model, records, c.groupSize, c.updatesPerBatch, meanPromptTokens(c.levels));
  } finally {
    model.dispose();
  }
}

function positiveFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!(Number.isFinite(x) && x > 0)) throw new UsageError(`--${name} must be a number > 0, got "${value}"`);
  return x;
}

function pct(x: number | null | undefined): string {
  return x == null ? "?" : `${(x * 100).toFixed(1)}%`;
}
