// What a model's decoding cache costs and how fast it decodes: the numbers the MLA
// lesson, `r1-lab train pretrain`'s summary.json and bench/mla-decode.ts report.
//
// The cache size is measured from the cache tensors GPT.newCache allocates (not from
// a formula): their elements and bytes, divided by the positions they hold.
import type { GPT } from "../nn/gpt.js";
import type { DType, RawTensor } from "../tensor/backend.js";
import { Rng } from "../tensor/random.js";
import { generate } from "./generate.js";

const BYTES: Record<DType, number> = { f32: 4, i32: 4 };

export interface CacheSize {
  /** values the cache holds per token, all layers together */
  elementsPerToken: number;
  /** bytes of those values per token, all layers together */
  bytesPerToken: number;
  /** the same per layer (every layer caches the same) */
  elementsPerTokenPerLayer: number;
}

/** allocate a cache for one sequence, add up its tensors, free it */
export function measureCacheSize(model: GPT): CacheSize {
  const cache = model.newCache(1);
  try {
    const tensors: RawTensor[] = cache.flatMap((l) => ("latentRope" in l ? [l.latentRope] : [l.k, l.v]));
    const elements = tensors.reduce((s, t) => s + t.size, 0);
    const bytes = tensors.reduce((s, t) => s + t.size * BYTES[t.dtype], 0);
    const positions = model.config.maxSeqLen;
    return {
      elementsPerToken: elements / positions,
      bytesPerToken: bytes / positions,
      elementsPerTokenPerLayer: elements / positions / model.config.nLayers,
    };
  } finally {
    model.freeCache(cache);
  }
}

export interface DecodeSpeedOptions {
  /** sequences decoded together */
  batch: number;
  /** prompt length (random tokens); decoding then runs to maxSeqLen */
  promptLen: number;
  /** how many times the whole decode is timed; the fastest counts */
  repeats: number;
  seed: number;
}

export interface DecodeSpeed {
  /** new tokens per second, all sequences together, over the fastest repeat */
  tokensPerS: number;
  /** new tokens decoded per repeat (batch × steps) */
  tokens: number;
  /** wall time of the fastest repeat, ms (the prefill included) */
  ms: number;
  /**
   * bytes the engine held after the prefill beyond what it held before decoding began,
   * per position of the cache (batch × maxSeqLen): the cache, measured while decoding
   */
  bytesPerTokenWhileDecoding: number;
}

/**
 * Greedy KV-cached decoding of random prompts until the context is full, timed after
 * one short warm-up. Stop tokens are off, so every repeat decodes the same count.
 */
export async function measureDecodeSpeed(model: GPT, o: DecodeSpeedOptions): Promise<DecodeSpeed> {
  const { vocabSize, maxSeqLen } = model.config;
  if (o.promptLen < 1 || o.promptLen >= maxSeqLen) throw new Error(`measureDecodeSpeed: promptLen must be in 1..${maxSeqLen - 1}`);
  const rng = new Rng(o.seed);
  const prompts = Array.from({ length: o.batch }, () => Array.from({ length: o.promptLen }, () => rng.int(vocabSize)));
  const maxNewTokens = maxSeqLen - o.promptLen;
  const opts = { temperature: 0, topK: 0, topP: 1, stopTokens: [], seed: o.seed };
  await generate(model, prompts, { ...opts, maxNewTokens: 2 });
  let best = Infinity;
  let tokens = 0;
  const backend = model.engine.backend;
  let held = NaN;
  for (let r = 0; r < o.repeats; r++) {
    const before = backend.stats().liveBytes;
    const onToken = (step: number) => {
      if (step === 0) held = backend.stats().liveBytes - before;
    };
    const t0 = performance.now();
    const out = await generate(model, prompts, { ...opts, maxNewTokens, onToken });
    best = Math.min(best, performance.now() - t0);
    tokens = out.tokens.reduce((n, t) => n + t.length, 0);
  }
  return { tokensPerS: (tokens / best) * 1000, tokens, ms: best, bytesPerTokenWhileDecoding: held / (o.batch * maxSeqLen) };
}
