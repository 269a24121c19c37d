// Elementwise ops: broadcasting binary ops, affine, unary ops and their
// derivatives. The op is a pipeline-overridable constant (OP), so each op gets its
// own compiled pipeline with the `switch` folded away.
//
// Every entry point handles one element per invocation, 256 per workgroup. Large
// tensors need more than 65535 workgroups; the host folds them into y
// (ctx.grid), so the linear id is gid.x + gid.y · (workgroups in x · 256).

override OP: u32 = 0u;

const WG: u32 = 256u;

fn linearId(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// ---- binary: out = a ∘ b ---------------------------------------------------------
// OP: 0 add, 1 sub, 2 mul, 3 div, 4 min, 5 max, 6 ge  (the order of BINARY_OPS in
// src/tensor/backend.ts)

// Tested on the bits: compilers may assume floats are never NaN and fold `v != v` away.
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// WGSL's min and max leave NaN undefined; here NaN wins, like Math.min/max on the
// CPU, so a poisoned value is never hidden.
fn minOrNan(a: f32, b: f32) -> f32 {
  if (isNan(a)) { return a; }
  if (isNan(b)) { return b; }
  return min(a, b);
}

fn maxOrNan(a: f32, b: f32) -> f32 {
  if (isNan(a)) { return a; }
  if (isNan(b)) { return b; }
  return max(a, b);
}

fn binaryOp(a: f32, b: f32) -> f32 {
  switch OP {
    case 0u: { return a + b; }
    case 1u: { return a - b; }
    case 2u: { return a * b; }
    case 3u: { return a / b; }
    case 4u: { return minOrNan(a, b); }
    case 5u: { return maxOrNan(a, b); }
    // ge: 1 where a ≥ b, else 0, and 0 next to a NaN (the mask that routes the
    // gradient of min and max; it has none itself)
    default: { return select(0.0, 1.0, a >= b && !isNan(a) && !isNan(b)); }
  }
}

// Broadcasting is described by a shape and one stride list per operand (stride 0
// along broadcast axes), after the host merged axes that are walked contiguously.
// Arrays in a uniform buffer need 16-byte elements, hence vec4s: axis k lives in
// shape[k / 4][k % 4]. Up to 8 axes fit; the API allows 6.
struct BinaryParams {
  n: u32,      // output elements
  rank: u32,   // axes in use
  _pad0: u32,
  _pad1: u32,
  shape: array<vec4<u32>, 2>,
  strideA: array<vec4<u32>, 2>,
  strideB: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> binA: array<f32>;
@group(0) @binding(1) var<storage, read> binB: array<f32>;
@group(0) @binding(2) var<storage, read_write> binOut: array<f32>;
@group(0) @binding(3) var<uniform> bp: BinaryParams;

// a and b have the output's shape: no index arithmetic at all.
@compute @workgroup_size(WG)
fn binary_same(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearId(gid, nwg);
  if (i >= bp.n) { return; }
  binOut[i] = binaryOp(binA[i], binB[i]);
}

@compute @workgroup_size(WG)
fn binary_broadcast(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearId(gid, nwg);
  if (i >= bp.n) { return; }
  // Peel the output index into coordinates, innermost axis first, and sum each
  // operand's offset as we go.
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var k = bp.rank; k > 0u; k--) {
    let ax = k - 1u;
    let size = bp.shape[ax / 4u][ax % 4u];
    let c = rem % size;
    rem = rem / size;
    ia += c * bp.strideA[ax / 4u][ax % 4u];
    ib += c * bp.strideB[ax / 4u][ax % 4u];
  }
  binOut[i] = binaryOp(binA[ia], binB[ib]);
}

// ---- affine: out = alpha · x + beta ---------------------------------------------------

struct AffineParams {
  n: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> affX: array<f32>;
@group(0) @binding(1) var<storage, read_write> affOut: array<f32>;
@group(0) @binding(2) var<uniform> ap: AffineParams;

@compute @workgroup_size(WG)
fn affine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearId(gid, nwg);
  if (i >= ap.n) { return; }
  affOut[i] = ap.alpha * affX[i] + ap.beta;
}

// ---- unary ops and their derivatives ------------------------------------------------
// OP: 0 neg, 1 exp, 2 log, 3 tanh, 4 sigmoid, 5 silu, 6 gelu, 7 relu, 8 sqrt,
//     9 rsqrt, 10 square  (the order of UNARY_OPS in src/tensor/backend.ts)

const GELU_C: f32 = 0.7978845608028654; // √(2/π)
const GELU_A: f32 = 0.044715;

// tanh saturates to ±1 in f32 beyond |x| ≈ 9; clamping first keeps drivers that
// compute it from exp(2x) from overflowing into NaN.
fn safeTanh(v: f32) -> f32 {
  return tanh(clamp(v, -15.0, 15.0));
}

// 1 / (1 + e^-v) without overflow: exp only ever sees a non-positive argument.
fn sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

fn unaryOp(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return safeTanh(v); }
    case 4u: { return sigmoid(v); }
    case 5u: { return v * sigmoid(v); }
    // GELU's 0.5·(1 + tanh(u)) is written σ(2u): the same value, but with no
    // 1 + (≈ −1) cancellation for negative v, where f32 would lose every digit.
    case 6u: { return v * sigmoid(2.0 * GELU_C * (v + GELU_A * v * v * v)); }
    case 7u: { return max(v, 0.0); }
    case 8u: { return sqrt(v); }
    case 9u: { return 1.0 / sqrt(v); }
    default: { return v * v; }
  }
}

