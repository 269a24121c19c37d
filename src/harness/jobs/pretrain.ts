// The Pretrain lesson's run: a tiny GPT learns the textbook by next-token
// prediction. A thin wrapper over src/train/pretrain.ts (the loop the CLI runs), so
// the page, the CLI and the tests train through one piece of code.
//
// Records: one per optimisation step, `{step, loss, grad_norm, lr, ms_per_step,
// val_loss?}`. `step` counts steps done (1, 2, …: the harness's convention; the
// CLI's metrics.jsonl numbers the same step from 0), and the wall time is
// `ms_per_step` (the harness's timing field, left out when runs are compared)
// instead of the CLI's `tokens_per_s`: tokens/s = batchSize·seqLen / (ms_per_step/1000).
//
// Views (only when a page listens, i.e. a JobContext is given; the CLI and the
// contract tests pass none, so they pay for none of this):
//   "info"     at the start: parameter count, FLOPs per token, the unigram baseline
//   "samples"  at step 0 and every `sampleEvery` steps: greedy continuations of a
//              few fixed textbook-style prompts, with the probability of each token
//   "weights"  with every "samples": the model's weights, so the page can draw
//              attention maps for a prompt the learner types, on its own copy
//   "summary"  after the last step: the numbers the CLI writes into summary.json
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import { GPT, validateGPTConfig, type GPTConfig } from "../../nn/gpt.js";
import { decodeSafetensors, type TensorMap } from "../../io/safetensors.js";
import { modelTensors } from "../../train/checkpoint.js";
import { PretrainRun, type ResumeState } from "../../train/pretrain.js";
import { PRETRAIN_PRESETS, type PretrainConfig } from "../../train/presets.js";
import { generate } from "../../sample/generate.js";
import {
  BOS_ID, EOS_ID, additionWorkedExample, decode, encode, solveExpression, subtractionWorkedExample, vocabSize,
} from "../../tasks/index.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";

export const INIT_CHOICES = ["scratch", "shipped checkpoint"] as const;
export type InitChoice = (typeof INIT_CHOICES)[number];

export interface PretrainJobConfig extends JobConfig {
  /** random weights, or the shipped base model (data/checkpoints/pretrain-default) */
  init: InitChoice;
  /** where the shipped model.safetensors is served (the page supplies it; "" = not available) */
  checkpointUrl: string;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dFF: number;
  tiedHead: boolean;
  seqLen: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  evalEvery: number;
  evalBatches: number;
  /** steps between samples (and weight snapshots for the attention map); 0 = none */
  sampleEvery: number;
  /** most new tokens per sample */
  sampleTokens: number;
  /** held-out direct questions scored after the last step (0 = skip) */
  heldoutQuestions: number;
}

/** The fixed parts of the recipe (the same in every CLI preset). */
const FIXED = { minLrRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1, ropeTheta: 10000, normEps: 1e-5 } as const;
/** the model the shipped checkpoint has: `r1-lab train pretrain --preset default` */
export const SHIPPED_MODEL: GPTConfig = PRETRAIN_PRESETS.default.model;
/** samples may run past the training window up to this many positions */
const MIN_MAX_SEQ_LEN = 128;

/** A job config with the CLI preset's numbers, plus the page's own (samples, init). */
function fromCli(p: PretrainConfig, extra: Partial<PretrainJobConfig> = {}): PretrainJobConfig {
  return {
    seed: 1, steps: p.steps, init: "scratch", checkpointUrl: "",
    dModel: p.model.dModel, nLayers: p.model.nLayers, nHeads: p.model.nHeads, nKvHeads: p.model.nKvHeads,
    dFF: p.model.dFF, tiedHead: p.model.tiedHead,
    seqLen: p.seqLen, batchSize: p.batchSize, lr: p.lr, warmupSteps: p.warmupSteps,
    evalEvery: p.evalEvery, evalBatches: p.evalBatches,
    sampleEvery: 100, sampleTokens: 100, heldoutQuestions: p.heldoutQuestions,
    ...extra,
  };
}

