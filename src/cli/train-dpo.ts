// r1-lab train dpo --from <SFT checkpoint> --preset ci|default --seed N --out DIR
//                  [--pairs FILE] [--rm DIR]
//
// DPO on the RLHF lesson's preference pairs (src/train/dpo.ts): no reward model, no
// sampling during training. The pairs are read from --pairs (a `train rm` run's
// pairs.json) or sampled exactly as `train rm` samples them (same preset and seed →
// the same pairs). The result is measured as `train rlhf` measures its policy: gold
// reward and KL from the start on held-out prompts (and the reward model's score of
// it, with --rm).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { policyReport, type PolicyReport } from "../eval/preference.js";
import { writeConfig, writeModel, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import type { RewardModel } from "../nn/reward-model.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { DpoRun } from "../train/dpo.js";
import { PRESET_NAMES, rlhfPreset } from "../train/presets.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { interruptedExit, loadRewardModel, pairStats, pct, preferencePairs, readCheckpoint, reportProblems, rewardModelScorer, round, runLoop } from "./rlhf-shared.js";

export async function trainDpo(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, steps: { type: "string" }, pairs: { type: "string" }, rm: { type: "string" } });
  if (positionals.length !== 1 || positionals[0] !== "dpo") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "dpo")}"`);
  const { from, out } = values;
  if (!from) throw new UsageError("--from DIR is required: the SFT checkpoint DPO starts from, also its reference (e.g. data/checkpoints/sft-default)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const presetName = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const preset = rlhfPreset(presetName);
  if (values.steps !== undefined) preset.dpo.steps = intFlag("steps", values.steps, preset.dpo.steps, 1);
  const sft = await readCheckpoint(from, ["sft", "grpo"]);

  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  let run: DpoRun | null = null;
  let rm: RewardModel | null = null;
  try {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "metrics.jsonl"), "");
    rm = values.rm ? await loadRewardModel(engine, values.rm) : null;
    const proxy = rm ? rewardModelScorer(rm) : undefined;
    run = new DpoRun(engine, preset.dpo, seed, sft.model, [], sft.tensors, true);
    const pairs = await preferencePairs(run.reference, values.pairs, preset.pairs, seed, out);
    run.setPairs(pairs.train);
    const problems = reportProblems(preset);
    const before: PolicyReport = await policyReport(run.reference, run.reference, problems, preset.report, proxy);
    const { last, interrupted } = await runLoop(run, preset.dpo.steps, `dpo (${presetName}, ${backend.name})`, out,
      (r) => `loss ${r.loss.toFixed(3)} · pair acc ${pct(r["rewards/accuracies"])}`);
    await writeModel(out, await run.checkpoint(), { stage: "dpo", step: String(run.step) });
    await writeConfig(out, { stage: "dpo", preset: presetName, seed, step: run.step, base: from, model: sft.model, train: preset.dpo, pairs: preset.pairs });
    if (interrupted) return interruptedExit(interrupted, run.step, out, print);
    const after = await policyReport(run.policy, run.reference, problems, preset.report, proxy);
    const flat = (r: PolicyReport, suffix: string) => Object.fromEntries(Object.entries(r).map(([k, v]) => [`${k}${suffix}`, v === null ? null : round(v)]));
    const summary: RunSummary = {
      command: `r1-lab train dpo --from ${from} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
        (values.steps ? ` --steps ${preset.dpo.steps}` : "") + (values.pairs ? ` --pairs ${values.pairs}` : "") + (values.rm ? ` --rm ${values.rm}` : ""),
      stage: "dpo", preset: presetName, seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: run.policy.parameterCount(),
      metrics: { loss: last ? round(last.loss) : null, steps: run.step, ...pairStats(pairs), ...flat(before, "_before"), ...flat(after, "") },
      base: from, report: preset.report, config: preset.dpo,
    };
    await writeSummary(out, summary);
    if (values.json) print(JSON.stringify(summary, null, 2));
    else print(`done: gold reward ${before.gold_reward.toFixed(3)} → ${after.gold_reward.toFixed(3)} · KL ${after.kl.toFixed(3)} nats · accuracy ${pct(before.accuracy)} → ${pct(after.accuracy)} · ${summary.wall_s.toFixed(1)} s · run record in ${out}`);
    return 0;
  } finally {
    run?.dispose();
    rm?.dispose();
    backend.destroy();
  }
}
