// Fused softmax cross-entropy over the last axis (logits [rows, V]).
//
// Forward: one workgroup per row (or, on software adapters, one invocation per row:
// cross_entropy_thread below) computes lse = log Σ exp(logits) with the online
// max/sum of softmax.wgsl, then loss = mask · (lse − logits[target]). The lse is
// kept, so the backward pass needs no reduction at all: it is elementwise,
//   dlogits[r, v] = dloss[r] · mask[r] · (exp(logits[r, v] − lse[r]) − [v = target]).
//
// A target outside 0..V−1 cannot raise an error on the GPU; it makes that row's
// loss (and gradient) NaN, which the clip coefficient then turns into a skipped step.

override WG: u32 = 64u;

// #include "row_max_sum.wgsl"

struct ForwardParams {
  rows: u32,
  V: u32,
  hasMask: u32,  // 0: no mask (the mask binding holds some other tensor)
  nan: f32,      // a NaN from the host (WGSL constants cannot be NaN)
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> lossOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> lseOut: array<f32>;
@group(0) @binding(5) var<uniform> fp: ForwardParams;

@compute @workgroup_size(WG)
fn cross_entropy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x; // uniform across the workgroup
  if (row >= fp.rows) { return; }
  let base = row * fp.V;
  var m = LOWEST;
  var s = 0.0;
  for (var i = lid; i < fp.V; i += WG) {
    let v = logits[base + i];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  let ms = groupMaxSum(vec2<f32>(m, s), lid);
  if (lid == 0u) {
    let lse = ms.x + log(ms.y);
    lseOut[row] = lse;
    let t = targets[row];
    let w = select(1.0, mask[row], fp.hasMask != 0u);
    if (t < 0 || u32(t) >= fp.V) {
      lossOut[row] = fp.nan;
    } else {
      lossOut[row] = w * (lse - logits[base + u32(t)]);
    }
  }
}

// One invocation per row (the "thread" variant, for software adapters such as
// SwiftShader, where a workgroup barrier costs far more than walking a row of ~100
// logits alone): no workgroup memory, no barrier. Two passes, max then Σexp, as on
// the CPU twin. ROWS_PER_WG rows per workgroup, folded into y past the device limit.

const ROWS_PER_WG: u32 = 32u;

@compute @workgroup_size(ROWS_PER_WG)
fn cross_entropy_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lid;
  if (row >= fp.rows) { return; }
  let base = row * fp.V;
  var m = LOWEST;
  for (var i = 0u; i < fp.V; i++) {
    m = max(m, logits[base + i]);
  }
  var s = 0.0;
  for (var i = 0u; i < fp.V; i++) {
    s += exp(logits[base + i] - m);
  }
  let lse = m + log(s);
  lseOut[row] = lse;
  let t = targets[row];
  let w = select(1.0, mask[row], fp.hasMask != 0u);
  if (t < 0 || u32(t) >= fp.V) {
    lossOut[row] = fp.nan;
  } else {
    lossOut[row] = w * (lse - logits[base + u32(t)]);
  }
}

struct BackwardParams {
  n: u32,        // rows · V
  V: u32,
  hasMask: u32,
  nan: f32,
}

@group(0) @binding(0) var<storage, read> bwdLogits: array<f32>;
@group(0) @binding(1) var<storage, read> bwdTargets: array<i32>;
@group(0) @binding(2) var<storage, read> bwdMask: array<f32>;
@group(0) @binding(3) var<storage, read> bwdLse: array<f32>;
@group(0) @binding(4) var<storage, read> bwdDloss: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(6) var<uniform> bp: BackwardParams;

// one invocation per logit
@compute @workgroup_size(256)
fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= bp.n) { return; }
  let row = i / bp.V;
  let v = i - row * bp.V;
  let t = bwdTargets[row];
  if (t < 0 || u32(t) >= bp.V) {
    dlogits[i] = bp.nan;
    return;
  }
  let g = bwdDloss[row] * select(1.0, bwdMask[row], bp.hasMask != 0u);
  let p = exp(bwdLogits[i] - bwdLse[row]);
  dlogits[i] = g * (p - select(0.0, 1.0, v == u32(t)));
}
