// The "blocked" matmul (see matmul_blocked.wgsl) for operands whose rows line up
// on 4 floats, reading 16-byte vec4s instead of single floats: a thread's 4×4 block
// of C advances 4 steps of K per iteration with 8 vec4 loads (32 floats) feeding 64
// multiply-adds. Fewer, wider loads mean fewer address computations and bounds
// checks, which is what a software adapter spends its time on.
//
// Used only when every vec4 lies inside one row: K % 4 = 0, and also M % 4 = 0 when
// A is transposed ([K, M]) and N % 4 = 0 when B is not ([K, N]). matmul.ts checks.
// Rows/columns beyond M or N are clamped as in matmul_blocked.wgsl.

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

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let batch = gid.z + p.batch0;
  // sizes and offsets in vec4s
  let K4 = p.K / 4u;
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  let aBase = batch * (p.strideA / 4u);
  let bBase = batch * (p.strideB / 4u);

  // Four vec4 cursors per operand, each stepping through K:
  //   A [M, K]: rows row0..row0+3, each vec4 = 4 steps of k      (step 1)
  //   A [K, M]: k, k+1, k+2, k+3,  each vec4 = rows row0..row0+3 (step 4 rows of K)
  //   B [K, N]: k..k+3,            each vec4 = cols col0..col0+3 (step 4 rows of N)
  //   B [N, K]: cols col0..col0+3, each vec4 = 4 steps of k      (step 1)
  // (Named variables, not arrays: a software compiler keeps them in registers.)
  var ia0: u32;
  var ia1: u32;
  var ia2: u32;
  var ia3: u32;
  var aStep: u32;
  if (TRANS_A) {
    ia0 = aBase + row0 / 4u;
    ia1 = ia0 + M4;
    ia2 = ia1 + M4;
    ia3 = ia2 + M4;
    aStep = 4u * M4;
  } else {
    ia0 = aBase + row0 * K4;
    ia1 = aBase + min(row0 + 1u, p.M - 1u) * K4;
    ia2 = aBase + min(row0 + 2u, p.M - 1u) * K4;
    ia3 = aBase + min(row0 + 3u, p.M - 1u) * K4;
    aStep = 1u;
  }
  var ib0: u32;
  var ib1: u32;
  var ib2: u32;
  var ib3: u32;
  var bStep: u32;
  if (TRANS_B) {
    ib0 = bBase + col0 * K4;
    ib1 = bBase + min(col0 + 1u, p.N - 1u) * K4;
    ib2 = bBase + min(col0 + 2u, p.N - 1u) * K4;
    ib3 = bBase + min(col0 + 3u, p.N - 1u) * K4;
    bStep = 1u;
  } else {
    ib0 = bBase + col0 / 4u;
    ib1 = ib0 + N4;
    ib2 = ib1 + N4;
    ib3 = ib2 + N4;
    bStep = 4u * N4;
  }

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var kk = 0u; kk < K4; kk++) {
    let a0 = A[ia0];
    let a1 = A[ia1];
    let a2 = A[ia2];
    let a3 = A[ia3];
    let b0 = B[ib0];
    let b1 = B[ib1];
    let b2 = B[ib2];
    let b3 = B[ib3];
    ia0 += aStep;
    ia1 += aStep;
    ia2 += aStep;
    ia3 += aStep;
    ib0 += bStep;
    ib1 += bStep;
    ib2 += bStep;
    ib3 += bStep;
    // x_r = row r of the 4×4 block of A (over k..k+3); y_t = row t of the block of B
    // (over the 4 columns). A transposed operand arrives the other way round.
    var x0 = a0;
    var x1 = a1;
    var x2 = a2;
    var x3 = a3;
    if (TRANS_A) {
      x0 = vec4<f32>(a0.x, a1.x, a2.x, a3.x);
      x1 = vec4<f32>(a0.y, a1.y, a2.y, a3.y);
      x2 = vec4<f32>(a0.z, a1.z, a2.z, a3.z);
      x3 = vec4<f32>(a0.w, a1.w, a2.w, a3.w);
    }
    var y0 = b0;
    var y1 = b1;
    var y2 = b2;
    var y3 = b3;
    if (TRANS_B) {
      y0 = vec4<f32>(b0.x, b1.x, b2.x, b3.x);
      y1 = vec4<f32>(b0.y, b1.y, b2.y, b3.y);
      y2 = vec4<f32>(b0.z, b1.z, b2.z, b3.z);
      y3 = vec4<f32>(b0.w, b1.w, b2.w, b3.w);
    }
    acc0 += x0.x * y0 + x0.y * y1 + x0.z * y2 + x0.w * y3;
    acc1 += x1.x * y0 + x1.y * y1 + x1.z * y2 + x1.w * y3;
    acc2 += x2.x * y0 + x2.y * y1 + x2.z * y2 + x2.w * y3;
    acc3 += x3.x * y0 + x3.y * y1 + x3.z * y2 + x3.w * y3;
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
