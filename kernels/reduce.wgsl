// Reductions: sum / mean / max over a set of axes (reduce, sumTo), the global
// sum of squares of many tensors (gradient norm), and the clip coefficient.
//
// A reduction is described by two axis lists over x: the kept axes (they index
// the output, row-major) and the reduced axes (summed over). The host merges
// contiguous axes first, so most reductions have one of each.

override OP: u32 = 0u; // 0 sum (mean = sum · scale), 1 max

const WG: u32 = 256u;

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn isFinite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

fn combine(a: f32, b: f32) -> f32 {
  if (OP == 0u) { return a + b; }
  // max, with NaN winning like the CPU reference (WGSL's max leaves NaN undefined)
  if (isNan(a)) { return a; }
  if (isNan(b)) { return b; }
  return max(a, b);
}

// Tree reduction across the first `size` invocations of a workgroup (size a power
// of two ≤ 256). Every invocation gets the result. The last barrier makes sure all
// have read scratch[0] before anyone writes scratch again.
var<workgroup> scratch: array<f32, 256>;

fn groupCombine(v: f32, lid: u32, size: u32) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var s = size / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      scratch[lid] = combine(scratch[lid], scratch[lid + s]);
    }
    workgroupBarrier();
  }
  let result = scratch[0];
  workgroupBarrier();
  return result;
}

// ---- reduce / sumTo ---------------------------------------------------------------------
// Axis k of a list lives at [k / 4][k % 4] (uniform arrays need 16-byte elements).

struct ReduceParams {
  nOut: u32,     // output elements = product of kept sizes
  nRed: u32,     // elements combined into each output
  keptRank: u32,
  redRank: u32,  // ≥ 1
  scale: f32,    // 1, or 1/n for mean
  init: f32,     // 0 for sum, -inf for max (set by the host: WGSL constants cannot be infinite)
  _pad0: u32,
  _pad1: u32,
  keptShape: array<vec4<u32>, 2>,
  keptStride: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>,
  redStride: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> redX: array<f32>;
@group(0) @binding(1) var<storage, read_write> redOut: array<f32>;
@group(0) @binding(2) var<uniform> rp: ReduceParams;

// offset in x of the first element that output `o` combines
fn keptOffset(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  for (var k = rp.keptRank; k > 0u; k--) {
    let ax = k - 1u;
    let size = rp.keptShape[ax / 4u][ax % 4u];
    off += (rem % size) * rp.keptStride[ax / 4u][ax % 4u];
    rem = rem / size;
  }
  return off;
}

// offset of the r-th reduced element, counting only the first `rank` reduced axes
fn redOffset(r: u32, rank: u32) -> u32 {
  var rem = r;
  var off = 0u;
  for (var k = rank; k > 0u; k--) {
    let ax = k - 1u;
    let size = rp.redShape[ax / 4u][ax % 4u];
    off += (rem % size) * rp.redStride[ax / 4u][ax % 4u];
    rem = rem / size;
  }
  return off;
}

// One invocation per output: best when there are many outputs (each walks its
// own slice; neighbouring invocations read neighbouring addresses when the kept
// axis is innermost). The innermost reduced axis is a plain strided loop.
@compute @workgroup_size(WG)
fn reduce_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * WG;
  if (o >= rp.nOut) { return; }
  let base = keptOffset(o);
  let last = rp.redRank - 1u;
  let innerN = rp.redShape[last / 4u][last % 4u];
  let innerStride = rp.redStride[last / 4u][last % 4u];
  let outerN = rp.nRed / innerN;
  var acc = rp.init;
  for (var ro = 0u; ro < outerN; ro++) {
    let off = base + redOffset(ro, last);
    for (var j = 0u; j < innerN; j++) {
      acc = combine(acc, redX[off + j * innerStride]);
    }
  }
  redOut[o] = acc * rp.scale;
}

// One workgroup per output: best for few, long reductions. Invocations stride
// over the reduced elements, then combine in a tree.
const GROUP: u32 = 64u;

@compute @workgroup_size(GROUP)
fn reduce_group(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let o = wid.x + wid.y * nwg.x; // the same for the whole workgroup, so returning early is safe
  if (o >= rp.nOut) { return; }
  let base = keptOffset(o);
  var acc = rp.init;
  for (var r = lid; r < rp.nRed; r += GROUP) {
    acc = combine(acc, redX[base + redOffset(r, rp.redRank)]);
  }
  acc = groupCombine(acc, lid, GROUP);
  if (lid == 0u) {
    redOut[o] = acc * rp.scale;
  }
}

// ---- sum of squares of up to four tensors per dispatch ------------------------------------
// Each workgroup writes one partial sum to partials[offset + workgroup]; the host
// binds unused inputs to a tensor already bound and gives them length 0.
// (These entry points are created without constants, so OP = 0: combine is a sum.)

struct SquaresParams {
  n0: u32,
  n1: u32,
  n2: u32,
  n3: u32,
  offset: u32,
}

@group(0) @binding(0) var<storage, read> sq0: array<f32>;
@group(0) @binding(1) var<storage, read> sq1: array<f32>;
@group(0) @binding(2) var<storage, read> sq2: array<f32>;
@group(0) @binding(3) var<storage, read> sq3: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<uniform> sp: SquaresParams;

@compute @workgroup_size(WG)
fn sum_squares(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * WG;
  let start = wid.x * WG + lid;
  var s = 0.0;
  for (var i = start; i < sp.n0; i += stride) { let v = sq0[i]; s += v * v; }
  for (var i = start; i < sp.n1; i += stride) { let v = sq1[i]; s += v * v; }
  for (var i = start; i < sp.n2; i += stride) { let v = sq2[i]; s += v * v; }
  for (var i = start; i < sp.n3; i += stride) { let v = sq3[i]; s += v * v; }
  s = groupCombine(s, lid, WG);
  if (lid == 0u) {
    partials[sp.offset + wid.x] = s;
  }
}

struct PartialsParams {
  n: u32,
}

@group(0) @binding(0) var<storage, read> partIn: array<f32>;
@group(0) @binding(1) var<storage, read_write> partOut: array<f32>;
@group(0) @binding(2) var<uniform> pp: PartialsParams;

// One workgroup adds up all partial sums into partOut[0].
@compute @workgroup_size(WG)
fn sum_partials(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < pp.n; i += WG) { s += partIn[i]; }
  s = groupCombine(s, lid, WG);
  if (lid == 0u) {
    partOut[0] = s;
  }
}

// ---- clip coefficient ------------------------------------------------------------------

struct ClipParams {
  maxNorm: f32,
  clip: u32,  // 0: maxNorm ≤ 0, no clipping
}

@group(0) @binding(0) var<storage, read> clipSumSq: array<f32>;
@group(0) @binding(1) var<storage, read_write> clipOut: array<f32>;
@group(0) @binding(2) var<uniform> cp: ClipParams;

// min(1, maxNorm / (‖g‖ + 1e-6)), or 0 when Σg² is inf/NaN so that the AdamW
// step that reads it changes nothing.
@compute @workgroup_size(1)
fn clip_coefficient() {
  let s = clipSumSq[0];
  var c = 1.0;
  if (!isFinite(s)) {
    c = 0.0;
  } else if (cp.clip != 0u) {
    c = min(1.0, cp.maxNorm / (sqrt(s) + 1e-6));
  }
  clipOut[0] = c;
}
