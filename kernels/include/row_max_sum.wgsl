// Shared by softmax.wgsl and cross_entropy.wgsl (inlined by scripts/gen-kernels.mjs):
// the workgroup tree reduction of a row's running (max, Σexp) pair, the heart of a
// numerically stable softmax. The including file declares `override WG`.

// the most negative finite f32: a starting max that exp() turns into an exact 0
const LOWEST: f32 = -3.4028234663852886e38;

var<workgroup> scratchM: array<f32, 256>;
var<workgroup> scratchS: array<f32, 256>;

// (m1, s1) ⊕ (m2, s2): both sums rescaled to the larger max
fn mergeMaxSum(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

// Tree-combine every invocation's (max, sum) pair; all invocations get the result.
fn groupMaxSum(v: vec2<f32>, lid: u32) -> vec2<f32> {
  scratchM[lid] = v.x;
  scratchS[lid] = v.y;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      let r = mergeMaxSum(vec2<f32>(scratchM[lid], scratchS[lid]), vec2<f32>(scratchM[lid + s], scratchS[lid + s]));
      scratchM[lid] = r.x;
      scratchS[lid] = r.y;
    }
    workgroupBarrier();
  }
  let result = vec2<f32>(scratchM[0], scratchS[0]);
  workgroupBarrier(); // everyone has read the result before scratch is reused
  return result;
}