const cliDefault = PRETRAIN_PRESETS.default;
const cliCi = PRETRAIN_PRESETS.ci;
const experiment = (extra: Partial<PretrainJobConfig>) =>
  fromCli(cliDefault, { steps: 600, warmupSteps: 50, sampleEvery: 100, heldoutQuestions: 50, ...extra });

export const PRETRAIN_JOB_PRESETS: Record<string, PretrainJobConfig> = {
  /** exactly `r1-lab train pretrain --preset default --seed 1`: the run that made the shipped checkpoint */
  default: fromCli(cliDefault),
  /** the CLI's ci model, cut to 20 steps: finishes in well under a minute on a software adapter (its validation reads 4 batches, not the whole stream) */
  ci: fromCli(cliCi, { steps: 20, warmupSteps: 10, evalEvery: 10, evalBatches: 4, sampleEvery: 10, sampleTokens: 40, heldoutQuestions: 20 }),
  /** exactly `r1-lab train pretrain --preset ci --seed 1` */
  "small (CLI ci)": fromCli(cliCi, { sampleEvery: 50, sampleTokens: 80 }),
  // experiments: the default model for 600 steps, one change each
  "reference, 600 steps": experiment({}),
  "from the checkpoint": fromCli(cliDefault, {
    init: "shipped checkpoint", steps: 200, lr: 3e-4, warmupSteps: 20, evalEvery: 50, sampleEvery: 50, heldoutQuestions: 100,
  }),
  "MQA (1 KV head)": experiment({ nKvHeads: 1 }),
  "MHA (4 KV heads)": experiment({ nKvHeads: 4 }),
  "one layer": experiment({ nLayers: 1 }),
  "short context": experiment({ seqLen: 12 }),
  "lr too high": experiment({ lr: 0.1 }),
};

export function gptConfig(c: PretrainJobConfig): GPTConfig {
  return {
    vocabSize, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads, dFF: c.dFF,
    maxSeqLen: Math.max(c.seqLen, MIN_MAX_SEQ_LEN), ropeTheta: FIXED.ropeTheta, tiedHead: c.tiedHead, normEps: FIXED.normEps,
  };
}

/** The PretrainRun config (src/train/presets.ts shape) for a job config. */
export function pretrainConfig(c: PretrainJobConfig): PretrainConfig {
  return {
    model: gptConfig(c), batchSize: c.batchSize, seqLen: c.seqLen, steps: c.steps, lr: c.lr,
    warmupSteps: c.warmupSteps, minLrRatio: FIXED.minLrRatio, weightDecay: FIXED.weightDecay,
    maxGradNorm: FIXED.maxGradNorm, evalEvery: c.evalEvery, evalBatches: c.evalBatches, heldoutQuestions: c.heldoutQuestions,
  };
}

// ---- samples ----------------------------------------------------------------------

export interface SamplePrompt {
  prompt: string;
  /** the textbook's continuation (what the rule gives), for marking the sample */
  expected: string;
}

/** How the textbook spells a chain in its "means" phrasing (src/tasks/corpus.ts). */
function chainMeans(question: string): string {
  const { answer, steps } = solveExpression(question);
  const words = (step: string): string => {
    const [left, result] = step.split("=") as [string, string];
    return `${left.replace("+", " plus ").replace("-", " minus ")} is ${result}`;
  };
  return `${question} means ${steps.map(words).join(", then ")}, so ${question}=${answer}.`;
}

function cut(line: string, prefix: string): SamplePrompt {
  if (!line.startsWith(prefix)) throw new Error(`sample prompt "${prefix}" is not a prefix of "${line}"`);
  return { prompt: prefix, expected: line.slice(prefix.length) };
}

/**
 * Fixed prompts in the textbook's style: a 3-digit addition with carries, a
 * subtraction with a borrow, a 5-number chain.
 */
