// r1-lab train dpo --from <SFT checkpoint> --preset ci|default --seed N --out DIR
//                  [--pairs FILE] [--rm DIR]
//
// DPO on the RLHF lesson's preference pairs (src/train/dpo.ts): no reward model, no
// sampling during training. The pairs are read from --pairs (a `train rm` run's
// pairs.json) or sampled exactly as `train rm` samples them (same preset and seed →
// the same pairs). The result is measured as `train rlhf` measures its policy: gold
// reward and KL from the start on held-out prompts (and the reward model's score of
// it, with --rm). The step loop and summary.json are runStage's.
import { policyReport, type PolicyReport } from "../eval/preference.js";
import { writeConfig, writeModel } from "../io/run-record-node.js";
import { RewardModel } from "../nn/reward-model.js";
import type { SequenceReward } from "../rl/groups.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { DpoRun, type DpoRecord } from "../train/dpo.js";
import type { PreferenceData } from "../train/preferences.js";
import { rlhfPreset } from "../train/presets.js";
import { COMMON_OPTIONS, UsageError, intFlag, parse } from "./args.js";
import { flatReport, pairStats, preferencePairs, readCheckpoint, reportProblems, rewardModelScorer } from "./rlhf-shared.js";
import { pct, round, runStage, stageFlags } from "./stage.js";

export async function trainDpo(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, steps: { type: "string" }, pairs: { type: "string" }, rm: { type: "string" } });
  if (positionals.length !== 1 || positionals[0] !== "dpo") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "dpo")}"`);
  const { from, out } = values;
  if (!from) throw new UsageError("--from DIR is required: the SFT checkpoint DPO starts from, also its reference (e.g. data/checkpoints/sft-default)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const { preset: presetName, seed, backend } = stageFlags(values);
  const preset = rlhfPreset(presetName);
  if (values.steps !== undefined) preset.dpo.steps = intFlag("steps", values.steps, preset.dpo.steps, 1);
  const sft = await readCheckpoint(from, ["sft", "grpo"]);
  const rmCheckpoint = values.rm ? await readCheckpoint(values.rm, ["rm"]) : null;
  const problems = reportProblems(preset);

  let rm: RewardModel | null = null;
  let proxy: SequenceReward | undefined;
  let pairs: PreferenceData | null = null;
  let before: PolicyReport | null = null;
  let last: DpoRecord | null = null;
  return runStage<DpoRun>({
    name: "dpo", preset: presetName, seed, backend, out, steps: preset.dpo.steps, json: values.json, metricsFile: "new",
    build: async (engine) => {
      if (rmCheckpoint) {
        rm = new RewardModel(engine, rmCheckpoint.model, seed);
        loadModelTensors(rm, rmCheckpoint.tensors);
        proxy = rewardModelScorer(rm);
      }
      const run = new DpoRun(engine, preset.dpo, seed, sft.model, [], sft.tensors, true);
      // the reference is the SFT model: it samples the pairs when no --pairs file is given
      pairs = await preferencePairs(run.reference, values.pairs, preset.pairs, seed, out);
      run.setPairs(pairs.train);
      before = await policyReport(run.reference, run.reference, problems, preset.report, proxy);
      return run;
    },
    step: async (run) => {
      last = await run.next();
      return { record: last, note: `loss ${last.loss.toFixed(3)} · pair acc ${pct(last["rewards/accuracies"])}` };
    },
    save: async (run) => {
      await writeModel(out, await run.checkpoint(), { stage: "dpo", step: String(run.step) });
      await writeConfig(out, { stage: "dpo", preset: presetName, seed, step: run.step, base: from, model: sft.model, train: preset.dpo, pairs: preset.pairs });
    },
    summarize: async (run, kind) => {
      const after = await policyReport(run.policy, run.reference, problems, preset.report, proxy);
      rm?.dispose();
      return {
        command: `r1-lab train dpo --from ${from} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
          (values.steps ? ` --steps ${preset.dpo.steps}` : "") + (values.pairs ? ` --pairs ${values.pairs}` : "") + (values.rm ? ` --rm ${values.rm}` : ""),
        params: run.policy.parameterCount(),
        metrics: { loss: last ? round(last.loss) : null, steps: run.step, ...pairStats(pairs!), ...flatReport(before!, "_before"), ...flatReport(after, "") },
        extra: { base: from, report: preset.report, config: preset.dpo },
      };
    },
    done: (summary) => {
      const m = summary.metrics;
      const f3 = (x: number | null | undefined) => (x == null ? "?" : x.toFixed(3));
      return `done: gold reward ${f3(m.gold_reward_before)} → ${f3(m.gold_reward)} · KL ${f3(m.kl)} nats · accuracy ${pct(m.accuracy_before)} → ${pct(m.accuracy)} · ${summary.wall_s.toFixed(1)} s · run record in ${out}`;
    },
  }, print);
}
