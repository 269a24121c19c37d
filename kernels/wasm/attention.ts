// Scaled dot-product attention, forward and backward, with grouped-query heads,
// causal masking, a KV-cache length (kvLen) and left padding (keyStart), as in the
// reference (src/cpu/reference/attention.ts). Layouts: q [B, Tq, Hq, D],
// k [B, Tk, Hkv, D], v [B, Tk, Hkv, Dv]; the query heads of a group share one
// key/value head. Dot products and row updates are SIMD over the head size.

import { axpy, dot, exp4, expf1, hsum, zero } from "./simd";

/** the last key index query i may see */
// @ts-ignore: decorator
@inline function lastKey(i: i32, Tq: i32, kvLen: i32, causal: bool): i32 {
  return causal ? kvLen - Tq + i : kvLen - 1;
}

/** the first key index batch row b's queries may see (keyStart = 0: no padding) */
// @ts-ignore: decorator
@inline function firstKey(b: i32, last: i32, keyStart: usize): i32 {
  return keyStart ? min(max(load<i32>(keyStart + (<usize>b << 2)), 0), last) : 0;
}

/** s[j] = scale·q·k_j for j0 ≤ j ≤ j1; returns the largest */
function scores(q: usize, k: usize, kStride: usize, D: i32, j0: i32, j1: i32, scale: f32, s: usize): f32 {
  let m: f32 = -Infinity;
  for (let j = j0; j <= j1; j++) {
    const sc = scale * dot(q, k + <usize>j * kStride, D);
    store<f32>(s + (<usize>j << 2), sc);
    m = max(m, sc);
  }
  return m;
}

/** s[j] = exp(s[j] − shift) for j0 ≤ j ≤ j1, in place; returns their sum */
function expInPlace(s: usize, j0: i32, j1: i32, shift: f32): f32 {
  const sv = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  let j = j0;
  for (; j + 3 <= j1; j += 4) {
    const p = s + (<usize>j << 2);
    const e = exp4(f32x4.sub(v128.load(p), sv));
    v128.store(p, e);
    acc = f32x4.add(acc, e);
  }
  let sum = hsum(acc);
  for (; j <= j1; j++) {
    const p = s + (<usize>j << 2);
    const e = expf1(load<f32>(p) - shift);
    store<f32>(p, e);
    sum += e;
  }
  return sum;
}

export function attention(
  q: usize, k: usize, v: usize, B: i32, Tq: i32, Hq: i32, D: i32, Tk: i32, Hkv: i32, Dv: i32, kvLen: i32,
  causal: bool, scale: f32, keyStart: usize, out: usize, lse: usize, s: usize,
): void {
  const group = Hq / Hkv;
  const kStride = <usize>Hkv * D << 2; // bytes from key j to key j + 1
  const vStride = <usize>Hkv * Dv << 2;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const j1 = lastKey(i, Tq, kvLen, causal);
      const j0 = firstKey(b, j1, keyStart);
      for (let h = 0; h < Hq; h++) {
        const hk = h / group;
        const row = (b * Tq + i) * Hq + h;
        const kb = k + ((<usize>b * Tk * Hkv + hk) * D << 2);
        const vb = v + ((<usize>b * Tk * Hkv + hk) * Dv << 2);
        const m = scores(q + (<usize>row * D << 2), kb, kStride, D, j0, j1, scale, s);
        const sum = expInPlace(s, j0, j1, m);
        store<f32>(lse + (<usize>row << 2), m + <f32>Math.log(<f64>sum));
        const o = out + (<usize>row * Dv << 2);
        zero(o, Dv);
        const inv: f32 = 1 / sum;
        for (let j = j0; j <= j1; j++) axpy(o, load<f32>(s + (<usize>j << 2)) * inv, vb + <usize>j * vStride, Dv);
      }
    }
  }
}

/**
 * p_ij = exp(scale·q_i·k_j − lse_i); D_i = dO_i·O_i;
 * dv_j = Σ_i p_ij dO_i; ds_ij = p_ij (dO_i·v_j − D_i);
 * dq_i = scale Σ_j ds_ij k_j; dk_j = scale Σ_i ds_ij q_i.
 * dk and dv are sums over queries (and over a group's heads), added in a fixed order.
 */
export function attentionBackward(
  q: usize, k: usize, v: usize, out: usize, lse: usize, dout: usize,
  B: i32, Tq: i32, Hq: i32, D: i32, Tk: i32, Hkv: i32, Dv: i32, kvLen: i32, causal: bool, scale: f32, keyStart: usize,
  dq: usize, dk: usize, dv: usize, s: usize,
): void {
  const group = Hq / Hkv;
  const kStride = <usize>Hkv * D << 2;
  const vStride = <usize>Hkv * Dv << 2;
  zero(dk, B * Tk * Hkv * D);
  zero(dv, B * Tk * Hkv * Dv);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const j1 = lastKey(i, Tq, kvLen, causal);
      const j0 = firstKey(b, j1, keyStart);
      for (let h = 0; h < Hq; h++) {
        const hk = h / group;
        const row = (b * Tq + i) * Hq + h;
        const kvOff = (<usize>b * Tk * Hkv + hk);
        const kb = k + (kvOff * D << 2), dkb = dk + (kvOff * D << 2);
        const vb = v + (kvOff * Dv << 2), dvb = dv + (kvOff * Dv << 2);
        const qi = q + (<usize>row * D << 2);
        const dqi = dq + (<usize>row * D << 2);
        const doi = dout + (<usize>row * Dv << 2);
        const Di = dot(doi, out + (<usize>row * Dv << 2), Dv);
        scores(qi, kb, kStride, D, j0, j1, scale, s);
        expInPlace(s, j0, j1, load<f32>(lse + (<usize>row << 2))); // s[j] = p_ij
        zero(dqi, D);
        for (let j = j0; j <= j1; j++) {
          const p = load<f32>(s + (<usize>j << 2));
          const vj = vb + <usize>j * vStride;
          const ds = p * (dot(doi, vj, Dv) - Di) * scale;
          axpy(dvb + <usize>j * vStride, p, doi, Dv);
          axpy(dqi, ds, kb + <usize>j * kStride, D);
          axpy(dkb + <usize>j * kStride, ds, qi, D);
        }
      }
    }
  }
}
