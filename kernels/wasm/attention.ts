// Scaled dot-product attention, forward and backward, with grouped-query heads,
// causal masking, a KV-cache length (kvLen) and left padding (keyStart), as in the
// reference (src/cpu/reference/attention.ts). Layouts: q [B, Tq, Hq, D],
// k [B, Tk, Hkv, D], v [B, Tk, Hkv, Dv]; the query heads of a group share one
// key/value head. Dot products and row updates are SIMD over the head size.

import { axpy, dot, exp4, expf1, hmax, hsum, zero } from "./simd";

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

/** [x·a, x·b, x·c, x·d] for four lane-wise partial sums: a 4×4 transpose, then adds */
// @ts-ignore: decorator
@inline function sum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * s[j] = scale·(x·y_j) for j0 ≤ j ≤ j1, where row y_j starts j·stride bytes into y;
 * returns the largest. When n is a multiple of 4, four rows are done at once (x is
 * loaded once for all four); blocks start at j0, so a left-padded sequence gets the
 * same blocks, and the same bits, as it would alone.
 */
function rowDots(x: usize, y: usize, stride: usize, n: i32, j0: i32, j1: i32, scale: f32, s: usize): f32 {
  let mv = f32x4.splat(-Infinity);
  let j = j0;
  if ((n & 3) == 0) {
    const sv = f32x4.splat(scale);
    for (; j + 3 <= j1; j += 4) {
      const y0 = y + <usize>j * stride, y1 = y0 + stride, y2 = y1 + stride, y3 = y2 + stride;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let d = 0; d < n; d += 4) {
        const o = <usize>d << 2;
        const xv = v128.load(x + o);
        a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(y0 + o)));
        a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(y1 + o)));
        a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(y2 + o)));
        a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(y3 + o)));
      }
      const sc = f32x4.mul(sv, sum4(a0, a1, a2, a3));
      v128.store(s + (<usize>j << 2), sc);
      mv = f32x4.max(mv, sc);
    }
  }
  let m = hmax(mv);
  for (; j <= j1; j++) {
    const sc = scale * dot(x, y + <usize>j * stride, n);
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
        const m = rowDots(q + (<usize>row * D << 2), kb, kStride, D, j0, j1, scale, s);
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
  dq: usize, dk: usize, dv: usize, s: usize, s2: usize,
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
        rowDots(qi, kb, kStride, D, j0, j1, scale, s);
        expInPlace(s, j0, j1, load<f32>(lse + (<usize>row << 2))); // s[j] = p_ij
        rowDots(doi, vb, vStride, Dv, j0, j1, 1, s2); // s2[j] = dO_i·v_j
        zero(dqi, D);
        for (let j = j0; j <= j1; j++) {
          const p = load<f32>(s + (<usize>j << 2));
          const ds = p * (load<f32>(s2 + (<usize>j << 2)) - Di) * scale;
          axpy(dvb + <usize>j * vStride, p, doi, Dv);
          axpy(dqi, ds, kb + <usize>j * kStride, D);
          axpy(dkb + <usize>j * kStride, ds, qi, D);
        }
      }
    }
  }
}

/**
 * Rotary embedding on x [B, T, H, D], half-split pairs (x[i], x[i + D/2]), rotated by
 * the angle whose cosine and sine the host tabulated: cs = [T][cos of D/2 angles,
 * sin of D/2 angles] (the host negates the sines for the inverse rotation).
 */
export function rope(x: usize, B: i32, T: i32, H: i32, D: i32, cs: usize, out: usize): void {
  const half = D >> 1;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const cosT = cs + (<usize>t * D << 2);
      const sinT = cosT + (<usize>half << 2);
      for (let h = 0; h < H; h++) {
        const base = <usize>((b * T + t) * H + h) * D << 2;
        const x1 = x + base, x2 = x1 + (<usize>half << 2);
        const o1 = out + base, o2 = o1 + (<usize>half << 2);
        let i = 0;
        for (; i + 4 <= half; i += 4) {
          const o = <usize>i << 2;
          const a = v128.load(x1 + o), c = v128.load(x2 + o);
          const cv = v128.load(cosT + o), sv = v128.load(sinT + o);
          v128.store(o1 + o, f32x4.sub(f32x4.mul(a, cv), f32x4.mul(c, sv)));
          v128.store(o2 + o, f32x4.add(f32x4.mul(a, sv), f32x4.mul(c, cv)));
        }
        for (; i < half; i++) {
          const o = <usize>i << 2;
          const a = load<f32>(x1 + o), c = load<f32>(x2 + o);
          const cv = load<f32>(cosT + o), sv = load<f32>(sinT + o);
          store<f32>(o1 + o, a * cv - c * sv);
          store<f32>(o2 + o, a * sv + c * cv);
        }
      }
    }
  }
}
