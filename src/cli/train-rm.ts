// r1-lab train rm --from <SFT checkpoint> --preset ci|default --seed N --out DIR [--pairs FILE]
//
// The reward model of the RLHF lesson: preference pairs sampled from the SFT model and
// labelled by the hidden gold rule with a share of flipped labels (saved as
// out/pairs.json, or read from --pairs), then the SFT trunk + a scalar head trained
// with the Bradley–Terry loss (src/train/rm.ts). The summary has the held-out pair
// accuracy and the calibration bins.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeConfig, writeModel, writeSummary } from "../io/run-record-node.js";
import type { RunSummary } from "../io/run-record.js";
import { GPT } from "../nn/gpt.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { PRESET_NAMES, rlhfPreset } from "../train/presets.js";
import { RmRun } from "../train/rm.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { interruptedExit, pairStats, pct, preferencePairs, readCheckpoint, round, runLoop } from "./rlhf-shared.js";

export async function trainRm(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, steps: { type: "string" }, pairs: { type: "string" } });
  if (positionals.length !== 1 || positionals[0] !== "rm") throw new UsageError(`unexpected argument "${positionals.find((p) => p !== "rm")}"`);
  const from = values.from;
  const out = values.out;
  if (!from) throw new UsageError("--from DIR is required: the SFT checkpoint the reward model starts from (e.g. data/checkpoints/sft-default)");
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  const presetName = choiceFlag("preset", values.preset, PRESET_NAMES, "ci");
  const seed = intFlag("seed", values.seed, 1);
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const preset = rlhfPreset(presetName);
  if (values.steps !== undefined) preset.rm.steps = intFlag("steps", values.steps, preset.rm.steps, 1);
  const sft = await readCheckpoint(from, ["sft", "grpo"]);

  const { backend, fallbackReason, kind, adapter } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  const engine = new Engine(backend);
  const started = Date.now();
  let run: RmRun | null = null;
  try {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "metrics.jsonl"), "");
    const sampler = new GPT(engine, sft.model, seed);
    loadModelTensors(sampler, sft.tensors);
    const pairs = await preferencePairs(sampler, values.pairs, preset.pairs, seed, out);
    sampler.dispose();
    process.stderr.write(`reward model from ${from}: ${pairs.train.length} training pairs, ${pairs.heldout.length} held-out\n`);
    run = new RmRun(engine, preset.rm, seed, sft.model, pairs.train, pairs.heldout, { sft: sft.tensors });
    const before = await run.evaluate();
    const { last, interrupted } = await runLoop(run, preset.rm.steps, `rm (${presetName}, ${backend.name})`, out,
      (r) => `loss ${r.loss.toFixed(3)} · batch acc ${pct(r.accuracy)}` + (r.heldout_accuracy === undefined ? "" : ` · held-out ${pct(r.heldout_accuracy)}`));
    await writeModel(out, await run.checkpoint(), { stage: "rm", step: String(run.step) });
    await writeConfig(out, { stage: "rm", preset: presetName, seed, step: run.step, base: from, model: sft.model, train: preset.rm, pairs: preset.pairs });
    if (interrupted) return interruptedExit(interrupted, run.step, out, print);
    const ev = await run.evaluate();
    const summary: RunSummary = {
      command: `r1-lab train rm --from ${from} --preset ${presetName} --seed ${seed} --backend ${kind} --out ${out}` +
        (values.steps ? ` --steps ${preset.rm.steps}` : "") + (values.pairs ? ` --pairs ${values.pairs}` : ""),
      stage: "rm", preset: presetName, seed, backend: backend.name, adapter,
      wall_s: (Date.now() - started) / 1000,
      params: run.model.parameterCount(),
      metrics: {
        loss: last ? round(last.loss) : null,
        steps: run.step,
        ...pairStats(pairs),
        rm_pair_accuracy: round(ev.accuracy),
        rm_gold_accuracy: round(ev.goldAccuracy),
        rm_val_loss: round(ev.loss),
        rm_pair_accuracy_before: round(before.accuracy),
      },
      calibration: ev.calibration.map((b) => ({ predicted: round(b.predicted), observed: round(b.observed), count: b.count })),
      base: from, config: preset.rm, pairs: preset.pairs,
    };
    await writeSummary(out, summary);
    if (values.json) print(JSON.stringify(summary, null, 2));
    else print(`done: held-out pair accuracy ${pct(ev.accuracy)} (against the gold rule ${pct(ev.goldAccuracy)}; untrained head ${pct(before.accuracy)}) · ${summary.wall_s.toFixed(1)} s · run record in ${out}`);
    return 0;
  } finally {
    run?.dispose();
    backend.destroy();
  }
}
