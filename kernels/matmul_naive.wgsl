// Batched matrix product C = op(A) · op(B), one output per thread: the textbook
// kernel, kept as the baseline the benchmark compares the other two against.
// Each product needs two loads, so memory traffic bounds it.
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

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.M || j >= p.N) { return; }
  let batch = gid.z + p.batch0;
  let aBase = batch * p.strideA;
  let bBase = batch * p.strideB;
  var sum = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var a: f32;
    var b: f32;
    if (TRANS_A) { a = A[aBase + k * p.M + i]; } else { a = A[aBase + i * p.K + k]; }
    if (TRANS_B) { b = B[bBase + j * p.K + k]; } else { b = B[bBase + k * p.N + j]; }
    sum += a * b;
  }
  C[batch * p.M * p.N + i * p.N + j] = sum;
}
