// The MLA lesson's run: four copies of the CLI's ci GPT, one per attention kind
// (MHA, GQA, MQA, MLA: src/train/presets.ts withAttention), trained side by side on
// the same batches from the same seed. Each harness step is one optimiser step of
// each of the four, so the harness's time estimate covers all four.
//
// Records: `{step, loss, loss_mha, loss_gqa, loss_mqa, loss_mla, ms_per_step}` and on
// evaluation steps `val_mha` … `val_mla`. `loss` is MLA's (the lesson's subject); the
// other fields are what the charts draw. With the "default" preset the four runs are
// exactly `r1-lab train pretrain --preset ci --attention <kind>` (data/results/mla.json).
//
// Views (only when a page listens):
//   "info"    at the start: per kind, parameters and the cache per token counted from
//             the cache tensors GPT.newCache allocates
//   "decode"  after the last step: per kind, greedy KV-cached decoding of 8 sequences
//             to the full context on this engine: tokens/s and the bytes the engine
//             held for the cache while decoding
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import { PretrainRun } from "../../train/pretrain.js";
import type { TensorMap } from "../../io/safetensors.js";
import { ATTENTION_KINDS, PRETRAIN_PRESETS, withAttention, type AttentionKind, type PretrainConfig } from "../../train/presets.js";
import { measureCacheSize, measureDecodeSpeed } from "../../sample/decode-speed.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";

export interface MlaJobConfig extends JobConfig {
  lr: number;
  evalEvery: number;
  evalBatches: number;
  /** time KV-cached decoding of each model after the last step */
  decode: boolean;
}

export interface MlaKindInfo {
  kind: AttentionKind;
  params: number;
  /** cache values per token, all layers, counted from the cache tensors */
  cacheElementsPerToken: number;
  cacheBytesPerToken: number;
  /** the same per layer */
  cacheElementsPerTokenPerLayer: number;
}

export interface MlaInfoView {
  nLayers: number;
  nHeads: number;
  dModel: number;
  maxSeqLen: number;
  kinds: MlaKindInfo[];
}

export interface MlaDecodeRow {
  kind: AttentionKind;
  tokensPerS: number;
  /** bytes the engine held for the cache while decoding, per cached position */
  bytesPerTokenWhileDecoding: number;
}

export interface MlaDecodeView {
  batch: number;
  backend: string;
  rows: MlaDecodeRow[];
}

const CLI = PRETRAIN_PRESETS.ci;

/** the CLI's ci run with the given attention, its length and validation set by the job config */
export function mlaRunConfig(c: MlaJobConfig, kind: AttentionKind): PretrainConfig {
  return {
    ...structuredClone(CLI), model: withAttention(CLI.model, kind),
    steps: c.steps, lr: c.lr, evalEvery: c.evalEvery, evalBatches: c.evalBatches, heldoutQuestions: 0,
  };
}

export const MLA_JOB_PRESETS: Record<string, MlaJobConfig> = {
  /** exactly `r1-lab train pretrain --preset ci --attention <kind> --seed 1` for each kind */
  default: { seed: 1, steps: CLI.steps, lr: CLI.lr, evalEvery: 50, evalBatches: CLI.evalBatches, decode: true },
  /** 30 steps and a 4-batch validation: seconds, for the tests */
  ci: { seed: 1, steps: 30, lr: CLI.lr, evalEvery: 10, evalBatches: 4, decode: true },
};

async function* runMla(c: MlaJobConfig, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  // four runs, one per attention kind; a saved page run keeps each one's tensors under its kind ("mla.blocks.0…")
  const saved = context?.resume;
  const part = (kind: string, tensors: TensorMap): TensorMap =>
    Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(`${kind}.`)).map(([k, v]) => [k.slice(kind.length + 1), v]));
  const runs = ATTENTION_KINDS.map((kind) => ({
    kind,
    run: new PretrainRun(engine, mlaRunConfig(c, kind), c.seed, saved && { model: part(kind, saved.model), optimizer: part(kind, saved.optimizer), step: saved.step }),
  }));
  context?.saveable?.(async () => {
    const model: TensorMap = {};
    const optimizer: TensorMap = {};
    for (const { kind, run } of runs) {
      const ck = await run.checkpoint();
      for (const [k, v] of Object.entries(ck.model)) model[`${kind}.${k}`] = v;
      for (const [k, v] of Object.entries(ck.optimizer)) optimizer[`${kind}.${k}`] = v;
    }
    return { step: runs[0]!.run.step, model, optimizer };
  });
  try {
    if (context) {
      const m = runs[0]!.run.model.config;
      context.emit("info", {
        nLayers: m.nLayers, nHeads: m.nHeads, dModel: m.dModel, maxSeqLen: m.maxSeqLen,
        kinds: runs.map(({ kind, run }) => {
          const size = measureCacheSize(run.model);
          return {
            kind, params: run.model.parameterCount(), cacheElementsPerToken: size.elementsPerToken,
            cacheBytesPerToken: size.bytesPerToken, cacheElementsPerTokenPerLayer: size.elementsPerTokenPerLayer,
          };
        }),
      } satisfies MlaInfoView);
    }
    let step = runs[0]!.run.step;
    while (!runs[0]!.run.done) {
      const t0 = performance.now();
      const rec: MetricRecord = { step: step + 1, loss: NaN };
      for (const { kind, run } of runs) {
        const r = await run.next();
        rec[`loss_${kind}`] = r.loss;
        if (r.val_loss !== undefined) rec[`val_${kind}`] = r.val_loss;
        if (kind === "mla") rec.loss = r.loss;
      }
      rec["ms_per_step"] = performance.now() - t0;
      step++;
      yield rec;
    }
    if (context && c.decode) {
      const rows: MlaDecodeRow[] = [];
      for (const { kind, run } of runs) {
        const d = await measureDecodeSpeed(run.model, { batch: 8, promptLen: 8, repeats: 1, seed: c.seed });
        rows.push({ kind, tokensPerS: d.tokensPerS, bytesPerTokenWhileDecoding: d.bytesPerTokenWhileDecoding });
      }
      context.emit("decode", { batch: 8, backend: backend.description, rows } satisfies MlaDecodeView);
    }
  } finally {
    for (const { run } of runs) run.dispose();
  }
}

export const mlaJob: JobDef<MlaJobConfig> = {
  name: "mla",
  resumable: true,
  title: "MHA, GQA, MQA and MLA side by side",
  description: "Four copies of the ci GPT that differ only in their attention, trained on the same batches: the loss each reaches, the cache each keeps, the speed each decodes at.",
  params: [
    { key: "lr", label: "learning rate", kind: "float", min: 1e-6, max: 1, help: "AdamW peak learning rate, the same for all four" },
    { key: "evalEvery", label: "val every", kind: "int", min: 1, max: 100_000, help: "steps between validation passes" },
    { key: "evalBatches", label: "val batches", kind: "int", min: 1, max: 64, help: "batches per validation pass" },
    { key: "decode", label: "time decoding", kind: "bool", help: "after training, decode with each model's cache and time it" },
  ],
  presets: MLA_JOB_PRESETS,
  charts: [
    { title: "training loss (nats per token)", keys: ATTENTION_KINDS.map((k) => `loss_${k}`), smoothing: 0.6 },
    { title: "validation loss", keys: ATTENTION_KINDS.map((k) => `val_${k}`) },
  ],
  validate: (c) => (c.evalEvery > c.steps ? `val every (${c.evalEvery}) must be at most the number of steps (${c.steps}), or no validation loss is drawn` : null),
  run: runMla,
};
