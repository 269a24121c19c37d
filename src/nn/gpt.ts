// A GPT-style decoder: token embedding → N pre-norm blocks (RMSNorm → attention
// with RoPE → residual; RMSNorm → SwiGLU → residual) → RMSNorm → output head.
// The attention is MHA, GQA or MQA (nKvHeads), or Multi-head Latent Attention
// when the config has `attention: { kind: "mla", ... }` (src/nn/mla.ts).
import type { RawTensor } from "../tensor/backend.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { Rng } from "../tensor/random.js";
import { CausalSelfAttention, attentionFlopsPerToken, kvCacheFloatsPerToken, type LayerKVCache } from "./attention.js";
import { Embedding, Linear, RMSNorm, SwiGLU } from "./layers.js";
import {
  MultiHeadLatentAttention, mlaCacheFloatsPerToken, mlaFlopsPerToken, validateMLAConfig, type MLACache, type MLAConfig,
} from "./mla.js";
import { Module } from "./module.js";

/** Multi-head Latent Attention instead of MHA/GQA/MQA (see src/nn/mla.ts) */
export interface MLAOptions {
  kind: "mla";
  /** KV latent width: the cache holds dC + dR floats per token per layer */
  dC: number;
  /** query latent width; 0 = full-rank queries */
  dCq: number;
  /** rotary part of each query and of the shared rotary key (even) */
  dR: number;
  /** per-head size of the content queries, keys and values (default dModel / nHeads) */
  dH?: number;
}

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
  /** absent: MHA/GQA/MQA as set by nKvHeads; { kind: "mla", ... }: Multi-head Latent Attention */
  attention?: MLAOptions;
}

/** one layer's decoding cache: keys and values (MHA/GQA/MQA) or latent and rotary key (MLA) */
export type LayerCache = LayerKVCache | MLACache;

/** the MLA layer settings a GPT config describes (its attention field must be set) */
export function mlaConfigOf(c: GPTConfig, a: MLAOptions): MLAConfig {
  return {
    dModel: c.dModel, nHeads: c.nHeads, dC: a.dC, dCq: a.dCq, dR: a.dR,
    dH: a.dH ?? c.dModel / c.nHeads, ropeTheta: c.ropeTheta, normEps: c.normEps,
  };
}

export function validateGPTConfig(c: GPTConfig): void {
  const ints: (keyof GPTConfig)[] = ["vocabSize", "dModel", "nLayers", "nHeads", "nKvHeads", "dFF", "maxSeqLen"];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`GPT config: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (c.attention !== undefined) {
    validateMLAOptions(c, c.attention);
    return;
  }
  if (c.dModel % c.nHeads !== 0) throw new Error(`GPT config: dModel ${c.dModel} must be divisible by nHeads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) throw new Error(`GPT config: nHeads ${c.nHeads} must be a multiple of nKvHeads ${c.nKvHeads}`);
  if ((c.dModel / c.nHeads) % 2 !== 0) throw new Error(`GPT config: head size dModel/nHeads = ${c.dModel / c.nHeads} must be even (RoPE rotates pairs)`);
}

function validateMLAOptions(c: GPTConfig, a: unknown): asserts a is MLAOptions {
  const kind = typeof a === "object" && a !== null ? (a as { kind?: unknown }).kind : undefined;
  if (kind !== "mla") {
    throw new Error(`GPT config: attention must be { kind: "mla", dC, dCq, dR } (leave it out for MHA/GQA/MQA), got ${JSON.stringify(a)}`);
  }
  const o = a as MLAOptions;
  if (o.dH === undefined && c.dModel % c.nHeads !== 0) {
    throw new Error(`GPT config: dModel ${c.dModel} is not divisible by nHeads ${c.nHeads}; set attention.dH, the MLA head size`);
  }
  if (c.nKvHeads !== c.nHeads) {
    throw new Error(
      `GPT config: with MLA, nKvHeads must equal nHeads (${c.nHeads}), got ${c.nKvHeads}: ` +
        "MLA shrinks the cache with one shared latent per token, not by sharing key/value heads",
    );
  }
  validateMLAConfig(mlaConfigOf(c, o));
}

