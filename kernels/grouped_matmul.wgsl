// Sparse MoE dispatch, step 2: the experts' matrix products over rows sorted by
// expert (moe_sort.wgsl). Row p belongs to the expert e with offsets[e] ≤ p <
// offsets[e + 1]; a thread finds e by walking the offsets (E is small), so a block
// of rows may span experts and an expert with no rows costs nothing.
//   binding 0: a  f32   main: x [R, K];   grad_w: dy [R, A]
//   binding 1: b  f32   main: w [E, A, B]; grad_w: x [R, B]
//   binding 2: offsets i32 [E + 1]
//   binding 3: out f32  main: y [R, N];   grad_w: dw [E, A, B]
// One thread per output element, sums in order of the inner index (as the CPU twin's
// order is fixed too, the results agree to float32 rounding, not bit for bit).

struct Params {
  count: u32, // output elements
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

fn threadId(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 64u + li;
}

// y[row, n] = Σ_k x[row, k] · w[e, n, k] (transB) or x[row, k] · w[e, k, n]
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let id = threadId(wg, nwg, li);
  if (id >= p.count) { return; }
  let row = id / p.N;
  let n = id % p.N;
  var e = 0u;
  while (e + 1u < p.E && u32(offsets[e + 1u]) <= row) { e++; }
  let wBase = e * p.N * p.K;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var wv: f32;
    if (p.transB == 1u) { wv = b[wBase + n * p.K + k]; } else { wv = b[wBase + k * p.N + n]; }
    acc += a[row * p.K + k] * wv;
  }
  out[id] = acc;
}

// dw[e, i, j] = Σ over expert e's rows of dy[row, i] · x[row, j]; K = A, N = B here
@compute @workgroup_size(64)
fn grad_w(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let id = threadId(wg, nwg, li);
  if (id >= p.count) { return; }
  let e = id / (p.K * p.N);
  let i = (id / p.N) % p.K;
  let j = id % p.N;
  var acc = 0.0;
  for (var row = u32(offsets[e]); row < u32(offsets[e + 1u]); row++) {
    acc += a[row * p.K + i] * b[row * p.N + j];
  }
  out[id] = acc;
}
