// Causal self-attention with rotary positions and a choice of key/value heads:
// nKvHeads = nHeads is multi-head attention (MHA), 1 < nKvHeads < nHeads grouped-
// query (GQA), nKvHeads = 1 multi-query (MQA). Fewer KV heads → a smaller KV cache.
import type { RawTensor } from "../tensor/backend.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import type { Rng } from "../tensor/random.js";
import { Linear } from "./layers.js";
import { Module } from "./module.js";

export interface AttentionConfig {
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  ropeTheta: number;
}

/** Per-layer key/value cache for decoding: [B, Tmax, Hkv, D] buffers filled over time. */
export interface LayerKVCache {
  k: RawTensor;
  v: RawTensor;
}

export class CausalSelfAttention extends Module {
  readonly headDim: number;
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  constructor(engine: Engine, readonly cfg: AttentionConfig, rng: Rng, residualStd?: number) {
    super(engine);
    if (cfg.dModel % cfg.nHeads !== 0) throw new Error(`attention: dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}`);
    if (cfg.nHeads % cfg.nKvHeads !== 0) throw new Error(`attention: nHeads ${cfg.nHeads} is not a multiple of nKvHeads ${cfg.nKvHeads}`);
    this.headDim = cfg.dModel / cfg.nHeads;
    if (this.headDim % 2 !== 0) throw new Error(`attention: head size ${this.headDim} must be even for RoPE`);
    const kvDim = cfg.nKvHeads * this.headDim;
    this.wq = this.child("wq", new Linear(engine, cfg.dModel, cfg.dModel, rng));
    this.wk = this.child("wk", new Linear(engine, cfg.dModel, kvDim, rng));
    this.wv = this.child("wv", new Linear(engine, cfg.dModel, kvDim, rng));
    this.wo = this.child("wo", new Linear(engine, cfg.dModel, cfg.dModel, rng, residualStd ? { std: residualStd } : {}));
  }

  /**
   * x: [B, T, dModel]. Without a cache: full causal attention over T (training).
   * With a cache: the T new positions start at `pos0`; their keys and values are
   * written into the cache and attention looks at positions 0 .. pos0 + T − 1.
   * keyStart (i32 [B]): left padding, see AttentionOptions.keyStart.
   */
  forward(x: Tensor, cache?: LayerKVCache, pos0 = 0, keyStart?: Tensor): Tensor {
    const e = this.engine;
    const [B, T] = x.shape as [number, number, number];
    const { nHeads, nKvHeads, ropeTheta } = this.cfg;
    const D = this.headDim;
    const flat = e.reshape(x, [B * T, this.cfg.dModel]);
    const q = e.rope(e.reshape(this.wq.forward(flat), [B, T, nHeads, D]), pos0, ropeTheta);
    const k = e.rope(e.reshape(this.wk.forward(flat), [B, T, nKvHeads, D]), pos0, ropeTheta);
    const v = e.reshape(this.wv.forward(flat), [B, T, nKvHeads, D]);
    const scale = 1 / Math.sqrt(D);
    const padding = keyStart ? { keyStart: keyStart.raw } : {};
    let out: Tensor;
    if (cache) {
      e.backend.writeSlice(cache.k, k.raw, 1, pos0);
      e.backend.writeSlice(cache.v, v.raw, 1, pos0);
      const kAll = e.wrap(e.backend.reshape(cache.k, cache.k.shape));
      const vAll = e.wrap(e.backend.reshape(cache.v, cache.v.shape));
      out = e.attention(q, kAll, vAll, { scale, causal: true, kvLen: pos0 + T, ...padding });
    } else {
      out = e.attention(q, k, v, { scale, causal: true, ...padding });
    }
    return e.reshape(this.wo.forward(e.reshape(out, [B * T, this.cfg.dModel])), [B, T, this.cfg.dModel]);
  }

  /** attention probabilities [B, H, T, T] for a heatmap (computed separately, no grad) */
  probabilities(x: Tensor): Tensor {
    const e = this.engine;
    return e.noGrad(() => {
      const [B, T] = x.shape as [number, number, number];
      const { nHeads, nKvHeads, ropeTheta } = this.cfg;
      const D = this.headDim;
      const flat = e.reshape(x, [B * T, this.cfg.dModel]);
      const q = e.permute(e.rope(e.reshape(this.wq.forward(flat), [B, T, nHeads, D]), 0, ropeTheta), [0, 2, 1, 3]);
      let k = e.permute(e.rope(e.reshape(this.wk.forward(flat), [B, T, nKvHeads, D]), 0, ropeTheta), [0, 2, 1, 3]);
      if (nKvHeads !== nHeads) {
        // repeat each kv head for its group of query heads
        const reps: Tensor[] = [];
        for (let h = 0; h < nHeads; h++) {
          const kv = Math.floor(h / (nHeads / nKvHeads));
          reps.push(e.slice(k, 1, kv, kv + 1));
        }
        k = e.concat(reps, 1);
      }
      return causalSoftmax(e, e.scale(e.matmul(q, k, { transB: true }), 1 / Math.sqrt(D))); // [B, H, T, T]
    });
  }

  /** an empty cache for batch B and up to maxLen positions: [B, maxLen, Hkv, D] for keys and for values */
  newCache(B: number, maxLen: number): LayerKVCache {
    const b = this.engine.backend;
    const shape = [B, maxLen, this.cfg.nKvHeads, this.headDim];
    return { k: b.fill(shape, 0, "f32"), v: b.fill(shape, 0, "f32") };
  }
}

/** softmax over the last axis of scores [..., T, T], with the positions j > i masked out */
export function causalSoftmax(e: Engine, scores: Tensor): Tensor {
  const T = scores.shape[scores.shape.length - 1]!;
  // causal mask: add -1e9 above the diagonal
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
  return e.softmax(e.add(scores, e.tensor(mask, [T, T])));
}

/** forward FLOPs per token of one layer's attention at context T (projections, scores, weighted sum) */
export function attentionFlopsPerToken(cfg: AttentionConfig, T: number): number {
  const kv = cfg.nKvHeads * (cfg.dModel / cfg.nHeads);
  return 2 * cfg.dModel * (2 * cfg.dModel + 2 * kv) + 4 * T * cfg.dModel;
}

/** floats one layer caches per token: a key and a value per KV head */
export function kvCacheFloatsPerToken(cfg: AttentionConfig): number {
  return 2 * cfg.nKvHeads * (cfg.dModel / cfg.nHeads);
}