export class Block extends Module {
  readonly attnNorm: RMSNorm;
  readonly attn: CausalSelfAttention | MultiHeadLatentAttention;
  readonly mlpNorm: RMSNorm;
  readonly mlp: SwiGLU;
  constructor(engine: Engine, c: GPTConfig, rng: Rng) {
    super(engine);
    const residualStd = 1 / Math.sqrt(c.dModel) / Math.sqrt(2 * c.nLayers);
    this.attnNorm = this.child("attn_norm", new RMSNorm(engine, c.dModel, c.normEps));
    this.attn = this.child("attn", c.attention
      ? new MultiHeadLatentAttention(engine, mlaConfigOf(c, c.attention), rng, residualStd)
      : new CausalSelfAttention(engine, c, rng, residualStd));
    this.mlpNorm = this.child("mlp_norm", new RMSNorm(engine, c.dModel, c.normEps));
    this.mlp = this.child("mlp", new SwiGLU(engine, c.dModel, c.dFF, rng, residualStd));
  }
  forward(x: Tensor, cache?: LayerCache, pos0 = 0, keyStart?: Tensor): Tensor {
    const e = this.engine;
    const [B, T, C] = x.shape as [number, number, number];
    const h = e.add(x, this.attend(this.attnNorm.forward(x), cache, pos0, keyStart));
    const m = this.mlp.forward(e.reshape(this.mlpNorm.forward(h), [B * T, C]));
    return e.add(h, e.reshape(m, [B, T, C]));
  }

  /** the attention layer with the cache of its own kind */
  private attend(x: Tensor, cache: LayerCache | undefined, pos0: number, keyStart?: Tensor): Tensor {
    if (this.attn instanceof MultiHeadLatentAttention) {
      if (cache && !isMLACache(cache)) throw new Error("GPT: an MLA layer needs an MLA cache (latent and rotary key); make it with GPT.newCache");
      return this.attn.forward(x, cache, pos0, keyStart);
    }
    if (cache && isMLACache(cache)) throw new Error("GPT: a key/value cache is needed here, not an MLA cache; make it with GPT.newCache");
    return this.attn.forward(x, cache, pos0, keyStart);
  }
}

function isMLACache(c: LayerCache): c is MLACache {
  return "latent" in c;
}

/** the backend tensors a layer cache holds */
function cacheTensors(c: LayerCache): RawTensor[] {
  return isMLACache(c) ? [c.latent, c.kRope] : [c.k, c.v];
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
  forward(ids: Tensor, caches?: LayerCache[], pos0 = 0, keyStart?: Tensor): Tensor {
    const e = this.engine;
    const [B, T] = ids.shape as [number, number];
    if (pos0 + T > this.config.maxSeqLen) throw new Error(`GPT: positions up to ${pos0 + T} exceed maxSeqLen ${this.config.maxSeqLen}`);
    let x = this.embed.forward(ids); // [B, T, C]
    this.blocks.forEach((b, i) => (x = b.forward(x, caches?.[i], pos0, keyStart)));
    const h = e.reshape(this.norm.forward(x), [B * T, this.config.dModel]);
    return this.head ? this.head.forward(h) : e.matmul(h, this.embed.weight, { transB: true });
  }

  /**
   * attention probabilities of every layer for ids [B, T]: one [B, H, T, T] tensor per
   * layer (no grad). For MLA these are the probabilities of the full keys [k^C; k^R].
   */
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

  /**
   * A decoding cache for batch B, one per layer: keys and values [B, maxSeqLen, Hkv, D]
   * (MHA/GQA/MQA), or the latent [B, maxSeqLen, dC] and rotary key [B, maxSeqLen, dR] (MLA).
   */
  newCache(B: number): LayerCache[] {
    return this.blocks.map((b) => b.attn.newCache(B, this.config.maxSeqLen));
  }

  freeCache(cache: LayerCache[]): void {
    const b = this.engine.backend;
    for (const l of cache) for (const t of cacheTensors(l)) b.free(t);
  }

  /** floats the decoding cache holds per token, all layers together */
  kvCacheFloatsPerToken(): number {
    const c = this.config;
    const perLayer = c.attention ? mlaCacheFloatsPerToken(mlaConfigOf(c, c.attention)) : kvCacheFloatsPerToken(c);
    return c.nLayers * perLayer;
  }

  /**
   * FLOPs of a forward pass per token at context length T (2 per multiply-add;
   * attention included; for MLA, the naive path that training runs)
   */
  flopsPerToken(T: number): number {
    const c = this.config;
    const attention = c.attention ? mlaFlopsPerToken(mlaConfigOf(c, c.attention), T) : attentionFlopsPerToken(c, T);
    const perLayer = attention + 2 * 3 * c.dModel * c.dFF;
    return c.nLayers * perLayer + 2 * c.dModel * c.vocabSize;
  }
}
