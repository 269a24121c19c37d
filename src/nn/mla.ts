// Multi-head Latent Attention (MLA), DeepSeek-V2/V3's attention.
//
// The problem it solves: when a model decodes, it keeps every past token's keys
// and values (the KV cache), 2·heads·headSize floats per token per layer for
// multi-head attention. GQA and MQA shrink that by letting heads share keys and
// values. MLA instead squeezes each token into one small latent vector:
//
//   c^KV = RMSNorm(W^DKV h)                      (dC floats: the only content cached)
//   k^C_i = W^UK_i c^KV,  v^C_i = W^UV_i c^KV    (head i's keys and values, rebuilt from it)
//
// Why RoPE is "decoupled": rotary positions rotate q and k by an angle that depends
// on the position. Put that rotation on k^C and it would sit between W^UK and c^KV,
// so W^UK could no longer be folded into the query (below) and every cached key
// would have to be rebuilt. So the content part carries no position, and a small
// separate part does: per head q^R_i = RoPE(W^QR_i c^Q) (dR floats), and ONE key
// k^R = RoPE(W^KR h) shared by all heads. Head i attends with
//
//   q_i = [q^C_i; q^R_i],  k_i = [k^C_i; k^R],  scale 1/sqrt(dH + dR),
//
// so the cache holds c^KV and the rotated k^R: (dC + dR) floats per token per layer.
// Queries may go through their own low-rank latent c^Q (dCq; 0 = a full-rank W^Q):
// that saves activations in training, not cache.
//
// Two ways to compute the same attention:
// - naive: rebuild k^C and v^C of every cached position with W^UK and W^UV, then
//   run ordinary multi-head attention. Cheapest in training, where every position
//   is new anyway.
// - absorbed: since q^C_i · k^C_i = (W^UK_iᵀ q^C_i) · c^KV, fold W^UK into the query
//   (q_lat_i, dC floats) and score directly against the latent. Likewise the
//   weighted sum of values is W^UV_i (Σ p·c^KV): sum the latents, then apply W^UV_i.
//   That is multi-query attention with ONE key/value head: keys [c^KV; k^R] (size
//   dC + dR), values c^KV (size dC), queries [q_lat_i; q^R_i]. Nothing is rebuilt per
//   cached token, which is what makes decoding from the small cache cheap.
//
// Decoding reads the cache where it lies: each layer's cache is ONE tensor
// [B, Tmax, dC + dR] whose rows are [c^KV; k^R], exactly the absorbed path's keys.
// Its values are the first dC columns of the same rows, so the absorbed decode passes
// the cache as both keys and values and drops the last dR columns of the weighted
// sum (dR/dC more work in that sum, and no per-step copy of the cached latent).
//
// Where this follows the paper and where DeepSeek's released code: the projections,
// the decoupled RoPE, the scale 1/sqrt(dH + dR) and the cache of c^KV and k^R are the
// equations of DeepSeek-V2 §2.1.2–2.1.3. The RMSNorm on the KV latent (kv_norm) and on
// the query latent (q_norm) are not in the paper's equations: they come from
// DeepSeek's released code (DeepSeek-V3 inference/model.py, class MLA), which
// normalises c^Q and c^KV before the up-projections; the cached latent is the
// normalised one, as there. The RoPE pairing (coordinate i with i + size/2) is this
// kit's convention throughout (src/cpu/reference/attention.ts); RoFormer pairs
// neighbours. Either way a score depends only on the distance between positions.
//
// Notation and dimensions follow DeepSeek-V2 §2.1 (see the course's fact sheet).
// tests/unit/helpers/mla-host.ts re-derives all of it with plain loops, and
// tests/unit/nn-mla-reference.test.ts holds both paths to it.

import type { AttentionOptions, RawTensor } from "../tensor/backend.js";
import type { Engine, Tensor } from "../tensor/engine.js";
import type { Rng } from "../tensor/random.js";
import { causalSoftmax } from "./attention.js";
import { Linear, RMSNorm } from "./layers.js";
import { Module } from "./module.js";

export interface MLAConfig {
  dModel: number;
  nHeads: number;
  /** width of the KV latent c^KV: what is cached */
  dC: number;
  /** width of the query latent c^Q; 0 = queries come from h through a full-rank W^Q */
  dCq: number;
  /** size of the rotary part of each query and of the one shared rotary key (even) */
  dR: number;
  /** per-head size of k^C, v^C and q^C */
  dH: number;
  ropeTheta: number;
  normEps: number;
}

/**
 * Per-layer MLA cache for decoding, filled over time: one tensor [B, Tmax, dC + dR]
 * whose row t is [c^KV_t; k^R_t], the normalised latent then the rotated shared key.
 * Nothing per head.
 */
