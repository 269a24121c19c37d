// How much a decoder caches per token, by attention kind: DeepSeek-V2's Table 1 as
// functions, for the MLA lesson's calculator. The kit's own models are checked
// against these numbers by counting their cache tensors (tests/unit/nn-kv-cache.test.ts).
//
//   MHA  2·n_h·d_h      a key and a value per head
//   GQA  2·n_g·d_h      a key and a value per group of heads
//   MQA  2·d_h          one key and one value for all heads
//   MLA  d_c + d_h^R    the latent c^KV and the shared rotary key k^R

export const CACHE_KINDS = ["mha", "gqa", "mqa", "mla"] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

export interface CacheDims {
  nLayers: number;
  /** query heads n_h */
  nHeads: number;
  /** per-head size d_h */
  dH: number;
  /** key/value groups n_g for GQA */
  nGroups: number;
  /** MLA's KV latent width d_c */
  dC: number;
  /** MLA's rotary key width d_h^R */
  dR: number;
}

/** values one layer caches per token */
export function cacheValuesPerTokenPerLayer(kind: CacheKind, d: CacheDims): number {
  switch (kind) {
    case "mha":
      return 2 * d.nHeads * d.dH;
    case "gqa":
      return 2 * d.nGroups * d.dH;
    case "mqa":
      return 2 * d.dH;
    case "mla":
      return d.dC + d.dR;
  }
}

/** bytes the whole model caches for `tokens` tokens of one sequence */
export function cacheBytes(kind: CacheKind, d: CacheDims, tokens: number, bytesPerValue: number): number {
  return cacheValuesPerTokenPerLayer(kind, d) * d.nLayers * tokens * bytesPerValue;
}

/**
 * DeepSeek's MLA dimensions (the course's fact sheet, §1: V2 §2.1 and V3's
 * inference/configs/config_671B.json). n_g is not theirs: neither model has a GQA
 * variant; 8 groups is only a point of comparison.
 */
export const DEEPSEEK_DIMS: Readonly<Record<"DeepSeek-V2" | "DeepSeek-V3", CacheDims>> = {
  "DeepSeek-V2": { nLayers: 60, nHeads: 128, dH: 128, nGroups: 8, dC: 512, dR: 64 },
  "DeepSeek-V3": { nLayers: 61, nHeads: 128, dH: 128, nGroups: 8, dC: 512, dR: 64 },
};
