// r1-lab train rlhf --from <SFT checkpoint> --rm <reward model run> [--reward rm|rules]
//                   --preset ci|default --seed N --out DIR
//
// RL against a learned reward (the classic RLHF pipeline's last step), with GRPO's
// loop (src/train/grpo.ts) and its KL penalty to the starting model. --reward rules
// runs the same loop on R1's rule rewards instead, for the comparison. At the start,
// every `evalEvery` steps and at the end, the policy is measured on held-out prompts
// (src/eval/preference.ts): the gold reward (the hidden rule), the proxy reward (the
// reward model's score) and the KL from the start: the over-optimisation curve of
// Gao et al. (2022), measured. The step loop and summary.json are runStage's.
import { policyReport, type PolicyReport } from "../eval/preference.js";
import { writeConfig, writeModel } from "../io/run-record-node.js";
import type { GPT } from "../nn/gpt.js";
import { RewardModel } from "../nn/reward-model.js";
import type { SequenceReward } from "../rl/groups.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { GrpoRun, type GrpoConfig, type GrpoRecord } from "../train/grpo.js";
import { rlhfPreset } from "../train/presets.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { readCheckpoint, reportProblems, rewardModelScorer, flatReport } from "./rlhf-shared.js";
import { pct, round, runStage, stageFlags } from "./stage.js";

export const REWARD_CHOICES = ["rm", "rules"] as const;

/** the RL run and the reward model it is measured with (and, with --reward rm, optimises) */
class RlhfRun {
  constructor(readonly grpo: GrpoRun, readonly rm: RewardModel | null) {}
  get step(): number { return this.grpo.step; }
  get done(): boolean { return this.grpo.done; }
  dispose(): void {
    this.grpo.dispose();
    this.rm?.dispose();
  }
}

export async function trainRlhf(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, steps: { type: "string" }, rm: { type: "string" }, reward: { type: "string" } });
  if (positionals.length !== 1 || positionals[0] !== "rlhf") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "rlhf")}"`);
  const { from, out } = values;
  if (!from) throw new UsageError("--from DIR is required: the SFT checkpoint RL starts from (e.g. data/checkpoints/sft-default)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const reward = choiceFlag("reward", values.reward, REWARD_CHOICES, "rm");
  if (!values.rm && reward === "rm") throw new UsageError("--rm DIR is required: the reward model (a `train rm` run) to optimise; or --reward rules");
  const { preset: presetName, seed, backend } = stageFlags(values);
  const preset = rlhfPreset(presetName);
  const config: GrpoConfig = { ...preset.rl, style: "chat" };
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  const sft = await readCheckpoint(from, ["sft", "grpo"]);
  const rmCheckpoint = values.rm ? await readCheckpoint(values.rm, ["rm"]) : null;
  const problems = reportProblems(preset);

  let proxy: SequenceReward | undefined;
  let before: PolicyReport | null = null;
  let latest: PolicyReport | null = null;
  let last: GrpoRecord | null = null;
  const measure = (run: RlhfRun, policy: GPT) => policyReport(policy, run.grpo.reference, problems, preset.report, proxy);
  return runStage<RlhfRun>({
    name: "rlhf", preset: presetName, seed, backend, out, steps: config.steps, json: values.json, metricsFile: "new",
    build: async (engine) => {
      let rm: RewardModel | null = null;
      if (rmCheckpoint) {
        rm = new RewardModel(engine, rmCheckpoint.model, seed);
        loadModelTensors(rm, rmCheckpoint.tensors);
        proxy = rewardModelScorer(rm);
      }
      const run = new RlhfRun(new GrpoRun(engine, config, seed, sft.model, { model: sft.tensors, step: 0 }, reward === "rm" ? proxy : undefined), rm);
      process.stderr.write(`RLHF from ${from} against ${reward === "rm" ? `the reward model ${values.rm}` : "the rule rewards"}, ${config.batchSize} prompts × ${config.groupSize} samples per step\n`);
      before = latest = await measure(run, run.grpo.reference);
      return run;
    },
    step: async (run) => {
      last = await run.grpo.next();
      const record: GrpoRecord = { ...last };
      if (run.step % config.evalEvery === 0 || run.done) {
        latest = await measure(run, run.grpo.policy);
        Object.assign(record, {
          heldout_gold_reward: round(latest.gold_reward), heldout_kl: round(latest.kl),
          ...(latest.proxy_reward === null ? {} : { heldout_proxy_reward: round(latest.proxy_reward) }),
        });
      }
      return { record, note: `reward ${last.reward.toFixed(3)} · gold ${last.gold_reward.toFixed(3)} · kl ${last.kl.toFixed(4)}` };
    },
    save: async (run) => {
      await writeModel(out, (await run.grpo.checkpoint()).model, { stage: "rlhf", step: String(run.step) });
      await writeConfig(out, { stage: "rlhf", preset: presetName, seed, step: run.step, base: from, reward, rm: values.rm ?? null, model: sft.model, train: config });
    },
    summarize: async (run, kind) => ({
      command: `r1-lab train rlhf --from ${from}${values.rm ? ` --rm ${values.rm}` : ""} --reward ${reward} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
        (values.steps ? ` --steps ${config.steps}` : ""),
      params: run.grpo.policy.parameterCount(),
      metrics: { loss: last ? round(last.loss) : null, steps: run.step, ...flatReport(before!, "_before"), ...flatReport(latest!, "") },
      extra: { base: from, reward, rm: values.rm ?? null, report: preset.report, config },
    }),
    done: (summary) => {
      const m = summary.metrics;
      const f3 = (x: number | null | undefined) => (x == null ? "?" : x.toFixed(3));
      return `done: gold reward ${f3(m.gold_reward_before)} → ${f3(m.gold_reward)}` +
        (m.proxy_reward == null ? "" : ` · proxy ${f3(m.proxy_reward_before)} → ${f3(m.proxy_reward)}`) +
        ` · KL ${f3(m.kl)} nats · accuracy ${pct(m.accuracy_before)} → ${pct(m.accuracy)} · ${summary.wall_s.toFixed(1)} s · run record in ${out}`;
    },
  }, print);
}
