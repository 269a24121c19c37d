// Indexing kernels: row gather/scatter (embeddings), last-axis gather/scatter
// (MoE routing weights), and top-k. Index ranges are validated here: the CPU
// backend is the reference, and an out-of-range id should fail loudly with the
// position of the bad index rather than read garbage.

import type { FloatArray } from "../../tensor/backend.js";

export function checkIndexRange(op: string, idx: Int32Array, limit: number, what: string): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= limit) {
      throw new RangeError(`${op}: index ${v} at flat position ${i} is out of range for ${what} (valid: 0..${limit - 1})`);
    }
  }
}

/** out[n, :] = table[idx[n], :] */
export function gatherRowsKernel(table: FloatArray, idx: Int32Array, D: number, out: FloatArray): void {
  for (let n = 0; n < idx.length; n++) {
    const src = idx[n]! * D;
    const dst = n * D;
    for (let d = 0; d < D; d++) out[dst + d] = table[src + d]!;
  }
}

/** out[idx[n], :] += src[n, :], in order of n (deterministic) */
export function scatterAddRowsKernel(src: FloatArray, idx: Int32Array, D: number, rows: number, out: FloatArray): void {
  const acc = new Float64Array(rows * D);
  for (let n = 0; n < idx.length; n++) {
    const dst = idx[n]! * D;
    const s = n * D;
    for (let d = 0; d < D; d++) acc[dst + d] += src[s + d]!;
  }
  for (let i = 0; i < acc.length; i++) out[i] = acc[i]!;
}

/** x [R, E], idx [R, k] → out [R, k] */
export function gatherLastKernel(x: FloatArray, idx: Int32Array, R: number, E: number, k: number, out: FloatArray): void {
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < k; j++) out[r * k + j] = x[r * E + idx[r * k + j]!]!;
  }
}

/** src [R, k] added into a zero [R, E] at idx */
export function scatterAddLastKernel(src: FloatArray, idx: Int32Array, R: number, E: number, k: number, out: FloatArray): void {
  const acc = new Float64Array(R * E);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < k; j++) acc[r * E + idx[r * k + j]!] += src[r * k + j]!;
  }
  for (let i = 0; i < acc.length; i++) out[i] = acc[i]!;
}

/**
 * The k largest of each row of x [R, E], descending; ties go to the lower index.
 * NaN never wins against a number (it sorts after every number, then by index).
 */
export function topkKernel(x: FloatArray, R: number, E: number, k: number, values: FloatArray, indices: Int32Array): void {
  // `a` beats `b` (values va, vb at indices ia < ib or not): larger value, else lower index
  if (k <= 16) {
    const taken = new Uint8Array(E);
    for (let r = 0; r < R; r++) {
      const base = r * E;
      taken.fill(0);
      for (let j = 0; j < k; j++) {
        let best = -1;
        let bv = 0;
        for (let e = 0; e < E; e++) {
          if (taken[e]) continue;
          const v = x[base + e]!;
          // scanning in increasing e, a strict ">" keeps the lower index on ties
          if (best < 0 || v > bv || (bv !== bv && v === v)) {
            best = e;
            bv = v;
          }
        }
        taken[best] = 1;
        values[r * k + j] = bv;
        indices[r * k + j] = best;
      }
    }
    return;
  }
  const order = new Array<number>(E);
  for (let r = 0; r < R; r++) {
    const base = r * E;
    for (let e = 0; e < E; e++) order[e] = e;
    order.sort((i, j) => {
      const vi = x[base + i]!;
      const vj = x[base + j]!;
      const ni = vi !== vi;
      const nj = vj !== vj;
      if (ni !== nj) return ni ? 1 : -1;
      if (!ni && vi !== vj) return vi > vj ? -1 : 1;
      return i - j;
    });
    for (let j = 0; j < k; j++) {
      values[r * k + j] = x[base + order[j]!]!;
      indices[r * k + j] = order[j]!;
    }
  }
}
