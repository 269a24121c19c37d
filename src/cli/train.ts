// r1-lab train <stage>: run a training stage and write its run record:
// metrics.jsonl, summary.json, config.json, model.safetensors (+ optimizer.safetensors
// so the run can be resumed with --from). This file finds the stage and holds pretraining;
// the other stages are train-<stage>.ts, and all of them share runStage (stage.ts).
import { readConfig, readMetrics, readModel, readOptimizer, writeConfig } from "../io/run-record-node.js";
import { PretrainRun, type PretrainRecord, type ResumeState } from "../train/pretrain.js";
import { ATTENTION_KINDS, BALANCE_CHOICES, moeVariant, pretrainPreset, withAttention, STUDENT_ARCHS, studentModel } from "../train/presets.js";
import { measureCacheSize, measureDecodeSpeed } from "../sample/decode-speed.js";
import { UsageError, COMMON_OPTIONS, parse, intFlag, choiceFlag } from "./args.js";
import { runDirs } from "./interrupt.js";
import { round, runStage, saveWeights, stageFlags } from "./stage.js";
import { trainDistill } from "./train-distill.js";
import { trainGrpo } from "./train-grpo.js";
import { trainSft } from "./train-sft.js";
import { trainRm } from "./train-rm.js";
import { trainRlhf } from "./train-rlhf.js";
import { trainDpo } from "./train-dpo.js";

export const STAGES = ["pretrain", "sft", "grpo", "distill", "rm", "rlhf", "dpo"] as const;
export const MLP_CHOICES = ["dense", "moe"] as const;
/** summary.json's load_imbalance: the mean of the per-step max/mean load over this many last steps */
export const IMBALANCE_WINDOW = 50;

// each stage parses its own flags; this first pass only finds the stage (so it accepts any stage's flags)
const TRAIN_OPTIONS = {
  ...COMMON_OPTIONS, steps: { type: "string" }, "stop-after": { type: "string" }, style: { type: "string" },
  attention: { type: "string" }, "measure-decode": { type: "boolean" },
  mlp: { type: "string" }, balance: { type: "string" }, dispatch: { type: "string" },
  lr: { type: "string" }, curriculum: { type: "string" }, resume: { type: "string" },
  pairs: { type: "string" }, rm: { type: "string" }, reward: { type: "string" },
  data: { type: "string" }, teacher: { type: "string" }, "kd-alpha": { type: "string" }, "kd-temperature": { type: "string" }, arch: { type: "string" },
} as const;
type TrainFlags = ReturnType<typeof parse<typeof TRAIN_OPTIONS>>["values"];

export async function train(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, TRAIN_OPTIONS);
  const stage = positionals[0];
  if (!stage) throw new UsageError(`which stage? (${STAGES.join(", ")})`);
  if (!(STAGES as readonly string[]).includes(stage)) throw new UsageError(`unknown stage "${stage}" (available: ${STAGES.join(", ")})`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  if (stage === "sft") return trainSft(argv, print);
  if (stage === "grpo") return trainGrpo(argv, print);
  if (stage === "distill") return trainDistill(argv, print);
  if (stage === "rm") return trainRm(argv, print);
  if (stage === "rlhf") return trainRlhf(argv, print);
  if (stage === "dpo") return trainDpo(argv, print);
  return trainPretrain(values, print);
}