export const SAMPLE_PROMPTS: readonly SamplePrompt[] = [
  cut(additionWorkedExample(158, 267), "To add 158 and 267: ones:"),
  cut(subtractionWorkedExample(91, 38), "To take 38 from 91: ones:"),
  cut(chainMeans("384+119-256+938-471"), "384+119-256+938-471 means"),
];

const NEWLINE_ID = encode("\n")[0]!;

export interface Sample {
  prompt: string;
  expected: string;
  /** the generated tokens, as text, one entry per token */
  tokens: string[];
  /** the probability the model gave each generated token */
  probs: number[];
  /** how many leading characters agree with `expected` */
  matching: number;
  /** the whole line is the textbook's */
  correct: boolean;
  /** stopped at a newline (false: ran out of tokens or context) */
  finished: boolean;
}

export interface SamplesView {
  step: number;
  samples: Sample[];
}

function softmaxAt(row: ArrayLike<number>, offset: number, n: number, index: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, row[offset + i]!);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(row[offset + i]! - max);
  return Math.exp(row[offset + index]! - max) / z;
}

/** Greedy continuations of the fixed prompts, each token with its probability. */
export async function samplePrompts(model: GPT, maxNewTokens: number, prompts: readonly SamplePrompt[] = SAMPLE_PROMPTS): Promise<Sample[]> {
  const e = model.engine;
  const V = model.config.vocabSize;
  const encoded = prompts.map((p) => [BOS_ID, ...encode(p.prompt)]);
  // one batch (generate left-pads prompts of different lengths); the longest prompt sets the room left
  const budget = Math.min(maxNewTokens, model.config.maxSeqLen - Math.max(...encoded.map((ids) => ids.length)));
  const { tokens: outs, stopped } = budget > 0
    ? await generate(model, encoded, {
      temperature: 0, topK: 0, topP: 1, maxNewTokens: budget, stopTokens: [NEWLINE_ID, EOS_ID, BOS_ID], seed: 0,
    })
    : { tokens: encoded.map(() => []), stopped: encoded.map(() => false) };
  const samples: Sample[] = [];
  for (let i = 0; i < prompts.length; i++) {
    const prompt = encoded[i]!;
    const out = outs[i]!;
    const probs: number[] = [];
    if (out.length) {
      // one pass over prompt + continuation gives every generated token's probability
      const seq = [...prompt, ...out];
      const T = seq.length - 1;
      const logits = e.scope(() => e.noGrad(() => model.forward(e.tensor(seq.slice(0, T), [1, T], "i32"))));
      const rows = await logits.data();
      logits.dispose();
      for (let k = 0; k < out.length; k++) probs.push(softmaxAt(rows, (prompt.length - 1 + k) * V, V, out[k]!));
    }
    const text = out.map((t) => decode([t]));
    const body = (stopped[i] ? text.slice(0, -1) : text).join("");
    const { expected } = prompts[i]!;
    let matching = 0;
    while (matching < body.length && matching < expected.length && body[matching] === expected[matching]) matching++;
    samples.push({
      prompt: prompts[i]!.prompt, expected, tokens: text, probs, matching,
      correct: stopped[i]! && body === expected, finished: stopped[i]!,
    });
  }
  return samples;
}

// ---- views ------------------------------------------------------------------------

export interface InfoView {
  init: InitChoice;
  params: number;
  /** forward FLOPs per token at context seqLen (GPT.flopsPerToken) */
  flopsPerToken: number;
  tokensPerStep: number;
  /** cross-entropy of a unigram model on the validation stream: the bar to beat */
  unigramValLoss: number;
  steps: number;
}

export interface WeightsView {
  step: number;
  config: GPTConfig;
  tensors: TensorMap;
}

export interface SummaryView {
  steps: number;
  loss: number;
  val_loss: number;
  unigram_val_loss: number;
  heldout_accuracy: number | null;
  heldout_correct: number;
  heldout_total: number;
  tokens_seen: number;
  params: number;
}

