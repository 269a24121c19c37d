// Batched matrix product C = op(A) · op(B), register-blocked, with no workgroup
// memory and no barriers.
//
// Each thread computes a 4×4 block of C straight from global memory: per step of
// K it loads 4 values of A and 4 of B and does 16 multiply-adds, so every load is
// used 4 times. On software adapters (SwiftShader) a workgroup barrier is costly and
// "global memory" is the CPU's cache anyway, so this beats the tiled kernel there.
//
// Edges: a thread whose block sticks out of C clamps its row/column indices to the
// last valid one, so every load stays in bounds without a branch in the inner loop;
// the duplicated results are simply not written.
//
// Layouts as in matmul_tiled.wgsl.

override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  strideA: u32,
  strideB: u32,
  batch0: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let batch = gid.z + p.batch0;

  // A[i, k] = A[aRow(i) + k·aStep]; B[k, j] = B[bCol(j) + k·bStep].
  var aStep = 1u;
  var aRowScale = p.K;
  if (TRANS_A) { aStep = p.M; aRowScale = 1u; }
  var bStep = p.N;
  var bColScale = 1u;
  if (TRANS_B) { bStep = 1u; bColScale = p.K; }

  let aBase = batch * p.strideA;
  let bBase = batch * p.strideB;
  let a0 = aBase + min(row0, p.M - 1u) * aRowScale;
  let a1 = aBase + min(row0 + 1u, p.M - 1u) * aRowScale;
  let a2 = aBase + min(row0 + 2u, p.M - 1u) * aRowScale;
  let a3 = aBase + min(row0 + 3u, p.M - 1u) * aRowScale;
  let b0 = bBase + min(col0, p.N - 1u) * bColScale;
  let b1 = bBase + min(col0 + 1u, p.N - 1u) * bColScale;
  let b2 = bBase + min(col0 + 2u, p.N - 1u) * bColScale;
  let b3 = bBase + min(col0 + 3u, p.N - 1u) * bColScale;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var ka = 0u;
  var kb = 0u;
  for (var k = 0u; k < p.K; k++) {
    let b = vec4<f32>(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
    acc0 += A[a0 + ka] * b;
    acc1 += A[a1 + ka] * b;
    acc2 += A[a2 + ka] * b;
    acc3 += A[a3 + ka] * b;
    ka += aStep;
    kb += bStep;
  }

  let cBase = batch * p.M * p.N;
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + r;
    if (i >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = col0 + c;
      if (j < p.N) { C[cBase + i * p.N + j] = acc[r][c]; }
    }
  }
}
