// A GPT-style decoder: token embedding → N pre-norm blocks (RMSNorm → attention
// with RoPE → residual; RMSNorm → SwiGLU → residual) → RMSNorm → output head.
// The attention is MHA, GQA or MQA (nKvHeads), or Multi-head Latent Attention
// when the config has `attention: { kind: "mla", ... }` (src/nn/mla.ts). The
// feed-forward is a SwiGLU, or DeepSeekMoE (shared + routed experts) when the config
// has `mlp: { kind: "moe", ... }` (src/nn/moe.ts).
import type { RawTensor } from "../tensor/backend.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import { Rng } from "../tensor/random.js";
import { CausalSelfAttention, attentionFlopsPerToken, kvCacheFloatsPerToken, type LayerKVCache } from "./attention.js";
import { Embedding, Linear, RMSNorm, SwiGLU } from "./layers.js";
import {
  MultiHeadLatentAttention, mlaCacheFloatsPerToken, mlaFlopsPerToken, validateMLAConfig, type MLACache, type MLAConfig,
} from "./mla.js";
import { Module } from "./module.js";
import {
  MoE, expertLoad, moeDispatchFlopsPerToken, validateMoEConfig, type Dispatch, type ExpertLoad, type MoEConfig, type RouterScoring,
} from "./moe.js";

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

