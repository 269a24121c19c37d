// Matrix multiply C = op(A)·op(B) with WebAssembly SIMD.
//
// The plan is the classic one (GotoBLAS, BLIS): copy A into panels of 4 rows and B
// into panels of 8 columns, each laid out so the inner loop reads both with
// consecutive loads; then a "micro-kernel" computes one 4×8 block of C with its 32
// running sums held in eight v128 registers, walking k from 0 to K-1. Packing is
// also where the transposes happen, so A·B, A·Bᵀ and Aᵀ·B share one kernel.
//
// Each C element is one float32 sum over k in increasing order, whatever the
// blocking: the result does not depend on how the work is split.

import { zero } from "./simd";

const MR = 4; // rows of a micro-tile
const NR = 8; // columns of a micro-tile (two v128)

/** floats of scratch a product needs: packed A, packed B, and one 4×8 spill tile */
export function gemmScratchFloats(M: i32, N: i32, K: i32): i32 {
  return ((M + MR - 1) / MR) * MR * K + ((N + NR - 1) / NR) * NR * K + MR * NR;
}

/** op(A) [M, K] → panels of MR rows: dst[(panel·K + k)·MR + r] (rows past M are 0) */
function packA(a: usize, M: i32, K: i32, transA: bool, dst: usize): void {
  const panels = (M + MR - 1) / MR;
  for (let ip = 0; ip < panels; ip++) {
    for (let r = 0; r < MR; r++) {
      const i = ip * MR + r;
      let out = dst + ((<usize>ip * K * MR + r) << 2);
      if (i >= M) {
        for (let k = 0; k < K; k++, out += MR << 2) store<f32>(out, 0);
      } else if (transA) { // a is [K, M]
        for (let k = 0; k < K; k++, out += MR << 2) store<f32>(out, load<f32>(a + ((<usize>k * M + i) << 2)));
      } else {
        const row = a + (<usize>i * K << 2);
        for (let k = 0; k < K; k++, out += MR << 2) store<f32>(out, load<f32>(row + (<usize>k << 2)));
      }
    }
  }
}

/** op(B) [K, N] → panels of NR columns: dst[(panel·K + k)·NR + c] (columns past N are 0) */
function packB(b: usize, K: i32, N: i32, transB: bool, dst: usize): void {
  const panels = (N + NR - 1) / NR;
  for (let jp = 0; jp < panels; jp++) {
    const j0 = jp * NR;
    const panel = dst + (<usize>jp * K * NR << 2);
    if (!transB && j0 + NR <= N) { // whole rows of 8: two vector copies per k
      for (let k = 0; k < K; k++) {
        const src = b + ((<usize>k * N + j0) << 2);
        const out = panel + (<usize>k * NR << 2);
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      const j = j0 + c;
      let out = panel + (<usize>c << 2);
      if (j >= N) {
        for (let k = 0; k < K; k++, out += NR << 2) store<f32>(out, 0);
      } else if (transB) { // b is [N, K]
        const row = b + (<usize>j * K << 2);
        for (let k = 0; k < K; k++, out += NR << 2) store<f32>(out, load<f32>(row + (<usize>k << 2)));
      } else {
        for (let k = 0; k < K; k++, out += NR << 2) store<f32>(out, load<f32>(b + ((<usize>k * N + j) << 2)));
      }
    }
  }
}

/**
 * One MR×NR tile: C[0..rows, 0..cols] = Σ_k ap[k, :] ⊗ bp[k, :]. A full tile is
 * stored straight into C (row stride ldc bytes); an edge tile goes through `spill`.
 */
function microKernel(ap: usize, bp: usize, K: i32, c: usize, ldc: usize, rows: i32, cols: i32, spill: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0)); c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0)); c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0)); c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0)); c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += MR << 2;
    bp += NR << 2;
  }
  const full = rows == MR && cols == NR;
  const out = full ? c : spill;
  const ld: usize = full ? ldc : NR << 2;
  v128.store(out, c00); v128.store(out, c01, 16);
  v128.store(out + ld, c10); v128.store(out + ld, c11, 16);
  v128.store(out + 2 * ld, c20); v128.store(out + 2 * ld, c21, 16);
  v128.store(out + 3 * ld, c30); v128.store(out + 3 * ld, c31, 16);
  if (full) return;
  for (let r = 0; r < rows; r++) {
    memory.copy(c + <usize>r * ldc, spill + (<usize>r * NR << 2), <usize>cols << 2);
  }
}

/** C [M, N] from packed panels; column panels outside, so one B panel stays in cache */
function gemmPacked(pa: usize, pb: usize, c: usize, M: i32, N: i32, K: i32, spill: usize): void {
  const ldc = <usize>N << 2;
  const rowPanels = (M + MR - 1) / MR;
  const colPanels = (N + NR - 1) / NR;
  for (let jp = 0; jp < colPanels; jp++) {
    const bPanel = pb + (<usize>jp * K * NR << 2);
    const cols = min(NR, N - jp * NR);
    for (let ip = 0; ip < rowPanels; ip++) {
      const rows = min(MR, M - ip * MR);
      const cTile = c + ((<usize>ip * MR * N + jp * NR) << 2);
      microKernel(pa + (<usize>ip * K * MR << 2), bPanel, K, cTile, ldc, rows, cols, spill);
    }
  }
}

/**
 * Batched product: for p < batch, C_p = op(A_p)·op(B_p), where A_p starts p·M·K
 * floats into a unless aShared (likewise B). `scratch` holds gemmScratchFloats(M, N, K).
 */
export function batchedGemm(
  a: usize, b: usize, c: usize, batch: i32, M: i32, N: i32, K: i32,
  transA: bool, transB: bool, aShared: bool, bShared: bool, scratch: usize,
): void {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    zero(c, batch * M * N);
    return;
  }
  const pa = scratch;
  const pb = pa + (<usize>((M + MR - 1) / MR) * MR * K << 2);
  const spill = pb + (<usize>((N + NR - 1) / NR) * NR * K << 2);
  for (let p = 0; p < batch; p++) {
    if (p == 0 || !bShared) packB(b + (bShared ? 0 : <usize>p * K * N << 2), K, N, transB, pb);
    if (p == 0 || !aShared) packA(a + (aShared ? 0 : <usize>p * M * K << 2), M, K, transA, pa);
    gemmPacked(pa, pb, c + (<usize>p * M * N << 2), M, N, K, spill);
  }
}
