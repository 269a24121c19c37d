// r1-lab train rm --from <SFT checkpoint> --preset ci|default --seed N --out DIR [--pairs FILE]
//
// The reward model of the RLHF lesson: preference pairs sampled from the SFT model and
// labelled by the hidden gold rule with a share of flipped labels (saved as
// out/pairs.json, or read from --pairs), then the SFT trunk + a scalar head trained
// with the Bradley–Terry loss (src/train/rm.ts). The summary has the held-out pair
// accuracy and the calibration bins. The step loop and summary.json are runStage's.
import { writeConfig, writeModel } from "../io/run-record-node.js";
import { GPT } from "../nn/gpt.js";
import { loadModelTensors } from "../train/checkpoint.js";
import type { PreferenceData } from "../train/preferences.js";
import { rlhfPreset } from "../train/presets.js";
import { RmRun, type RmEvaluation, type RmRecord } from "../train/rm.js";
import { COMMON_OPTIONS, UsageError, intFlag, parse } from "./args.js";
import { pairStats, preferencePairs, readCheckpoint } from "./rlhf-shared.js";
import { pct, round, runStage, stageFlags } from "./stage.js";

export async function trainRm(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, steps: { type: "string" }, pairs: { type: "string" } });
  if (positionals.length !== 1 || positionals[0] !== "rm") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "rm")}"`);
  const { from, out } = values;
  if (!from) throw new UsageError("--from DIR is required: the SFT checkpoint the reward model starts from (e.g. data/checkpoints/sft-default)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const { preset: presetName, seed, backend } = stageFlags(values);
  const preset = rlhfPreset(presetName);
  if (values.steps !== undefined) preset.rm.steps = intFlag("steps", values.steps, preset.rm.steps, 1);
  const sft = await readCheckpoint(from, ["sft", "grpo"]);

  let pairs: PreferenceData | null = null;
  let before: RmEvaluation | null = null;
  let last: RmRecord | null = null;
  return runStage<RmRun>({
    name: "rm", preset: presetName, seed, backend, out, steps: preset.rm.steps, json: values.json, metricsFile: "new",
    build: async (engine) => {
      // the pairs come first: two replies per prompt from the SFT model itself
      const sampler = new GPT(engine, sft.model, seed);
      try {
        loadModelTensors(sampler, sft.tensors);
        pairs = await preferencePairs(sampler, values.pairs, preset.pairs, seed, out);
      } finally {
        sampler.dispose();
      }
      process.stderr.write(`reward model from ${from}: ${pairs.train.length} training pairs, ${pairs.heldout.length} held-out\n`);
      const run = new RmRun(engine, preset.rm, seed, sft.model, pairs.train, pairs.heldout, { sft: sft.tensors });
      before = await run.evaluate();
      return run;
    },
    step: async (run) => {
      last = await run.next();
      return { record: last, note: `loss ${last.loss.toFixed(3)} · batch acc ${pct(last.accuracy)}` + (last.heldout_accuracy === undefined ? "" : ` · held-out ${pct(last.heldout_accuracy)}`) };
    },
    save: async (run) => {
      await writeModel(out, await run.checkpoint(), { stage: "rm", step: String(run.step) });
      await writeConfig(out, { stage: "rm", preset: presetName, seed, step: run.step, base: from, model: sft.model, train: preset.rm, pairs: preset.pairs });
    },
    summarize: async (run, kind) => {
      const ev = await run.evaluate();
      return {
        command: `r1-lab train rm --from ${from} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
          (values.steps ? ` --steps ${preset.rm.steps}` : "") + (values.pairs ? ` --pairs ${values.pairs}` : ""),
        params: run.model.parameterCount(),
        metrics: {
          loss: last ? round(last.loss) : null, steps: run.step, ...pairStats(pairs!),
          rm_pair_accuracy: round(ev.accuracy), rm_gold_accuracy: round(ev.goldAccuracy), rm_val_loss: round(ev.loss),
          rm_pair_accuracy_before: round(before!.accuracy),
        },
        extra: {
          calibration: ev.calibration.map((b) => ({ predicted: round(b.predicted), observed: round(b.observed), count: b.count })),
          base: from, config: preset.rm, pairs: preset.pairs,
        },
      };
    },
    done: (summary) => {
      const m = summary.metrics;
      return `done: held-out pair accuracy ${pct(m.rm_pair_accuracy)} (against the gold rule ${pct(m.rm_gold_accuracy)}; untrained head ${pct(m.rm_pair_accuracy_before)}) · ${summary.wall_s.toFixed(1)} s · run record in ${out}`;
    },
  }, print);
}
