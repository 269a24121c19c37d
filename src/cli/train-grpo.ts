// r1-lab train grpo --from <checkpoint> --preset ci|default --seed N --out DIR
//
// Reinforcement learning with GRPO and rule rewards (src/train/grpo.ts), from
//   an SFT checkpoint  → R1's path: the chat template the cold start taught;
//   a pretrain (base)  → R1-Zero's path: no cold start, the textbook's own sentence
//                        (src/tasks/styles.ts says why; --style overrides).
// --from an unfinished GRPO run (stopped with --stop-after) continues it exactly:
// its weights, AdamW moments, frozen reference model and curriculum state.
// At the end, the starting model (the reference) and the trained policy are scored
// on the same held-out problems: greedy accuracy and pass@k, before and after.
// The step loop, checkpoints and summary.json are runStage's (stage.ts).
import { evaluateStyled } from "../eval/styled.js";
import { readConfig, readModel, readOptimizer, readReference, writeConfig, writeReference } from "../io/run-record-node.js";
import type { GPT, GPTConfig } from "../nn/gpt.js";
import { CURRICULA, type LevelAccuracy } from "../rl/curriculum.js";
import { answerStyle, STYLE_NAMES, type StyleName } from "../tasks/index.js";
import { GrpoRun, type GrpoConfig, type GrpoRecord, type GrpoStart } from "../train/grpo.js";
import { grpoPreset } from "../train/presets.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { runDirs } from "./interrupt.js";
import { progressBar } from "./progress.js";
import { pct, round, runStage, saveWeights, stageFlags } from "./stage.js";

interface SavedConfig {
  stage?: string;
  step?: number;
  updates?: number;
  level_accuracy?: LevelAccuracy;
  model?: GPTConfig;
  /** the checkpoint an RL run started from */
  base?: string;
  train?: GrpoConfig;
}

/** R1 after a cold start speaks the chat template; a base model knows only the textbook. */
export function defaultStyle(stage: string | undefined): StyleName {
  return stage === "pretrain" ? "textbook" : "chat";
}

export async function trainGrpo(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS, steps: { type: "string" }, "stop-after": { type: "string" }, style: { type: "string" },
    lr: { type: "string" }, curriculum: { type: "string" }, resume: { type: "string" },
  });
  if (positionals.length !== 1 || positionals[0] !== "grpo") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "grpo")}"`);
  const { from, out } = runDirs(values);
  if (!from) throw new UsageError("--from DIR is required: the checkpoint to start from (an SFT run for R1, a pretrain run for R1-Zero)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const { preset: presetName, seed, backend } = stageFlags(values);
  const preset = grpoPreset(presetName);

  const saved = (await readConfig(from)) as SavedConfig;
  const model = saved.model;
  if (!model) throw new Error(`${from}/config.json has no "model" section`);
  const { tensors } = await readModel(from);
  const resuming = saved.stage === "grpo";
  let start: GrpoStart = { model: tensors, step: 0 };
  let style = choiceFlag("style", values.style, STYLE_NAMES, defaultStyle(saved.stage));
  if (resuming) {
    const optimizer = await readOptimizer(from);
    const reference = await readReference(from);
    if (!optimizer || !reference) throw new Error(`${from} is a GRPO run but lacks optimizer.safetensors or reference.safetensors: it cannot be resumed`);
    start = { model: tensors, optimizer, reference, step: Number(saved.step ?? 0), updates: saved.updates, levelAccuracy: saved.level_accuracy };
    style = saved.train?.style ?? style;
  }
  const config: GrpoConfig = { ...preset.grpo, style };
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  // the two settings the lesson's "what we tried" runs vary (a resumed run keeps its own)
  if (values.lr !== undefined) {
    const lr = Number(values.lr);
    if (!(lr > 0 && lr < 1)) throw new UsageError(`--lr must be a number in (0, 1), got "${values.lr}"`);
    config.lr = lr;
  }
  config.curriculum = choiceFlag("curriculum", values.curriculum, CURRICULA, config.curriculum);
  if (resuming && saved.train) Object.assign(config, { lr: saved.train.lr, curriculum: saved.train.curriculum });
  const stopAfter = intFlag("stop-after", values["stop-after"], config.steps, 1);
  const base = resuming ? (saved.base ?? from) : from;

  let last: GrpoRecord | null = null;
  let heldout: number | undefined;
  const score = (policy: GPT, label: string) => evaluateStyled(policy, answerStyle(style), preset.eval, progressBar(`${label} sequences`));
  return runStage({
    name: "grpo", preset: presetName, seed, backend, out, steps: config.steps, json: values.json,
    metricsFile: resuming && from === out ? "trim" : "new",
    resumable: { stopAfter, checkpointEvery: config.evalEvery },
    build: (engine) => {
      const run = new GrpoRun(engine, config, seed, model, start);
      process.stderr.write(`GRPO from ${base} (${saved.stage ?? "?"} checkpoint), ${style} style, ${config.batchSize} prompts × ${config.groupSize} samples per step\n`);
      return run;
    },
    step: async (run) => {
      last = await run.next();
      if (last.heldout_accuracy !== undefined) heldout = last.heldout_accuracy;
      const note = `reward ${last.reward.toFixed(3)} · acc ${pct(last.accuracy)} · len ${last["completions/mean_length"].toFixed(1)}` +
        (heldout === undefined ? "" : ` · held-out ${pct(heldout)}`);
      return { record: last, note };
    },
    save: async (run) => {
      const ck = await run.checkpoint();
      await saveWeights(out, "grpo", run.step, ck);
      await writeReference(out, ck.reference, { stage: "reference" });
      await writeConfig(out, {
        stage: "grpo", preset: presetName, seed, step: run.step, updates: run.updates, level_accuracy: run.levelAccuracy,
        base, model, train: config, eval: preset.eval,
      });
    },
    summarize: async (run, kind) => {
      process.stderr.write("scoring the starting model and the trained one on the same held-out problems…\n");
      const before = await score(run.reference, "before");
      const after = await score(run.policy, "after");
      return {
        command: `r1-lab train grpo --from ${base} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
          (values.steps ? ` --steps ${config.steps}` : "") + (values.style ? ` --style ${style}` : "") +
          // the settings the run used, also when a resumed run took them from its own record
          (config.lr !== preset.grpo.lr ? ` --lr ${values.lr ?? config.lr}` : "") +
          (config.curriculum !== preset.grpo.curriculum ? ` --curriculum ${config.curriculum}` : ""),
        params: run.policy.parameterCount(),
        metrics: {
          loss: last ? round(last.loss) : null,
          steps: run.step,
          ...Object.fromEntries(Object.entries(before).map(([k, v]) => [`${k}_before`, v])),
          ...after,
        },
        extra: { base, style, base_stage: saved.stage ?? null, eval: preset.eval, config },
      };
    },
    done: ({ metrics: m, wall_s }) =>
      `done: held-out accuracy ${pct(m.heldout_accuracy_before)} → ${pct(m.heldout_accuracy)} (greedy) · ` +
      `pass@1 ${pct(m.pass_at_1_before)} → ${pct(m.pass_at_1)} · format ${pct(m.format_rate)} · ${wall_s.toFixed(1)} s · run record in ${out}`,
  }, print);
}