// f'(v): the derivative of unaryOp at v
fn unaryDerivative(v: f32) -> f32 {
  switch OP {
    case 0u: { return -1.0; }
    case 1u: { return exp(v); }
    case 2u: { return 1.0 / v; }
    case 3u: { let t = safeTanh(v); return 1.0 - t * t; }
    case 4u: { let s = sigmoid(v); return s * (1.0 - s); }
    case 5u: { let s = sigmoid(v); return s * (1.0 + v * (1.0 - s)); }
    case 6u: {
      // with s = σ(2u): d/dv [v·s] = s + v · 2s(1 − s) · u', and 1 − s = σ(−2u) exactly
      let u = GELU_C * (v + GELU_A * v * v * v);
      let s = sigmoid(2.0 * u);
      return s + v * 2.0 * s * sigmoid(-2.0 * u) * GELU_C * (1.0 + 3.0 * GELU_A * v * v);
    }
    case 7u: { return select(0.0, 1.0, v > 0.0); }
    case 8u: { return 0.5 / sqrt(v); }
    case 9u: { return -0.5 / (v * sqrt(v)); }
    default: { return 2.0 * v; }
  }
}

struct UnaryParams {
  n: u32,
}

@group(0) @binding(0) var<storage, read> unX: array<f32>;
@group(0) @binding(1) var<storage, read_write> unOut: array<f32>;
@group(0) @binding(2) var<uniform> up: UnaryParams;

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearId(gid, nwg);
  if (i >= up.n) { return; }
  unOut[i] = unaryOp(unX[i]);
}

@group(0) @binding(0) var<storage, read> bwX: array<f32>;
@group(0) @binding(1) var<storage, read> bwDy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bwDx: array<f32>;
@group(0) @binding(3) var<uniform> bwp: UnaryParams;

@compute @workgroup_size(WG)
fn unary_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearId(gid, nwg);
  if (i >= bwp.n) { return; }
  let dy = bwDy[i];
  // relu: pass dy through where x > 0 and write exactly 0 elsewhere (0 · inf would be NaN)
  if (OP == 7u) {
    bwDx[i] = select(0.0, dy, bwX[i] > 0.0);
    return;
  }
  bwDx[i] = unaryDerivative(bwX[i]) * dy;
}
