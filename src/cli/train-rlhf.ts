// r1-lab train rlhf --from <SFT checkpoint> --rm <reward model run> [--reward rm|rules]
//                   --preset ci|default --seed N --out DIR
//
// RL against a learned reward (the classic RLHF pipeline's last step), with GRPO's
// loop (src/train/grpo.ts) and its KL penalty to the starting model. --reward rules
// runs the same loop on R1's rule rewards instead, for the comparison. Every
// `evalEvery` steps, and at the start and the end, the policy is measured on held-out
// prompts (src/eval/preference.ts): the gold reward (the hidden rule), the proxy
// reward (the reward model's score) and the KL from the start: the over-optimisation
// curve of Gao et al. (2022), measured.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { policyReport, type PolicyReport } from "../eval/preference.js";
import { writeConfig, writeModel, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import type { GPT } from "../nn/gpt.js";
import type { RewardModel } from "../nn/reward-model.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { GrpoRun, type GrpoConfig, type GrpoRecord } from "../train/grpo.js";
import { PRESET_NAMES, rlhfPreset } from "../train/presets.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { interruptedExit, loadRewardModel, pct, readCheckpoint, reportProblems, rewardModelScorer, round, runLoop } from "./rlhf-shared.js";

export const REWARD_CHOICES = ["rm", "rules"] as const;

export async function trainRlhf(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, steps: { type: "string" }, rm: { type: "string" }, reward: { type: "string" } });
  if (positionals.length !== 1 || positionals[0] !== "rlhf") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "rlhf")}"`);
  const { from, out } = values;
  if (!from) throw new UsageError("--from DIR is required: the SFT checkpoint RL starts from (e.g. data/checkpoints/sft-default)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const reward = choiceFlag("reward", values.reward, REWARD_CHOICES, "rm");
  if (!values.rm && reward === "rm") throw new UsageError("--rm DIR is required: the reward model (a `train rm` run) to optimise; or --reward rules");
  const presetName = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const preset = rlhfPreset(presetName);
  const config: GrpoConfig = { ...preset.rl, style: "chat" };
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  const sft = await readCheckpoint(from, ["sft", "grpo"]);

  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  let run: GrpoRun | null = null;
  let rm: RewardModel | null = null;
  try {
    rm = values.rm ? await loadRewardModel(engine, values.rm) : null;
    const proxy = rm ? rewardModelScorer(rm) : undefined;
    run = new GrpoRun(engine, config, seed, sft.model, { model: sft.tensors, step: 0 }, reward === "rm" ? proxy : undefined);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "metrics.jsonl"), "");
    const problems = reportProblems(preset);
    const measure = (policy: GPT) => policyReport(policy, run!.reference, problems, preset.report, proxy);
    process.stderr.write(`RLHF from ${from} against ${reward === "rm" ? `the reward model ${values.rm}` : "the rule rewards"}, ${config.batchSize} prompts × ${config.groupSize} samples per step\n`);
    const before = await measure(run.reference);
    let latest: PolicyReport = before;
    const { last, interrupted } = await runLoop(run, config.steps, `rlhf (${reward}, ${presetName}, ${backend.name})`, out,
      (r: GrpoRecord) => `reward ${r.reward.toFixed(3)} · gold ${r.gold_reward.toFixed(3)} · kl ${r.kl.toFixed(4)}`,
      async (r) => {
        if (run!.step % config.evalEvery !== 0 && !run!.done) return;
        latest = await measure(run!.policy);
        Object.assign(r, {
          heldout_gold_reward: round(latest.gold_reward), heldout_kl: round(latest.kl),
          ...(latest.proxy_reward === null ? {} : { heldout_proxy_reward: round(latest.proxy_reward) }),
        });
      });
    const ck = await run.checkpoint();
    await writeModel(out, ck.model, { stage: "rlhf", step: String(run.step) });
    await writeConfig(out, { stage: "rlhf", preset: presetName, seed, step: run.step, base: from, reward, rm: values.rm ?? null, model: sft.model, train: config });
    if (interrupted) return interruptedExit(interrupted, run.step, out, print);
    const flat = (r: PolicyReport, suffix: string) => Object.fromEntries(Object.entries(r).map(([k, v]) => [`${k}${suffix}`, v === null ? null : round(v)]));
    const summary: RunSummary = {
      command: `r1-lab train rlhf --from ${from}${values.rm ? ` --rm ${values.rm}` : ""} --reward ${reward} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
        (values.steps ? ` --steps ${config.steps}` : ""),
      stage: "rlhf", preset: presetName, seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: run.policy.parameterCount(),
      metrics: { loss: last ? round(last.loss) : null, steps: run.step, ...flat(before, "_before"), ...flat(latest, "") },
      base: from, reward, rm: values.rm ?? null, report: preset.report, config,
    };
    await writeSummary(out, summary);
    if (values.json) print(JSON.stringify(summary, null, 2));
    else {
      print(`done: gold reward ${before.gold_reward.toFixed(3)} → ${latest.gold_reward.toFixed(3)}` +
        (latest.proxy_reward === null ? "" : ` · proxy ${before.proxy_reward!.toFixed(3)} → ${latest.proxy_reward.toFixed(3)}`) +
        ` · KL ${latest.kl.toFixed(3)} nats · accuracy ${pct(before.accuracy)} → ${pct(latest.accuracy)} · ${summary.wall_s.toFixed(1)} s · run record in ${out}`);
    }
    return 0;
  } finally {
    run?.dispose();
    rm?.dispose();
    backend.destroy();
  }
}