export interface MLACache {
  latentRope: RawTensor;
}

/** naive: rebuild per-head keys and values; absorbed: attend in latent space */
export type MLAPath = "naive" | "absorbed";

const isPositiveInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;

/** throws an Error that names the bad field and says what it must be */
export function validateMLAConfig(c: MLAConfig): void {
  if (!isPositiveInt(c.dC)) throw new Error(`MLA config: dC (the KV latent width) must be a positive integer, got ${String(c.dC)}`);
  if (typeof c.dCq !== "number" || !Number.isInteger(c.dCq) || c.dCq < 0) {
    throw new Error(`MLA config: dCq (the query latent width) must be an integer ≥ 0 (0 = full-rank queries), got ${String(c.dCq)}`);
  }
  if (!isPositiveInt(c.dR) || c.dR % 2 !== 0) {
    throw new Error(`MLA config: dR (the rotary part of queries and keys) must be a positive even integer (RoPE rotates pairs), got ${String(c.dR)}`);
  }
  if (!isPositiveInt(c.dH)) throw new Error(`MLA config: dH (the per-head size) must be a positive integer, got ${String(c.dH)}`);
  if (!isPositiveInt(c.nHeads)) throw new Error(`MLA config: nHeads must be a positive integer, got ${String(c.nHeads)}`);
  if (!isPositiveInt(c.dModel)) throw new Error(`MLA config: dModel must be a positive integer, got ${String(c.dModel)}`);
}

/** floats one MLA layer caches per token: the latent and the shared rotary key */
export function mlaCacheFloatsPerToken(c: MLAConfig): number {
  return c.dC + c.dR;
}

/**
 * Forward FLOPs per token of one MLA layer at context T (2 per multiply-add), for the
 * naive path that training runs: projections, k^C and v^C rebuilt for the token,
 * scores over T keys of size dH + dR and the weighted sum of T values of size dH.
 * Norms and RoPE are left out, as in GPT.flopsPerToken.
 */
export function mlaFlopsPerToken(c: MLAConfig, T: number): number {
  const { dModel: d, nHeads: H, dC, dCq, dR, dH } = c;
  const query = dCq > 0 ? 2 * d * dCq + 2 * dCq * H * (dH + dR) : 2 * d * H * (dH + dR);
  const keysValues = 2 * d * dC + 2 * d * dR + 2 * 2 * dC * H * dH; // W^DKV, W^KR, W^UK and W^UV
  const output = 2 * H * dH * d;
  const attend = 2 * T * H * (dH + dR) + 2 * T * H * dH;
  return query + keysValues + output + attend;
}

/** what one forward pass computes from x before attending */
interface Projections {
  /** content queries q^C [B, T, H, dH] */
  qC: Tensor;
  /** rotary queries q^R [B, T, H, dR] (rotated) */
  qR: Tensor;
  /** the latent c^KV [B, T, dC] (normalised) */
  latent: Tensor;
  /** the shared rotary key k^R [B, T, dR] (rotated) */
  kR: Tensor;
}

export class MultiHeadLatentAttention extends Module {
  /** W^DQ: h → c^Q, and its RMSNorm (null when dCq = 0) */
  readonly wdq: Linear | null;
  readonly qNorm: RMSNorm | null;
  /** W^UQ: c^Q → q^C, or W^Q: h → q^C when dCq = 0 (saved as "wuq" or "wq") */
  readonly wq: Linear;
  /** W^QR: c^Q (or h) → q^R, dR per head */
  readonly wqr: Linear;
  /** W^DKV: h → c^KV, and the RMSNorm on the latent */
  readonly wdkv: Linear;
  readonly kvNorm: RMSNorm;
  /** W^UK, W^UV: c^KV → k^C, v^C ([H·dH, dC], head i is rows i·dH … i·dH + dH − 1) */
  readonly wuk: Linear;
  readonly wuv: Linear;
  /** W^KR: h → k^R, one for all heads */
  readonly wkr: Linear;
  /** W^O: the heads' outputs [H·dH] → dModel */
  readonly wo: Linear;

