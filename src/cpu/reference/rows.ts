// Row ops over the last axis: softmax, log-softmax, fused cross-entropy, RMSNorm,
// and their backward rules. Row sums accumulate in float64.

import type { FloatArray } from "../../tensor/backend.js";

export function softmaxKernel(x: FloatArray, rows: number, n: number, out: FloatArray, log: boolean): void {
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let m = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[base + i]!;
      if (v > m) m = v;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[base + i]! - m);
    if (log) {
      const lse = m + Math.log(s);
      for (let i = 0; i < n; i++) out[base + i] = x[base + i]! - lse;
    } else {
      const inv = 1 / s;
      for (let i = 0; i < n; i++) out[base + i] = Math.exp(x[base + i]! - m) * inv;
    }
  }
}

/** softmax: dx = y ⊙ (dy − Σ dy⊙y); log-softmax: dx = dy − exp(y)·Σ dy */
export function softmaxBackwardKernel(
  y: FloatArray, dy: FloatArray, rows: number, n: number, out: FloatArray, log: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let s = 0;
    if (log) {
      for (let i = 0; i < n; i++) s += dy[base + i]!;
      for (let i = 0; i < n; i++) out[base + i] = dy[base + i]! - Math.exp(y[base + i]!) * s;
    } else {
      for (let i = 0; i < n; i++) s += dy[base + i]! * y[base + i]!;
      for (let i = 0; i < n; i++) out[base + i] = y[base + i]! * (dy[base + i]! - s);
    }
  }
}

/** loss[n] = mask[n]·(lse[n] − logits[n, t_n]); targets are checked by the caller */
export function crossEntropyKernel(
  logits: FloatArray, targets: Int32Array, mask: FloatArray | null, rows: number, V: number,
  loss: FloatArray, lse: FloatArray,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * V;
    let m = -Infinity;
    for (let i = 0; i < V; i++) {
      const v = logits[base + i]!;
      if (v > m) m = v;
    }
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(logits[base + i]! - m);
    const l = m + Math.log(s);
    lse[r] = l;
    const w = mask ? mask[r]! : 1;
    loss[r] = w * (l - logits[base + targets[r]!]!);
  }
}

/** dlogits[n, v] = dloss[n]·mask[n]·(exp(logits[n, v] − lse[n]) − [v = t_n]) */
export function crossEntropyBackwardKernel(
  logits: FloatArray, targets: Int32Array, mask: FloatArray | null, lse: FloatArray, dloss: FloatArray,
  rows: number, V: number, out: FloatArray,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * V;
    const g = dloss[r]! * (mask ? mask[r]! : 1);
    const l = lse[r]!;
    for (let i = 0; i < V; i++) out[base + i] = g * Math.exp(logits[base + i]! - l);
    out[base + targets[r]!] = g * (Math.exp(logits[base + targets[r]!]! - l) - 1);
  }
}

/** rstd[n] = 1/sqrt(mean_d x[n, d]² + eps); y = x·rstd·w */
export function rmsnormKernel(
  x: FloatArray, w: FloatArray, eps: number, rows: number, D: number, y: FloatArray, rstd: FloatArray,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * D;
    let s = 0;
    for (let d = 0; d < D; d++) {
      const v = x[base + d]!;
      s += v * v;
    }
    const rs = 1 / Math.sqrt(s / D + eps);
    rstd[r] = rs;
    for (let d = 0; d < D; d++) y[base + d] = x[base + d]! * rs * w[d]!;
  }
}

/**
 * dx = rstd·(w⊙dy) − x·rstd³·mean_d(x⊙w⊙dy)
 * dw = Σ_rows dy⊙x·rstd
 */
export function rmsnormBackwardKernel(
  x: FloatArray, w: FloatArray, rstd: FloatArray, dy: FloatArray, rows: number, D: number,
  dx: FloatArray, dw: FloatArray,
): void {
  const dwAcc = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    const base = r * D;
    const rs = rstd[r]!;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += x[base + d]! * w[d]! * dy[base + d]!;
    const c = rs * rs * rs * (dot / D);
    for (let d = 0; d < D; d++) {
      const xv = x[base + d]!;
      const g = dy[base + d]!;
      dx[base + d] = rs * w[d]! * g - xv * c;
      dwAcc[d] += g * xv * rs;
    }
  }
  for (let d = 0; d < D; d++) dw[d] = dwAcc[d]!;
}
