// Cache-blocked matrix multiply on typed arrays.
//
// C[M, N] = op(A) · op(B) with A: [M, K] (or [K, M] with transA) and
// B: [K, N] (or [N, K] with transB).
//
// Both operands are first packed into float64 scratch buffers in "dot-product"
// layout: A as rows [M, K] and B as columns Bᵀ [N, K] (one copy each, which is
// also where any transpose happens; a B shared across the batch is packed once).
// The kernel then computes 2×4 blocks of C at a time, eight running sums held in
// locals while walking K contiguously in both packed buffers, with the columns of
// C processed in blocks whose Bᵀ panel (JB·K·8 bytes ≈ 256 KiB) stays in L2.
// Monomorphic Float64Array reads and register blocking measured ~3.5 GFLOP/s on
// a 512³ product in Node 20, against ~0.9 GFLOP/s for a blocked i-k-j loop over
// the raw (Float32Array | Float64Array) inputs. Sums accumulate in float64 and
// are rounded once when stored.

import type { FloatArray } from "../../tensor/backend.js";

let packA: Float64Array = new Float64Array(0);
let packB: Float64Array = new Float64Array(0);

function grow(buf: Float64Array, n: number): Float64Array {
  return buf.length >= n ? buf : new Float64Array(Math.max(n, buf.length * 2));
}

/** pack op(A) as [M, K] rows */
function packRows(a: FloatArray, off: number, M: number, K: number, trans: boolean): Float64Array {
  packA = grow(packA, M * K);
  const p = packA;
  if (!trans) {
    for (let t = 0; t < M * K; t++) p[t] = a[off + t]!;
  } else {
    // a is [K, M]
    for (let k = 0; k < K; k++) {
      const src = off + k * M;
      for (let i = 0; i < M; i++) p[i * K + k] = a[src + i]!;
    }
  }
  return p;
}

/** pack op(B) as columns: Bᵀ [N, K] */
function packCols(b: FloatArray, off: number, K: number, N: number, trans: boolean): Float64Array {
  packB = grow(packB, N * K);
  const p = packB;
  if (trans) {
    // b is already [N, K]
    for (let t = 0; t < N * K; t++) p[t] = b[off + t]!;
  } else {
    for (let k = 0; k < K; k++) {
      const src = off + k * N;
      for (let j = 0; j < N; j++) p[j * K + k] = b[src + j]!;
    }
  }
  return p;
}

/** C[i, j] = ap[i, :] · bt[j, :], written into c at cOff */
function dotKernel(ap: Float64Array, bt: Float64Array, c: FloatArray, cOff: number, M: number, N: number, K: number): void {
  const JB = Math.max(4, Math.floor(32768 / Math.max(1, K)) & ~3);
  for (let j0 = 0; j0 < N; j0 += JB) {
    const j1 = Math.min(N, j0 + JB);
    let i = 0;
    for (; i + 1 < M; i += 2) {
      const a0 = i * K;
      const a1 = a0 + K;
      const c0 = cOff + i * N;
      const c1 = c0 + N;
      let j = j0;
      for (; j + 3 < j1; j += 4) {
        const b0 = j * K;
        const b1 = b0 + K;
        const b2 = b1 + K;
        const b3 = b2 + K;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        for (let k = 0; k < K; k++) {
          const x0 = ap[a0 + k]!;
          const x1 = ap[a1 + k]!;
          const y0 = bt[b0 + k]!;
          const y1 = bt[b1 + k]!;
          const y2 = bt[b2 + k]!;
          const y3 = bt[b3 + k]!;
          s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
          s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        }
        c[c0 + j] = s00; c[c0 + j + 1] = s01; c[c0 + j + 2] = s02; c[c0 + j + 3] = s03;
        c[c1 + j] = s10; c[c1 + j + 1] = s11; c[c1 + j + 2] = s12; c[c1 + j + 3] = s13;
      }
      for (; j < j1; j++) {
        const b0 = j * K;
        let s0 = 0, s1 = 0;
        for (let k = 0; k < K; k++) {
          const y = bt[b0 + k]!;
          s0 += ap[a0 + k]! * y;
          s1 += ap[a1 + k]! * y;
        }
        c[c0 + j] = s0;
        c[c1 + j] = s1;
      }
    }
    if (i < M) {
      // the last row when M is odd
      const a0 = i * K;
      const c0 = cOff + i * N;
      let j = j0;
      for (; j + 3 < j1; j += 4) {
        const b0 = j * K;
        const b1 = b0 + K;
        const b2 = b1 + K;
        const b3 = b2 + K;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = 0; k < K; k++) {
          const x = ap[a0 + k]!;
          s0 += x * bt[b0 + k]!; s1 += x * bt[b1 + k]!; s2 += x * bt[b2 + k]!; s3 += x * bt[b3 + k]!;
        }
        c[c0 + j] = s0; c[c0 + j + 1] = s1; c[c0 + j + 2] = s2; c[c0 + j + 3] = s3;
      }
      for (; j < j1; j++) {
        const b0 = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += ap[a0 + k]! * bt[b0 + k]!;
        c[c0 + j] = s;
      }
    }
  }
}

/**
 * Batched product: for p < batch, C_p = op(A_p) · op(B_p), where A_p starts at
 * p·M·K unless aShared (likewise B). c receives [batch, M, N].
 */
export function batchedGemm(
  a: FloatArray, b: FloatArray, c: FloatArray, batch: number, M: number, N: number, K: number,
  transA: boolean, transB: boolean, aShared: boolean, bShared: boolean,
): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    c.fill(0);
    return;
  }
  let bt: Float64Array | null = null;
  for (let p = 0; p < batch; p++) {
    if (!bt || !bShared) bt = packCols(b, bShared ? 0 : p * K * N, K, N, transB);
    const ap = packRows(a, aShared ? 0 : p * M * K, M, K, transA);
    dotKernel(ap, bt, c, p * M * N, M, N, K);
  }
}
