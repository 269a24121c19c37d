// One strided copy serves permute, slice, concat and writeSlice:
//   for every index i of `shape` (row-major):
//     dst[dstBase + Σ c_k·dstStride_k] = src[srcBase + Σ c_k·srcStride_k]
// where c is i's coordinate vector. Elements are moved as raw 32-bit words, so
// f32 and i32 tensors take the same path.

const WG: u32 = 256u;

// Axis k lives at [k / 4][k % 4]: uniform arrays need 16-byte elements.
struct CopyParams {
  n: u32,        // elements to copy (product of shape)
  rank: u32,
  srcBase: u32,
  dstBase: u32,
  shape: array<vec4<u32>, 2>,
  srcStride: array<vec4<u32>, 2>,
  dstStride: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> p: CopyParams;

@compute @workgroup_size(WG)
fn strided_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var rem = i;
  var s = p.srcBase;
  var d = p.dstBase;
  for (var k = p.rank; k > 0u; k--) {
    let ax = k - 1u;
    let size = p.shape[ax / 4u][ax % 4u];
    let c = rem % size;
    rem = rem / size;
    s += c * p.srcStride[ax / 4u][ax % 4u];
    d += c * p.dstStride[ax / 4u][ax % 4u];
  }
  dst[d] = src[s];
}