  constructor(engine: Engine, readonly cfg: MLAConfig, rng: Rng, residualStd?: number) {
    super(engine);
    validateMLAConfig(cfg);
    const { dModel, nHeads: H, dC, dCq, dR, dH, normEps } = cfg;
    if (dCq > 0) {
      this.wdq = this.child("wdq", new Linear(engine, dModel, dCq, rng));
      this.qNorm = this.child("q_norm", new RMSNorm(engine, dCq, normEps));
      this.wq = this.child("wuq", new Linear(engine, dCq, H * dH, rng));
    } else {
      this.wdq = null;
      this.qNorm = null;
      this.wq = this.child("wq", new Linear(engine, dModel, H * dH, rng));
    }
    this.wqr = this.child("wqr", new Linear(engine, dCq > 0 ? dCq : dModel, H * dR, rng));
    this.wdkv = this.child("wdkv", new Linear(engine, dModel, dC, rng));
    this.kvNorm = this.child("kv_norm", new RMSNorm(engine, dC, normEps));
    this.wuk = this.child("wuk", new Linear(engine, dC, H * dH, rng));
    this.wuv = this.child("wuv", new Linear(engine, dC, H * dH, rng));
    this.wkr = this.child("wkr", new Linear(engine, dModel, dR, rng));
    this.wo = this.child("wo", new Linear(engine, H * dH, dModel, rng, residualStd ? { std: residualStd } : {}));
  }

  /** 1/sqrt(dH + dR): a score sums dH content and dR rotary products */
  get scale(): number {
    return 1 / Math.sqrt(this.cfg.dH + this.cfg.dR);
  }

  /**
   * x: [B, T, dModel] → [B, T, dModel]. Without a cache: causal attention over T
   * (training). With a cache: the T new positions start at pos0; their latent and
   * rotary key are written into the cache and attention looks at positions
   * 0 … pos0 + T − 1. keyStart (i32 [B]): left padding, see AttentionOptions.keyStart.
   * path: absorbed by default when decoding from a cache, naive otherwise; both
   * give the same result.
   */
  forward(x: Tensor, cache?: MLACache, pos0 = 0, keyStart?: Tensor, path: MLAPath = cache ? "absorbed" : "naive"): Tensor {
    const e = this.engine;
    const [B, T] = x.shape as [number, number, number];
    const { dModel, nHeads: H, dH } = this.cfg;
    const p = this.project(x, pos0);
    const padding = keyStart ? { keyStart: keyStart.raw } : {};
    const opts: AttentionOptions = { scale: this.scale, causal: true, ...padding };
    let heads: Tensor;
    if (cache) {
      // the new rows [c^KV; k^R] go into the cache; attention looks at positions 0 … pos0 + T − 1
      e.backend.writeSlice(cache.latentRope, e.concat([p.latent, p.kR], 2).raw, 1, pos0);
      const kvLen = pos0 + T;
      heads = path === "absorbed"
        ? this.attendAbsorbed(p, this.cacheView(cache), { ...opts, kvLen })
        : this.attendNaive(p, ...this.cachedCopies(cache, kvLen), opts);
    } else {
      heads = path === "absorbed"
        ? this.attendAbsorbed(p, e.reshape(e.concat([p.latent, p.kR], 2), [B, T, 1, this.cfg.dC + this.cfg.dR]), opts)
        : this.attendNaive(p, p.latent, p.kR, opts);
    }
    return e.reshape(this.wo.forward(e.reshape(heads, [B * T, H * dH])), [B, T, dModel]);
  }

  /** the whole cache as one key/value head [B, Tmax, 1, dC + dR]: a view, no copy */
  private cacheView(cache: MLACache): Tensor {
    const [B, Tmax, width] = cache.latentRope.shape as [number, number, number];
    return this.engine.wrap(this.engine.backend.reshape(cache.latentRope, [B, Tmax, 1, width]));
  }

  /** copies of the first kvLen cached latents [B, kvLen, dC] and rotary keys [B, kvLen, dR] (the naive path only) */
  private cachedCopies(cache: MLACache, kvLen: number): [Tensor, Tensor] {
    const b = this.engine.backend;
    const { dC, dR } = this.cfg;
    const rows = b.slice(cache.latentRope, 1, 0, kvLen);
    try {
      return [this.engine.wrap(b.slice(rows, 2, 0, dC)), this.engine.wrap(b.slice(rows, 2, dC, dC + dR))];
    } finally {
      b.free(rows);
    }
  }

  /** queries, latent and rotary key of the T positions of x, which start at pos0 */
  private project(x: Tensor, pos0: number): Projections {
    const e = this.engine;
    const [B, T] = x.shape as [number, number, number];
    const { dModel, nHeads: H, dC, dR, dH, ropeTheta } = this.cfg;
    const h = e.reshape(x, [B * T, dModel]);
    const cQ = this.wdq && this.qNorm ? this.qNorm.forward(this.wdq.forward(h)) : h;
    const qC = e.reshape(this.wq.forward(cQ), [B, T, H, dH]);
    const qR = e.rope(e.reshape(this.wqr.forward(cQ), [B, T, H, dR]), pos0, ropeTheta);
    const latent = e.reshape(this.kvNorm.forward(this.wdkv.forward(h)), [B, T, dC]);
    // rope wants [B, T, heads, size]: k^R is one "head"
    const kR = e.reshape(e.rope(e.reshape(this.wkr.forward(h), [B, T, 1, dR]), pos0, ropeTheta), [B, T, dR]);
    return { qC, qR, latent, kR };
  }

