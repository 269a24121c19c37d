// Batched generation with a KV cache.
//
// The prompt is run once through the model (prefill), which fills each layer's
// key/value cache; after that every new token costs one forward pass over a single
// position that attends to the cached keys and values, instead of re-running the
// whole sequence.
//
// Prompts of different lengths share a batch by left padding: each is padded at
// its start to the longest, so every row's next token sits at the same position and
// one forward pass serves them all, and attention is told where each row's real
// tokens begin (keyStart), so no real token ever sees the padding. Since RoPE
// scores depend only on the distance between positions, a padded prompt is decoded
// exactly as it would be alone. GRPO samples groups for several prompts at once, so
// this is what keeps its batches full.

import type { GPT } from "../nn/gpt.js";
import type { Tensor } from "../tensor/engine.js";
import { Rng } from "../tensor/random.js";
import { sampleToken, validateSampling, type SamplingOptions } from "./sampling.js";

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** token ids that end a sequence (EOS, </answer>); the stop token is kept */
  stopTokens: readonly number[];
  seed: number;
  /** called after every decoding step with the tokens so far (for live samples) */
  onToken?: (step: number, tokens: readonly number[][]) => void;
  /**
   * also return, for every new token, its log-probability and the entropy of the
   * distribution it was drawn from, both at the sampling temperature (1 when greedy)
   * and before top-k/top-p cut the tail: what GRPO needs as log π_old.
   */
  logprobs?: boolean;
}

export interface Generation {
  /** new tokens per sequence (prompt excluded) */
  tokens: number[][];
  /** true where a stop token ended the sequence (false: ran out of maxNewTokens) */
  stopped: boolean[];
  /** with `logprobs`: log π(token) per new token, at the sampling temperature */
  logprobs?: number[][];
  /** with `logprobs`: the entropy (nats) of each new token's distribution */
  entropies?: number[][];
}

export async function generate(model: GPT, prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<Generation> {
  validateSampling(o);
  const B = prompts.length;
  if (B === 0) return { tokens: [], stopped: [] };
  if (prompts.some((p) => p.length === 0)) throw new Error("generate: prompts must not be empty (start them with BOS)");
  const Tp = Math.max(...prompts.map((p) => p.length));
  const maxLen = model.config.maxSeqLen;
  const budget = Math.min(o.maxNewTokens, maxLen - Tp);
  if (budget <= 0) throw new Error(`generate: the longest prompt (${Tp} tokens) leaves no room in maxSeqLen ${maxLen}`);

  const e = model.engine;
  const V = model.config.vocabSize;
  const rng = new Rng(o.seed);
  const stop = new Set(o.stopTokens);
  const out: number[][] = prompts.map(() => []);
  const logprobs: number[][] = prompts.map(() => []);
  const entropies: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const cache = model.newCache(B);
  // Left padding: the pad id is never seen by a real token, so any id will do.
  const padLengths = prompts.map((p) => Tp - p.length);
  const keyStart = padLengths.some((n) => n > 0) ? e.tensor(padLengths, [B], "i32") : undefined;
  try {
    let input: number[] = prompts.flatMap((p, b) => [...new Array<number>(padLengths[b]!).fill(0), ...p]);
    let T = Tp;
    let pos = 0;
    for (let step = 0; step < budget; step++) {
      // logits of the last position of every sequence: [B, V]
      const last: Tensor = e.scope(() =>
        e.noGrad(() => {
          const ids = e.tensor(input, [B, T], "i32");
          const logits = model.forward(ids, cache, pos, keyStart); // [B·T, V]
          return T === 1 ? logits : e.reshape(e.slice(e.reshape(logits, [B, T, V]), 1, T - 1, T), [B, V]);
        }),
      );
      const rows = await last.data();
      last.dispose();
      pos += T;
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        const tok = done[b] ? out[b]![out[b]!.length - 1]! : sampleToken(rows, b * V, V, o, rng);
        if (!done[b]) {
          out[b]!.push(tok);
          if (o.logprobs) {
            const { logp, entropy } = tokenLogProb(rows, b * V, V, tok, o.temperature || 1);
            logprobs[b]!.push(logp);
            entropies[b]!.push(entropy);
          }
          if (stop.has(tok)) done[b] = true;
        }
        next.push(tok);
      }
      o.onToken?.(step, out);
      if (done.every(Boolean)) break;
      input = next;
      T = 1;
    }
  } finally {
    model.freeCache(cache);
    keyStart?.dispose();
  }
  return o.logprobs ? { tokens: out, stopped: done, logprobs, entropies } : { tokens: out, stopped: done };
}

/**
 * log softmax(z / T)[token] and the entropy of softmax(z / T) for one row of
 * logits z = row[offset .. offset + n), in float64 (a row is one vocabulary).
 */
export function tokenLogProb(row: ArrayLike<number>, offset: number, n: number, token: number, temperature: number): { logp: number; entropy: number } {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, row[offset + i]! / temperature);
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.exp(row[offset + i]! / temperature - max);
  const logZ = max + Math.log(total);
  let entropy = 0;
  for (let i = 0; i < n; i++) {
    const lp = row[offset + i]! / temperature - logZ;
    entropy -= Math.exp(lp) * lp;
  }
  return { logp: row[offset + token]! / temperature - logZ, entropy };
}

/**
 * The same greedy/sampled decoding without a cache: every step re-runs the whole
 * sequence. Slow, and only here so tests can check the cached path against it.
 * Prompts must share one length.
 */
export async function generateWithoutCache(model: GPT, prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<Generation> {
  validateSampling(o);
  if (prompts.some((p) => p.length !== prompts[0]!.length)) throw new Error("generateWithoutCache: every prompt must have the same length");
  const e = model.engine;
  const V = model.config.vocabSize;
  const B = prompts.length;
  const rng = new Rng(o.seed);
  const stop = new Set(o.stopTokens);
  const seqs = prompts.map((p) => [...p]);
  const out: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const budget = Math.min(o.maxNewTokens, model.config.maxSeqLen - prompts[0]!.length);
  for (let step = 0; step < budget; step++) {
    const T = seqs[0]!.length;
    const last = e.scope(() =>
      e.noGrad(() => {
        const logits = model.forward(e.tensor(seqs.flat(), [B, T], "i32"));
        return e.reshape(e.slice(e.reshape(logits, [B, T, V]), 1, T - 1, T), [B, V]);
      }),
    );
    const rows = await last.data();
    last.dispose();
    for (let b = 0; b < B; b++) {
      const tok = done[b] ? seqs[b]![T - 1]! : sampleToken(rows, b * V, V, o, rng);
      if (!done[b]) {
        out[b]!.push(tok);
        if (stop.has(tok)) done[b] = true;
      }
      seqs[b]!.push(tok);
    }
    if (done.every(Boolean)) break;
  }
  return { tokens: out, stopped: done };
}