/** Fetch and decode the shipped checkpoint (a URL the page serves). */
export async function fetchCheckpoint(url: string): Promise<TensorMap> {
  if (!url) throw new Error("no shipped checkpoint to start from: this page has no URL for it");
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch the shipped checkpoint (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!res.ok) throw new Error(`could not fetch the shipped checkpoint: HTTP ${res.status} ${res.statusText}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length === 0) {
    throw new Error("the shipped checkpoint is not part of this build (data/checkpoints/pretrain-default/model.safetensors was missing when the site was built); start from scratch");
  }
  return decodeSafetensors(bytes).tensors;
}

async function* runPretrain(
  c: PretrainJobConfig, backend: Backend, context?: JobContext,
): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  // a saved page run continues from its state (as the CLI's --resume does); otherwise the chosen start
  let resume: ResumeState | undefined = context?.resume;
  if (!resume && c.init === "shipped checkpoint") resume = { model: await fetchCheckpoint(c.checkpointUrl), step: 0 };
  const run = new PretrainRun(engine, pretrainConfig(c), c.seed, resume);
  const tokensPerStep = c.batchSize * c.seqLen;
  const model = run.model;
  context?.saveable?.(async () => ({ step: run.step, ...(await run.checkpoint()) }));
  try {
    const snapshot = async (step: number) => {
      if (!context || c.sampleEvery <= 0) return;
      const samples = await samplePrompts(model, c.sampleTokens);
      context.emit("samples", { step, samples } satisfies SamplesView);
      context.emit("weights", { step, config: model.config, tensors: await modelTensors(model) } satisfies WeightsView);
    };
    if (context) {
      context.emit("info", {
        init: c.init, params: model.parameterCount(), flopsPerToken: model.flopsPerToken(c.seqLen),
        tokensPerStep, unigramValLoss: run.unigramValLoss, steps: c.steps,
      } satisfies InfoView);
      await snapshot(run.step);
    }
    let lastVal = NaN;
    while (!run.done) {
      const r = await run.next();
      const step = run.step;
      const rec: MetricRecord = {
        step, loss: r.loss, grad_norm: r.grad_norm, lr: r.lr, ms_per_step: (1000 * tokensPerStep) / r.tokens_per_s,
      };
      if (r.val_loss !== undefined) { rec["val_loss"] = r.val_loss; lastVal = r.val_loss; }
      if (context) {
        if (c.sampleEvery > 0 && (step % c.sampleEvery === 0 || run.done)) await snapshot(step);
        if (run.done) {
          const held = c.heldoutQuestions > 0 ? await run.heldoutAccuracy() : null;
          context.emit("summary", {
            steps: step, loss: r.loss, val_loss: lastVal, unigram_val_loss: run.unigramValLoss,
            heldout_accuracy: held ? held.accuracy : null, heldout_correct: held?.correct ?? 0, heldout_total: held?.total ?? 0,
            tokens_seen: step * tokensPerStep, params: model.parameterCount(),
          } satisfies SummaryView);
        }
      }
      yield rec;
    }
  } finally {
    run.dispose();
  }
}

const MESSAGES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/dModel (\d+) must be divisible by nHeads (\d+)/, (m) => `d_model (${m[1]}) must be divisible by heads (${m[2]})`],
  [/nHeads (\d+) must be a multiple of nKvHeads (\d+)/, (m) => `heads (${m[1]}) must be a multiple of KV heads (${m[2]})`],
  [/head size dModel\/nHeads = (\d+) must be even/, (m) => `head size d_model/heads = ${m[1]} must be even (RoPE rotates pairs of numbers)`],
];

/** Cross-field checks, in the page's words. */
export function validatePretrain(c: PretrainJobConfig): string | null {
  try {
    validateGPTConfig(gptConfig(c));
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    for (const [re, say] of MESSAGES) {
      const m = re.exec(text);
      if (m) return say(m);
    }
    return text.replace(/^GPT config: /, "");
  }
  if (c.nKvHeads > c.nHeads) return `KV heads (${c.nKvHeads}) cannot exceed heads (${c.nHeads})`;
  if (c.batchSize * c.seqLen > 16384) return `batch × context is ${c.batchSize * c.seqLen} tokens per step; keep it ≤ 16384 (the validation text is about 24K tokens)`;
  if (c.init === "shipped checkpoint") {
    const s = SHIPPED_MODEL;
    const same = c.dModel === s.dModel && c.nLayers === s.nLayers && c.nHeads === s.nHeads && c.nKvHeads === s.nKvHeads
      && c.dFF === s.dFF && c.tiedHead === s.tiedHead;
    if (!same) {
      return `the shipped checkpoint is d_model ${s.dModel}, ${s.nLayers} layers, ${s.nHeads} heads, ${s.nKvHeads} KV heads, ` +
        `d_ff ${s.dFF}, ${s.tiedHead ? "tied" : "untied"} head: set those, or start from scratch`;
    }
  }
  return null;
}

export const pretrainJob: JobDef<PretrainJobConfig> = {
  name: "pretrain",
  title: "Pretrain a tiny GPT on the textbook",
  description: "Next-token prediction on the arithmetic textbook: a GPT with RoPE, RMSNorm, grouped-query attention and SwiGLU, trained with AdamW, warmup and cosine decay.",
  params: [
    { key: "init", label: "start from", kind: "choice", choices: INIT_CHOICES, help: "random weights, or the shipped base model (continue training it)" },
    { key: "lr", label: "learning rate", kind: "float", min: 1e-6, max: 1, help: "AdamW peak learning rate (after warmup, decays by cosine to 10%)" },
    { key: "batchSize", label: "batch", kind: "int", min: 1, max: 256, help: "windows per step" },
    { key: "seqLen", label: "context", kind: "int", min: 4, max: 512, help: "tokens per training window (seqLen)" },
    { key: "dModel", label: "d_model", kind: "int", min: 4, max: 512, help: "width of the residual stream" },
    { key: "nLayers", label: "layers", kind: "int", min: 1, max: 12 },
    { key: "nHeads", label: "heads", kind: "int", min: 1, max: 32, help: "query heads per layer" },
    { key: "nKvHeads", label: "KV heads", kind: "int", min: 1, max: 32, help: "= heads: MHA · 1: MQA · in between: GQA" },
    { key: "dFF", label: "d_ff", kind: "int", min: 4, max: 2048, help: "SwiGLU hidden width" },
    { key: "tiedHead", label: "tied head", kind: "bool", help: "the output head reuses the embedding matrix" },
    { key: "warmupSteps", label: "warmup", kind: "int", min: 0, max: 100_000, help: "steps of linear warmup" },
    { key: "evalEvery", label: "val every", kind: "int", min: 1, max: 100_000, help: "steps between validation passes" },
    { key: "evalBatches", label: "val batches", kind: "int", min: 1, max: 64, help: "batches per validation pass" },
    { key: "sampleEvery", label: "sample every", kind: "int", min: 0, max: 100_000, help: "steps between samples and attention snapshots (0: none)" },
    { key: "sampleTokens", label: "sample length", kind: "int", min: 1, max: 512, help: "most new tokens per sample" },
    { key: "heldoutQuestions", label: "held-out questions", kind: "int", min: 0, max: 1000, help: "direct questions scored at the end (0: skip)" },
  ],
  presets: PRETRAIN_JOB_PRESETS,
  charts: [
    { title: "loss (cross-entropy, nats per token)", keys: ["loss", "val_loss"], smoothing: 0.6 },
    { title: "gradient norm (clipped at 1)", keys: ["grad_norm"], logY: true, smoothing: 0.6 },
    { title: "learning rate (warmup, then cosine)", keys: ["lr"] },
  ],
  validate: validatePretrain,
  resumable: true,
  run: runPretrain,
};