/** Pretraining's flags, checked: the preset's configuration with the model variant they ask for. */
function pretrainFlags(values: TrainFlags) {
  for (const flag of ["pairs", "rm", "reward"] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} is a flag of train rm, rlhf and dpo`);
  for (const flag of ["style", "lr", "curriculum"] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} is a flag of train grpo`);
  for (const flag of ["data", "teacher", "kd-alpha", "kd-temperature"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is a flag of train distill`);
  }
  const { preset, seed, backend } = stageFlags(values);
  const { from, out } = runDirs(values);
  if (!out) throw new UsageError("--out DIR is required (where the run record goes)");
  // --mlp moe: the preset's model with DeepSeekMoE layers at equal active parameters;
  // --balance none|aux|bias: how its experts are kept busy (default bias, DeepSeek-V3's)
  const mlp = choiceFlag("mlp", values.mlp, MLP_CHOICES, "dense");
  if (mlp === "dense" && values.balance !== undefined) throw new UsageError("--balance needs --mlp moe (a dense model has no experts to balance)");
  const balance = choiceFlag("balance", values.balance, BALANCE_CHOICES, "bias");
  const config = mlp === "moe" ? moeVariant(pretrainPreset(preset), balance) : pretrainPreset(preset);
  // --dispatch sparse: each expert runs on its own tokens only (same results as dense, to float rounding)
  if (mlp === "dense" && values.dispatch !== undefined) throw new UsageError("--dispatch needs --mlp moe");
  const dispatch = choiceFlag("dispatch", values.dispatch, ["dense", "sparse"] as const, "dense");
  if (config.model.mlp) config.model.mlp.dispatch = dispatch;
  // --arch student: the preset's smaller student for distillation (STUDENT_MODELS), pretrained like the teacher
  const arch = choiceFlag("arch", values.arch, ["preset", ...STUDENT_ARCHS] as const, "preset");
  if (arch !== "preset") config.model = studentModel(arch, preset);
  if (values.steps !== undefined) config.steps = intFlag("steps", values.steps, config.steps, 1);
  // --attention mha|gqa|mqa|mla: the preset's model with that attention (the presets' own is GQA)
  const attention = values.attention === undefined ? undefined : choiceFlag("attention", values.attention, ATTENTION_KINDS, "gqa");
  if (attention) config.model = withAttention(config.model, attention);
  // --stop-after N: take N steps of the full schedule and save; --from continues it later
  const stopAfter = intFlag("stop-after", values["stop-after"], config.steps, 1);
  return { preset, seed, backend, from, out, mlp, balance, dispatch, arch, attention, config, stopAfter };
}

async function trainPretrain(values: TrainFlags, print: (s: string) => void): Promise<number> {
  const { preset, seed, backend, from, out, mlp, balance, dispatch, arch, attention, config, stopAfter } = pretrainFlags(values);
  let resume: ResumeState | undefined;
  if (from) {
    const saved = (await readConfig(from)) as { step?: number; train?: unknown };
    const { tensors } = await readModel(from);
    const optimizer = await readOptimizer(from);
    resume = { model: tensors, ...(optimizer ? { optimizer } : {}), step: optimizer ? Number(saved.step ?? 0) : 0 };
  }

  let last: PretrainRecord | null = null;
  let lastVal = NaN;
  return runStage({
    name: "pretrain", preset, seed, backend, out, steps: config.steps, json: values.json,
    // continued in its own directory: cut metrics.jsonl back to the checkpoint; anywhere else a new file,
    // so an old run's lines in --out never mix with this one's (as the SFT and GRPO stages do)
    metricsFile: resume && from === out ? "trim" : "new",
    resumable: { stopAfter, checkpointEvery: config.evalEvery },
    build: (engine) => new PretrainRun(engine, config, seed, resume),
    step: async (run) => {
      last = await run.next();
      if (last.val_loss !== undefined) lastVal = last.val_loss;
      // an MoE model's tokens per expert, one row per MoE layer, on every line
      const loads = run.expertLoads.map((l) => l.tokens);
      const note = `loss ${last.loss.toFixed(3)}${Number.isNaN(lastVal) ? "" : ` · val ${lastVal.toFixed(3)}`}`;
      return { record: loads.length > 0 ? { ...last, expert_load: loads } : last, note };
    },
    save: async (run) => {
      await saveWeights(out, "pretrain", run.step, await run.checkpoint());
      await writeConfig(out, {
        stage: "pretrain", preset, mlp, ...(mlp === "moe" ? { balance } : {}), seed, step: run.step, model: config.model, train: config, ...(attention ? { attention } : {}),
      });
    },
    summarize: async (run, kind) => {
      const held = await run.heldoutAccuracy();
      // the decoding cache, measured from the tensors GPT.newCache allocates
      const cache = measureCacheSize(run.model);
      // --measure-decode: greedy KV-cached decoding of 8 sequences to the full context, fastest of 3
      const decode = values["measure-decode"] ? await measureDecodeSpeed(run.model, { batch: 8, promptLen: 8, repeats: 3, seed }) : null;
      const moe = mlp === "moe" ? ` --mlp moe --balance ${balance}${dispatch === "sparse" ? " --dispatch sparse" : ""}` : "";
      const flops = run.model.flopsPerToken(config.seqLen);
      const flags = [
        values.steps ? ` --steps ${config.steps}` : "", attention ? ` --attention ${attention}` : "",
        decode ? " --measure-decode" : "", from ? ` --from ${from}` : "", arch !== "preset" ? ` --arch ${arch}` : "",
      ].join("");
      return {
        command: `r1-lab train pretrain --preset ${preset}${moe} --seed ${seed} --backend ${kind} --out ${out}${flags}`,
        params: run.model.parameterCount(),
        metrics: {
          loss: last ? round(last.loss) : null,
          val_loss: round(lastVal),
          unigram_val_loss: round(run.unigramValLoss),
          heldout_accuracy: held.accuracy,
          steps: run.step,
          tokens_seen: run.step * config.batchSize * config.seqLen,
          params: run.model.parameterCount(),
          active_params: run.model.activeParameterCount(),
          flops_per_token: flops,
          ...(mlp === "moe" ? { load_imbalance: round(await lastImbalance(out)) } : {}),
          kv_cache_elements_per_token: cache.elementsPerToken,
          kv_cache_bytes_per_token: cache.bytesPerToken,
          ...(decode ? { decode_tokens_per_s: Math.round(decode.tokensPerS) } : {}),
        },
        extra: { attention: attention ?? "preset", flops_per_token: flops, config },
      };
    },
    done: ({ metrics: m, wall_s }) =>
      `done: val_loss ${m.val_loss} (unigram ${m.unigram_val_loss}), held-out direct accuracy ${(m.heldout_accuracy! * 100).toFixed(1)}% · ${wall_s.toFixed(1)} s · run record in ${out}`,
  }, print);
}

/**
 * max load ÷ mean load (1 = balanced; E/k = every token on the same k experts), per
 * step averaged over the MoE layers (load_imbalance of metrics.jsonl), then averaged
 * over the last IMBALANCE_WINDOW steps: read back from metrics.jsonl, so a resumed
 * run counts the steps taken before it too.
 */
async function lastImbalance(out: string): Promise<number> {
  const values = (await readMetrics(out)).flatMap((r) => (typeof r.load_imbalance === "number" ? [r.load_imbalance] : []));
  const tail = values.slice(-IMBALANCE_WINDOW);
  return tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
}
