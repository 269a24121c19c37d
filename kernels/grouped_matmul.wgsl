// Sparse MoE dispatch, step 2: the experts' matrix products over rows sorted by
// expert (moe_sort.wgsl). Row p belongs to the expert e with offsets[e] ≤ p <
// offsets[e + 1].
//   binding 0: a  f32   main: x [R, K];   grad_w: dy [R, A]
//   binding 1: b  f32   main: w [E, A, B]; grad_w: x [R, B]
//   binding 2: offsets i32 [E + 1]
//   binding 3: out f32  main: y [R, N];   grad_w: dw [E, A, B]
// Like matmul_blocked.wgsl, each thread computes a 4×4 block of the output from
// global memory, with no workgroup memory and no barriers (barriers are what make
// tiled kernels slow on software adapters such as SwiftShader; a version staging
// 16×16 tiles in workgroup memory ran about 10× slower there than one output per
// thread). A workgroup of 8×8 threads covers 32×32 outputs.
//  - main: a thread's 4 rows usually belong to one expert; then its 4 columns of
//    that expert's matrix are read once per inner index for all 4 rows. Where an
//    expert's block ends inside the 4 rows, each row reads its own expert's matrix.
//    An expert with no rows is never read.
//  - grad_w: a 4×4 block of one expert's matrix, summed over that expert's rows.
// Sums run in order of the inner index, as on the CPU twin, so the two agree to
// float32 rounding (not bit for bit: the CPU sums in float64).

struct Params {
  R: u32,
  E: u32,
  K: u32, // main: inner size; grad_w: A
  N: u32, // main: output columns; grad_w: B
  transB: u32, // main: 1 = y[p] = x[p]·w[e]ᵀ (w [E, N, K]); 0 = y[p] = x[p]·w[e] (w [E, K, N])
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

/** the expert whose block holds sorted row `row` (a walk over the offsets; E is small) */
fn expertOf(row: u32) -> u32 {
  var e = 0u;
  while (e + 1u < p.E && u32(offsets[e + 1u]) <= row) { e++; }
  return e;
}

/** element (k, n) of expert e's matrix, seen as [K, N] (zero outside) */
fn weight(e: u32, k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  if (p.transB == 1u) { return b[(e * p.N + n) * p.K + k]; }
  return b[(e * p.K + k) * p.N + n];
}

// y[row, n] = Σ_k x[row, k] · w[e(row)] as [K, N] at (k, n).
// Workgroup (x, y), thread (tx, ty): rows 32y + 4ty .. +3, columns 32x + 4tx .. +3.
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wg.y * 32u + lid.y * 4u;
  let col0 = wg.x * 32u + lid.x * 4u;
  if (row0 >= p.R || col0 >= p.N) { return; }
  var ex: array<u32, 4>;
  var rows = 0u; // rows of the 4 that exist
  for (var r = 0u; r < 4u; r++) {
    if (row0 + r < p.R) { ex[r] = expertOf(row0 + r); rows = r + 1u; }
  }
  var acc: array<vec4<f32>, 4>;
  if (ex[rows - 1u] == ex[0]) {
    // one expert for every row: each weight read serves all 4 rows
    let e = ex[0];
    for (var k = 0u; k < p.K; k++) {
      let wv = vec4<f32>(weight(e, k, col0), weight(e, k, col0 + 1u), weight(e, k, col0 + 2u), weight(e, k, col0 + 3u));
      for (var r = 0u; r < rows; r++) { acc[r] += a[(row0 + r) * p.K + k] * wv; }
    }
  } else {
    for (var r = 0u; r < rows; r++) {
      let e = ex[r];
      for (var k = 0u; k < p.K; k++) {
        let wv = vec4<f32>(weight(e, k, col0), weight(e, k, col0 + 1u), weight(e, k, col0 + 2u), weight(e, k, col0 + 3u));
        acc[r] += a[(row0 + r) * p.K + k] * wv;
      }
    }
  }
  for (var r = 0u; r < rows; r++) {
    for (var c = 0u; c < 4u; c++) {
      if (col0 + c < p.N) { out[(row0 + r) * p.N + col0 + c] = acc[r][c]; }
    }
  }
}

// dw[e, i, j] = Σ over expert e's rows of dy[row, i] · x[row, j]; here K = A, N = B.
// Workgroup (x, y, z), thread (tx, ty): expert z, i = 32y + 4ty .. +3, j = 32x + 4tx .. +3.
@compute @workgroup_size(8, 8)
fn grad_w(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let e = wg.z;
  let i0 = wg.y * 32u + lid.y * 4u;
  let j0 = wg.x * 32u + lid.x * 4u;
  if (i0 >= p.K || j0 >= p.N) { return; }
  var acc: array<vec4<f32>, 4>;
  for (var row = u32(offsets[e]); row < u32(offsets[e + 1u]); row++) {
    var xv = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) { if (j0 + c < p.N) { xv[c] = b[row * p.N + j0 + c]; } }
    for (var r = 0u; r < 4u; r++) {
      if (i0 + r < p.K) { acc[r] += a[row * p.K + i0 + r] * xv; }
    }
  }
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      if (i0 + r < p.K && j0 + c < p.N) { out[(e * p.K + i0 + r) * p.N + j0 + c] = acc[r][c]; }
    }
  }
}
