// A GPT-style decoder: token embedding → N pre-norm blocks (RMSNorm → attention
// with RoPE → residual; RMSNorm → SwiGLU → residual) → RMSNorm → output head.
import type { Engine, Tensor } from "../tensor/engine.js";
import { Rng } from "../tensor/random.js";
import { CausalSelfAttention, type LayerKVCache } from "./attention.js";
import { Embedding, Linear, RMSNorm, SwiGLU } from "./layers.js";
import { Module } from "./module.js";

export interface GPTConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** key/value heads: nHeads = MHA, 1 = MQA, in between = GQA */
  nKvHeads: number;
  /** SwiGLU hidden width */
  dFF: number;
  maxSeqLen: number;
  ropeTheta: number;
  /** share the embedding matrix with the output head */
  tiedHead: boolean;
  normEps: number;
}

export function validateGPTConfig(c: GPTConfig): void {
  const ints: (keyof GPTConfig)[] = ["vocabSize", "dModel", "nLayers", "nHeads", "nKvHeads", "dFF", "maxSeqLen"];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`GPT config: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (c.dModel % c.nHeads !== 0) throw new Error(`GPT config: dModel ${c.dModel} must be divisible by nHeads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) throw new Error(`GPT config: nHeads ${c.nHeads} must be a multiple of nKvHeads ${c.nKvHeads}`);
  if ((c.dModel / c.nHeads) % 2 !== 0) throw new Error(`GPT config: head size dModel/nHeads = ${c.dModel / c.nHeads} must be even (RoPE rotates pairs)`);
}

export class Block extends Module {
  readonly attnNorm: RMSNorm;
  readonly attn: CausalSelfAttention;
  readonly mlpNorm: RMSNorm;
  readonly mlp: SwiGLU;
  constructor(engine: Engine, c: GPTConfig, rng: Rng) {
    super(engine);
    const residualStd = 1 / Math.sqrt(c.dModel) / Math.sqrt(2 * c.nLayers);
    this.attnNorm = this.child("attn_norm", new RMSNorm(engine, c.dModel, c.normEps));
    this.attn = this.child("attn", new CausalSelfAttention(engine, c, rng, residualStd));
    this.mlpNorm = this.child("mlp_norm", new RMSNorm(engine, c.dModel, c.normEps));
    this.mlp = this.child("mlp", new SwiGLU(engine, c.dModel, c.dFF, rng, residualStd));
  }
  forward(x: Tensor, cache?: LayerKVCache, pos0 = 0, keyStart?: Tensor): Tensor {
    const e = this.engine;
    const [B, T, C] = x.shape as [number, number, number];
    const h = e.add(x, this.attn.forward(this.attnNorm.forward(x), cache, pos0, keyStart));
    const m = this.mlp.forward(e.reshape(this.mlpNorm.forward(h), [B * T, C]));
    return e.add(h, e.reshape(m, [B, T, C]));
  }
}

export class GPT extends Module {
  readonly embed: Embedding;
  readonly blocks: Block[];
  readonly norm: RMSNorm;
  readonly head: Linear | null;

  constructor(engine: Engine, readonly config: GPTConfig, seed: number) {
    super(engine);
    validateGPTConfig(config);
    const rng = new Rng(seed);
    this.embed = this.child("tok_emb", new Embedding(engine, config.vocabSize, config.dModel, rng));
    this.blocks = [];
    for (let i = 0; i < config.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new Block(engine, config, rng)));
    this.norm = this.child("norm", new RMSNorm(engine, config.dModel, config.normEps));
    this.head = config.tiedHead ? null : this.child("head", new Linear(engine, config.dModel, config.vocabSize, rng, { std: 0.02 }));
  }

  /**
   * ids i32 [B, T] → logits [B·T, vocab]. With caches, the T new positions start at
   * pos0 (KV-cached decoding). keyStart (i32 [B]) marks left padding: row b's real
   * tokens start at keyStart[b] and never attend to the padding before it.
   */
  forward(ids: Tensor, caches?: LayerKVCache[], pos0 = 0, keyStart?: Tensor): Tensor {
    const e = this.engine;
    const [B, T] = ids.shape as [number, number];
    if (pos0 + T > this.config.maxSeqLen) throw new Error(`GPT: positions up to ${pos0 + T} exceed maxSeqLen ${this.config.maxSeqLen}`);
    let x = this.embed.forward(ids); // [B, T, C]
    this.blocks.forEach((b, i) => (x = b.forward(x, caches?.[i], pos0, keyStart)));
    const h = e.reshape(this.norm.forward(x), [B * T, this.config.dModel]);
    return this.head ? this.head.forward(h) : e.matmul(h, this.embed.weight, { transB: true });
  }

  /** attention probabilities of every layer for ids [B, T]: one [B, H, T, T] tensor per layer (no grad) */
  attentionMaps(ids: Tensor): Tensor[] {
    const e = this.engine;
    return e.noGrad(() => {
      let x = this.embed.forward(ids);
      const maps: Tensor[] = [];
      for (const b of this.blocks) {
        maps.push(b.attn.probabilities(b.attnNorm.forward(x)));
        x = b.forward(x);
      }
      return maps;
    });
  }

  /** mean next-token cross-entropy; targets i32 [B, T], mask f32 [B, T] (1 = count) */
  loss(ids: Tensor, targets: Tensor, mask: Tensor | null = null, count?: number): Tensor {
    const e = this.engine;
    const [B, T] = ids.shape as [number, number];
    const logits = this.forward(ids);
    return e.meanCrossEntropy(
      logits,
      e.reshape(targets, [B * T]),
      mask ? e.reshape(mask, [B * T]) : null,
      count ?? B * T,
    );
  }

  /** a KV cache for batch B: one [B, maxSeqLen, Hkv, D] pair per layer */
  newCache(B: number): LayerKVCache[] {
    const b = this.engine.backend;
    const c = this.config;
    const D = c.dModel / c.nHeads;
    return this.blocks.map(() => ({
      k: b.fill([B, c.maxSeqLen, c.nKvHeads, D], 0, "f32"),
      v: b.fill([B, c.maxSeqLen, c.nKvHeads, D], 0, "f32"),
    }));
  }

  freeCache(cache: LayerKVCache[]): void {
    const b = this.engine.backend;
    for (const l of cache) {
      b.free(l.k);
      b.free(l.v);
    }
  }

  /** FLOPs of a forward pass per token at context length T (2 per multiply-add; attention included) */
  flopsPerToken(T: number): number {
    const c = this.config;
    const D = c.dModel / c.nHeads;
    const kv = c.nKvHeads * D;
    const perLayer = 2 * c.dModel * (2 * c.dModel + 2 * kv) + 2 * 3 * c.dModel * c.dFF + 4 * T * c.dModel;
    return c.nLayers * perLayer + 2 * c.dModel * c.vocabSize;
  }
}