/** DeepSeekMoE feed-forward layers instead of SwiGLU (see src/nn/moe.ts) */
export interface MoEOptions {
  kind: "moe";
  /** always-on experts (0 = none) */
  nShared: number;
  /** routed experts E */
  nRouted: number;
  /** routed experts chosen per token k */
  topK: number;
  /** hidden width of each expert's SwiGLU */
  expertDim: number;
  /** "softmax" (DeepSeek-V2) or "sigmoid" (DeepSeek-V3) router scores */
  scoring: RouterScoring;
  /** gates are multiplied by this (default 1) */
  routeScale?: number;
  /** weight α of the sequence-wise balance loss (default 0 = none) */
  balanceAlpha?: number;
  /** the first denseLayers blocks keep a dense SwiGLU of width dFF (V3: 3); default 0 */
  denseLayers?: number;
  /**
   * auxiliary-loss-free balancing: the "bias update speed" γ of DeepSeek-V3 (there
   * 0.001). After every training step each router's bias moves by γ·sign(mean load −
   * load) (Router.updateBias); every training loop does it (routerBalanceStep in
   * src/train/step.ts). Default 0 = no bias, the choice is the plain top-k.
   */
  biasUpdateSpeed?: number;
  /** "dense" (default: every routed expert on every token) or "sparse" dispatch (each expert on its own tokens) */
  dispatch?: Dispatch;
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
  /** absent: a SwiGLU of width dFF in every block; { kind: "moe", ... }: DeepSeekMoE */
  mlp?: MoEOptions;
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

/** the MoE layer settings a GPT config describes (its mlp field must be set) */
export function moeConfigOf(c: GPTConfig, m: MoEOptions): MoEConfig {
  return {
    dModel: c.dModel, nShared: m.nShared, nRouted: m.nRouted, topK: m.topK, expertDim: m.expertDim,
    scoring: m.scoring, routeScale: m.routeScale ?? 1, balanceAlpha: m.balanceAlpha ?? 0, dispatch: m.dispatch ?? "dense",
  };
}

/** whether block i of this config has an MoE feed-forward */
export function isMoEBlock(c: GPTConfig, i: number): boolean {
  return c.mlp !== undefined && i >= (c.mlp.denseLayers ?? 0);
}

export function validateGPTConfig(c: GPTConfig): void {
  const ints: (keyof GPTConfig)[] = ["vocabSize", "dModel", "nLayers", "nHeads", "nKvHeads", "dFF", "maxSeqLen"];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`GPT config: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (c.mlp !== undefined) validateMoEOptions(c, c.mlp);
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

function validateMoEOptions(c: GPTConfig, m: unknown): asserts m is MoEOptions {
  const kind = typeof m === "object" && m !== null ? (m as { kind?: unknown }).kind : undefined;
  if (kind !== "moe") {
    throw new Error(
      `GPT config: mlp must be { kind: "moe", nShared, nRouted, topK, expertDim, scoring } (leave it out for a dense SwiGLU), got ${JSON.stringify(m)}`,
    );
  }
  const o = m as MoEOptions;
  const dense = o.denseLayers ?? 0;
  if (typeof dense !== "number" || !Number.isInteger(dense) || dense < 0 || dense >= c.nLayers) {
    throw new Error(
      `GPT config: mlp.denseLayers must be an integer in 0..nLayers − 1 = 0..${c.nLayers - 1} (at least one block must be MoE), got ${String(dense)}`,
    );
  }
  const gamma = o.biasUpdateSpeed ?? 0;
  if (typeof gamma !== "number" || !Number.isFinite(gamma) || gamma < 0) {
    throw new Error(`GPT config: mlp.biasUpdateSpeed (γ of aux-loss-free balancing) must be a number ≥ 0 (0 = off), got ${String(gamma)}`);
  }
  validateMoEConfig(moeConfigOf(c, o));
}

export class Block extends Module {
  readonly attnNorm: RMSNorm;
  readonly attn: CausalSelfAttention | MultiHeadLatentAttention;
  readonly mlpNorm: RMSNorm;
  /** a dense SwiGLU, or DeepSeekMoE when the config's mlp says so for this block */
  readonly mlp: SwiGLU | MoE;
  constructor(engine: Engine, c: GPTConfig, rng: Rng, index = 0) {
    super(engine);
    const residualStd = 1 / Math.sqrt(c.dModel) / Math.sqrt(2 * c.nLayers);
    this.attnNorm = this.child("attn_norm", new RMSNorm(engine, c.dModel, c.normEps));
    this.attn = this.child("attn", c.attention
      ? new MultiHeadLatentAttention(engine, mlaConfigOf(c, c.attention), rng, residualStd)
      : new CausalSelfAttention(engine, c, rng, residualStd));
    this.mlpNorm = this.child("mlp_norm", new RMSNorm(engine, c.dModel, c.normEps));
    this.mlp = this.child("mlp", c.mlp && isMoEBlock(c, index)
      ? new MoE(engine, moeConfigOf(c, c.mlp), rng, residualStd)
      : new SwiGLU(engine, c.dModel, c.dFF, rng, residualStd));
  }
  /** tokenMask (f32 [B, T]): the positions an MoE layer's balance loss and load statistics count */
  forward(x: Tensor, cache?: LayerCache, pos0 = 0, keyStart?: Tensor, tokenMask: Tensor | null = null): Tensor {
    const e = this.engine;
    const [B, T, C] = x.shape as [number, number, number];
    const h = e.add(x, this.attend(this.attnNorm.forward(x), cache, pos0, keyStart));
    // MoE takes [B, T, C]: its balance loss is taken per sequence
    if (this.mlp instanceof MoE) return e.add(h, this.mlp.forward(this.mlpNorm.forward(h), tokenMask));
    const m = this.mlp.forward(e.reshape(this.mlpNorm.forward(h), [B * T, C]));
    return e.add(h, e.reshape(m, [B, T, C]));
  }

  /** the attention layer with the cache of its own kind */
  private attend(x: Tensor, cache: LayerCache | undefined, pos0: number, keyStart?: Tensor): Tensor {
    if (this.attn instanceof MultiHeadLatentAttention) {
      if (cache && !isMLACache(cache)) throw new Error("GPT: an MLA layer needs an MLA cache (latents and rotary keys); make it with GPT.newCache");
      return this.attn.forward(x, cache, pos0, keyStart);
    }
    if (cache && isMLACache(cache)) throw new Error("GPT: a key/value cache is needed here, not an MLA cache; make it with GPT.newCache");
    return this.attn.forward(x, cache, pos0, keyStart);
  }
}

function isMLACache(c: LayerCache): c is MLACache {
  return "latentRope" in c;
}

/** the backend tensors a layer cache holds */
function cacheTensors(c: LayerCache): RawTensor[] {
  return isMLACache(c) ? [c.latentRope] : [c.k, c.v];
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
    for (let i = 0; i < config.nLayers; i++) this.blocks.push(this.child(`blocks.${i}`, new Block(engine, config, rng, i)));
    this.norm = this.child("norm", new RMSNorm(engine, config.dModel, config.normEps));
    this.head = config.tiedHead ? null : this.child("head", new Linear(engine, config.dModel, config.vocabSize, rng, { std: 0.02 }));
  }

  /**
   * ids i32 [B, T] → logits [B·T, vocab]. With caches, the T new positions start at
   * pos0 (KV-cached decoding). keyStart (i32 [B]) marks left padding: row b's real
   * tokens start at keyStart[b] and never attend to the padding before it.
   * tokenMask (f32 [B, T], 1 = count): the positions the MoE layers' balance loss and
   * load statistics count (loss() passes its loss mask); none = all.
   */
  forward(ids: Tensor, caches?: LayerCache[], pos0 = 0, keyStart?: Tensor, tokenMask: Tensor | null = null): Tensor {
    const h = this.hidden(ids, caches, pos0, keyStart, tokenMask);
    return this.head ? this.head.forward(h) : this.engine.matmul(h, this.embed.weight, { transB: true });
  }

  /**
   * The trunk without the output head: ids i32 [B, T] → the final-normed hidden states
   * [B·T, dModel] that the head turns into logits. A reward model reads these
   * (src/nn/reward-model.ts). Arguments as for forward.
   */
  hidden(ids: Tensor, caches?: LayerCache[], pos0 = 0, keyStart?: Tensor, tokenMask: Tensor | null = null): Tensor {
    const e = this.engine;
    const [B, T] = ids.shape as [number, number];
    if (pos0 + T > this.config.maxSeqLen) throw new Error(`GPT: positions up to ${pos0 + T} exceed maxSeqLen ${this.config.maxSeqLen}`);
    let x = this.embed.forward(ids); // [B, T, C]
    this.blocks.forEach((b, i) => (x = b.forward(x, caches?.[i], pos0, keyStart, tokenMask)));
    return e.reshape(this.norm.forward(x), [B * T, this.config.dModel]);
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

  /** the MoE layers, in block order (empty for a dense model) */
  moeLayers(): MoE[] {
    return this.blocks.flatMap((b) => (b.mlp instanceof MoE ? [b.mlp] : []));
  }

  /**
   * What the MoE layers recorded in the last forward. balanceLoss: Σ over layers of
   * their balance losses (null when no layer has balanceAlpha > 0 or the model is
   * dense); it lives in the scope of that forward: add it to the loss there (or use
   * trainingLoss). stats: per MoE layer, tokens per expert and router entropy
   * ([nRouted + 1] each, kept until the next forward; readExpertLoads reads them).
   */
  moeAux(): { balanceLoss: Tensor | null; stats: (Tensor | null)[] } {
    const layers = this.moeLayers();
    let balanceLoss: Tensor | null = null;
    for (const m of layers) {
      if (m.lastBalanceLoss) balanceLoss = balanceLoss ? this.engine.add(balanceLoss, m.lastBalanceLoss) : m.lastBalanceLoss;
    }
    return { balanceLoss, stats: layers.map((m) => m.lastStats) };
  }

  /** each MoE layer's expert load and router entropy in the last forward, in one readback */
  async readExpertLoads(): Promise<ExpertLoad[]> {
    const layers = this.moeLayers();
    if (layers.length === 0) return [];
    const rows = layers.map((m) => {
      if (!m.lastStats) throw new Error("GPT.readExpertLoads: no forward pass has run yet");
      return m.lastStats.raw;
    });
    const b = this.engine.backend;
    const all = b.concat(rows, 0);
    try {
      const data = await b.read(all);
      let at = 0;
      return layers.map((m) => {
        const n = m.cfg.nRouted + 1;
        at += n;
        return expertLoad(data.subarray(at - n, at), m.cfg.nRouted);
      });
    } finally {
      b.free(all);
    }
  }

  /**
   * Which experts each token of ids [1, T] goes to: per MoE layer, the k chosen
   * experts of every position (best first). One forward pass without gradients.
   */
  async routeTokens(ids: Tensor): Promise<number[][][]> {
    const e = this.engine;
    if (ids.shape[0] !== 1) throw new Error(`GPT.routeTokens: one sequence at a time, got ids of shape [${ids.shape.join(", ")}]`);
    e.scope(() => e.noGrad(() => this.forward(ids)));
    const out: number[][][] = [];
    for (const m of this.moeLayers()) {
      const flat = Array.from(await m.lastIndices!.data());
      const k = m.cfg.topK;
      out.push(Array.from({ length: flat.length / k }, (_, t) => flat.slice(t * k, (t + 1) * k)));
    }
    return out;
  }

  /** aux-loss-free balancing after a step: each MoE layer's bias from its load (Router.updateBias) */
  updateRouterBias(loads: readonly ExpertLoad[], gamma: number): void {
    const layers = this.moeLayers();
    if (loads.length !== layers.length) throw new Error(`GPT.updateRouterBias: ${loads.length} loads for ${layers.length} MoE layers`);
    layers.forEach((m, i) => m.updateBias(loads[i]!.tokens, gamma));
  }

  /** the loss to train on: loss() plus the MoE balance losses (exactly loss() for a dense model) */
  trainingLoss(ids: Tensor, targets: Tensor, mask: Tensor | null = null, count?: number): Tensor {
    const ce = this.loss(ids, targets, mask, count);
    const { balanceLoss } = this.moeAux();
    return balanceLoss ? this.engine.add(ce, balanceLoss) : ce;
  }

  /** mean next-token cross-entropy; targets i32 [B, T], mask f32 [B, T] (1 = count) */
  loss(ids: Tensor, targets: Tensor, mask: Tensor | null = null, count?: number): Tensor {
    const e = this.engine;
    const [B, T] = ids.shape as [number, number];
    // the MoE layers balance and count the positions the loss counts (not padding or prompt)
    const logits = this.forward(ids, undefined, 0, undefined, mask);
    return e.meanCrossEntropy(
      logits,
      e.reshape(targets, [B * T]),
      mask ? e.reshape(mask, [B * T]) : null,
      count ?? B * T,
    );
  }

  /**
   * A decoding cache for batch B, one per layer: keys and values [B, maxSeqLen, Hkv, D]
   * (MHA/GQA/MQA), or the rows [c^KV; k^R] [B, maxSeqLen, dC + dR] (MLA).
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
   * attention included; for MLA, the naive path that training runs). An MoE layer
   * counts its ACTIVE experts (router + shared + k routed), what a sparse MoE runs;
   * this kit's dense dispatch actually runs all E routed experts (see src/nn/moe.ts).
   */
  flopsPerToken(T: number): number {
    return this.dispatchFlopsPerToken(T, "sparse");
  }

  /**
   * Forward FLOPs per token as this kit runs the model with the given MoE dispatch:
   * "sparse" = flopsPerToken; "dense" counts all E routed experts of every MoE layer.
   * (The same for a dense model.)
   */
  dispatchFlopsPerToken(T: number, dispatch: Dispatch): number {
    const c = this.config;
    const attention = c.attention ? mlaFlopsPerToken(mlaConfigOf(c, c.attention), T) : attentionFlopsPerToken(c, T);
    let total = 2 * c.dModel * c.vocabSize;
    for (let i = 0; i < c.nLayers; i++) {
      const mlp = c.mlp && isMoEBlock(c, i) ? moeDispatchFlopsPerToken(moeConfigOf(c, c.mlp), dispatch) : 2 * 3 * c.dModel * c.dFF;
      total += attention + mlp;
    }
    return total;
  }

  /** parameters one token uses: all of them for a dense model; MoE layers count k of their E routed experts */
  activeParameterCount(): number {
    return this.parameterCount() - this.moeLayers().reduce((s, m) => s + m.parameterCount() - m.activeParameterCount(), 0);
  }

  override dispose(): void {
    for (const m of this.moeLayers()) m.dispose(); // the router bias and statistics are not parameters
    super.dispose();
  }
}