  /** per-head keys [B, Tk, H, dH + dR] and values [B, Tk, H, dH] rebuilt from the latents */
  private naiveKeysValues(latent: Tensor, kR: Tensor): { k: Tensor; v: Tensor } {
    const e = this.engine;
    const [B, Tk] = latent.shape as [number, number, number];
    const { nHeads: H, dC, dR, dH } = this.cfg;
    const flat = e.reshape(latent, [B * Tk, dC]);
    const kC = e.reshape(this.wuk.forward(flat), [B, Tk, H, dH]);
    const v = e.reshape(this.wuv.forward(flat), [B, Tk, H, dH]);
    // broadcasting copies the one shared k^R into every head
    const kRHeads = e.add(e.reshape(kR, [B, Tk, 1, dR]), e.zeros([B, Tk, H, dR]));
    return { k: e.concat([kC, kRHeads], 3), v };
  }

  /** naive path: ordinary multi-head attention on rebuilt keys and values → [B, T, H, dH] */
  private attendNaive(p: Projections, latent: Tensor, kR: Tensor, opts: AttentionOptions): Tensor {
    const e = this.engine;
    const { k, v } = this.naiveKeysValues(latent, kR);
    return e.attention(e.concat([p.qC, p.qR], 3), k, v, opts);
  }

  /**
   * absorbed path: W^UK folded into the queries, one shared key/value head in latent
   * space, W^UV applied after the weighted sum → [B, T, H, dH]. keys [B, Tk, 1, dC + dR]
   * are the rows [c^KV; k^R] (the cache itself when decoding); they serve as the values
   * too, and the last dR columns of the weighted sum (Σ p·k^R) are dropped.
   */
  private attendAbsorbed(p: Projections, keys: Tensor, opts: AttentionOptions): Tensor {
    const e = this.engine;
    const { dC } = this.cfg;
    const qLat = this.perHead(p.qC, this.wuk.weight, false); // q_lat_i = W^UK_iᵀ q^C_i: [B, T, H, dC]
    const summed = e.attention(e.concat([qLat, p.qR], 3), keys, keys, opts); // Σ p·[c^KV; k^R]: [B, T, H, dC + dR]
    const oLat = e.slice(summed, 3, 0, dC); // Σ p·c^KV: [B, T, H, dC]
    return this.perHead(oLat, this.wuv.weight, true); // o_i = W^UV_i oLat_i: [B, T, H, dH]
  }

  /**
   * Head i's rows of x [B, T, H, n] times head i's block W_i of an up-projection
   * weight [H·dH, dC] (viewed as [H, dH, dC]): x_i W_i (n = dH → dC) or, with
   * transposed, x_i W_iᵀ (n = dC → dH). One batched matmul over the heads.
   */
  private perHead(x: Tensor, weight: Tensor, transposed: boolean): Tensor {
    const e = this.engine;
    const [B, T, H, n] = x.shape as [number, number, number, number];
    const { dC, dH } = this.cfg;
    const w = e.reshape(weight, [H, dH, dC]);
    const byHead = e.reshape(e.permute(x, [2, 0, 1, 3]), [H, B * T, n]);
    const y = e.matmul(byHead, w, { transB: transposed }); // [H, B·T, dC or dH]
    return e.permute(e.reshape(y, [H, B, T, transposed ? dH : dC]), [1, 2, 0, 3]);
  }

  /** attention probabilities [B, H, T, T] for a heatmap (naive path, no cache, no grad) */
  probabilities(x: Tensor): Tensor {
    const e = this.engine;
    return e.noGrad(() => {
      const p = this.project(x, 0);
      const q = e.permute(e.concat([p.qC, p.qR], 3), [0, 2, 1, 3]); // [B, H, T, dH + dR]
      const k = e.permute(this.naiveKeysValues(p.latent, p.kR).k, [0, 2, 1, 3]);
      return causalSoftmax(e, e.scale(e.matmul(q, k, { transB: true }), this.scale));
    });
  }

  /** an empty cache for batch B and up to maxLen positions: rows [c^KV; k^R] of dC + dR floats */
  newCache(B: number, maxLen: number): MLACache {
    return { latentRope: this.engine.backend.fill([B, maxLen, this.cfg.dC + this.cfg.dR], 0, "f32") };
  }
}
