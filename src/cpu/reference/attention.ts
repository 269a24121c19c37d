// Transformer kernels: rotary embedding and scaled dot-product attention
// (forward and backward), with grouped-query attention, causal masking, a
// KV-cache length and left padding (keyStart). Accumulation is in float64.

import type { FloatArray } from "../../tensor/backend.js";

/**
 * Rotary embedding on x [B, T, H, D], half-split pairs (x[i], x[i + D/2]):
 * angle = (pos0 + t)·theta^(−2i/D); inverse rotates by −angle.
 */
export function ropeKernel(
  x: FloatArray, B: number, T: number, H: number, D: number,
  pos0: number, theta: number, inverse: boolean, out: FloatArray,
): void {
  const half = D / 2;
  const freq = new Float64Array(half);
  for (let i = 0; i < half; i++) freq[i] = Math.pow(theta, (-2 * i) / D);
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  const sign = inverse ? -1 : 1;
  for (let t = 0; t < T; t++) {
    const pos = pos0 + t;
    for (let i = 0; i < half; i++) {
      const a = pos * freq[i]!;
      cos[i] = Math.cos(a);
      sin[i] = sign * Math.sin(a);
    }
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const base = ((b * T + t) * H + h) * D;
        for (let i = 0; i < half; i++) {
          const x1 = x[base + i]!;
          const x2 = x[base + i + half]!;
          out[base + i] = x1 * cos[i]! - x2 * sin[i]!;
          out[base + i + half] = x1 * sin[i]! + x2 * cos[i]!;
        }
      }
    }
  }
}

export interface AttnDims {
  B: number;
  Tq: number;
  Hq: number;
  D: number;
  Tk: number;
  Hkv: number;
  Dv: number;
  kvLen: number;
  group: number;
}

/** the last key index query i may see */
function lastKey(i: number, dims: AttnDims, causal: boolean): number {
  return causal ? dims.kvLen - dims.Tq + i : dims.kvLen - 1;
}

/** the first key index a query of batch row b whose last key is `last` may see (see AttentionOptions.keyStart) */
function firstKey(b: number, last: number, keyStart: ArrayLike<number> | null): number {
  return keyStart ? Math.min(Math.max(keyStart[b]!, 0), last) : 0;
}

export function attentionKernel(
  q: FloatArray, k: FloatArray, v: FloatArray, dims: AttnDims, scale: number, causal: boolean,
  keyStart: ArrayLike<number> | null, out: FloatArray, lse: FloatArray,
): void {
  const { B, Tq, Hq, D, Tk, Hkv, Dv, group } = dims;
  const s = new Float64Array(Tk);
  const o = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const jEnd = lastKey(i, dims, causal);
      const j0 = firstKey(b, jEnd, keyStart);
      for (let h = 0; h < Hq; h++) {
        const hk = Math.floor(h / group);
        const qBase = ((b * Tq + i) * Hq + h) * D;
        let m = -Infinity;
        for (let j = j0; j <= jEnd; j++) {
          const kBase = ((b * Tk + j) * Hkv + hk) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qBase + d]! * k[kBase + d]!;
          const sc = scale * dot;
          s[j] = sc;
          if (sc > m) m = sc;
        }
        let l = 0;
        for (let j = j0; j <= jEnd; j++) l += Math.exp(s[j]! - m);
        const L = m + Math.log(l);
        lse[(b * Tq + i) * Hq + h] = L;
        o.fill(0);
        for (let j = j0; j <= jEnd; j++) {
          const p = Math.exp(s[j]! - L);
          const vBase = ((b * Tk + j) * Hkv + hk) * Dv;
          for (let d = 0; d < Dv; d++) o[d] += p * v[vBase + d]!;
        }
        const oBase = ((b * Tq + i) * Hq + h) * Dv;
        for (let d = 0; d < Dv; d++) out[oBase + d] = o[d]!;
      }
    }
  }
}

/**
 * p_ij = exp(scale·q_i·k_j − lse_i); D_i = dO_i·O_i;
 * dv_j = Σ_i p_ij dO_i; ds_ij = p_ij (dO_i·v_j − D_i);
 * dq_i = scale Σ_j ds_ij k_j; dk_j = scale Σ_i ds_ij q_i.
 * GQA: the query heads of a group all add into their shared kv head.
 */
export function attentionBackwardKernel(
  q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, dout: FloatArray,
  dims: AttnDims, scale: number, causal: boolean, keyStart: ArrayLike<number> | null,
  dq: FloatArray, dk: FloatArray, dv: FloatArray,
): void {
  const { B, Tq, Hq, D, Tk, Hkv, Dv, group } = dims;
  const dkAcc = new Float64Array(dk.length);
  const dvAcc = new Float64Array(dv.length);
  const dqRow = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const jEnd = lastKey(i, dims, causal);
      const j0 = firstKey(b, jEnd, keyStart);
      for (let h = 0; h < Hq; h++) {
        const hk = Math.floor(h / group);
        const row = (b * Tq + i) * Hq + h;
        const qBase = row * D;
        const oBase = row * Dv;
        const L = lse[row]!;
        let Di = 0;
        for (let d = 0; d < Dv; d++) Di += dout[oBase + d]! * out[oBase + d]!;
        dqRow.fill(0);
        for (let j = j0; j <= jEnd; j++) {
          const kBase = ((b * Tk + j) * Hkv + hk) * D;
          const vBase = ((b * Tk + j) * Hkv + hk) * Dv;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qBase + d]! * k[kBase + d]!;
          const p = Math.exp(scale * dot - L);
          let dpv = 0;
          for (let d = 0; d < Dv; d++) {
            const g = dout[oBase + d]!;
            dpv += g * v[vBase + d]!;
            dvAcc[vBase + d] += p * g;
          }
          const ds = p * (dpv - Di) * scale;
          for (let d = 0; d < D; d++) {
            dqRow[d] += ds * k[kBase + d]!;
            dkAcc[kBase + d] += ds * q[qBase + d]!;
          }
        }
        for (let d = 0; d < D; d++) dq[qBase + d] = dqRow[d]!;
      }
    }
  }
  for (let i = 0; i < dk.length; i++) dk[i] = dkAcc[i]!;
  for (let i = 0; i < dv.length; i++) dv[i] = dvAcc[i]!;
}
