// Softmax and log-softmax over the last axis, and their backward rules.
//
// One workgroup per row: invocations stride over the row, then combine their
// partial results in a tree through workgroup memory. The forward pass uses the
// "online" softmax: each invocation keeps a running max m and a sum s of
// exp(x − m), rescaling s whenever m grows, so a single tree reduction yields
// both the max and the normaliser.
//
// That is the right shape for a real GPU. On software adapters (SwiftShader) a
// workgroup barrier is very expensive, so rows.ts picks the *_thread entry points
// at the end instead: one invocation per row, no barriers.

override WG: u32 = 64u; // invocations per row, a power of two ≤ 256 (the host picks it)

// #include "row_max_sum.wgsl"

fn groupSum(v: f32, lid: u32) -> f32 {
  scratchS[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      scratchS[lid] += scratchS[lid + s];
    }
    workgroupBarrier();
  }
  let result = scratchS[0];
  workgroupBarrier();
  return result;
}

struct RowParams {
  rows: u32,
  n: u32,  // row length
}

// ---- forward --------------------------------------------------------------------------

@group(0) @binding(0) var<storage, read> fwdX: array<f32>;
@group(0) @binding(1) var<storage, read_write> fwdOut: array<f32>;
@group(0) @binding(2) var<uniform> fp: RowParams;

// running (max, Σexp(x − max)) of this invocation's share of the row
fn localMaxSum(base: u32, lid: u32) -> vec2<f32> {
  var m = LOWEST;
  var s = 0.0;
  for (var i = lid; i < fp.n; i += WG) {
    let v = fwdX[base + i];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  return vec2<f32>(m, s);
}

// Rows past 65535 are folded into workgroup_id.y. The row index is the same for
// the whole workgroup, so returning early keeps the barriers uniform.
@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= fp.rows) { return; }
  let base = row * fp.n;
  let ms = groupMaxSum(localMaxSum(base, lid), lid);
  let inv = 1.0 / ms.y;
  for (var i = lid; i < fp.n; i += WG) {
    fwdOut[base + i] = exp(fwdX[base + i] - ms.x) * inv;
  }
}

@compute @workgroup_size(WG)
fn log_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= fp.rows) { return; }
  let base = row * fp.n;
  let ms = groupMaxSum(localMaxSum(base, lid), lid);
  let lse = ms.x + log(ms.y);
  for (var i = lid; i < fp.n; i += WG) {
    fwdOut[base + i] = fwdX[base + i] - lse;
  }
}

// ---- backward -------------------------------------------------------------------------
// softmax:     dx = y ⊙ (dy − Σ dy⊙y)
// log-softmax: dx = dy − exp(y)·Σ dy      (exp(y) is the softmax)

@group(0) @binding(0) var<storage, read> bwdY: array<f32>;
@group(0) @binding(1) var<storage, read> bwdDy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bwdDx: array<f32>;
@group(0) @binding(3) var<uniform> bp: RowParams;

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= bp.rows) { return; }
  let base = row * bp.n;
  var dot = 0.0;
  for (var i = lid; i < bp.n; i += WG) {
    dot += bwdDy[base + i] * bwdY[base + i];
  }
  dot = groupSum(dot, lid);
  for (var i = lid; i < bp.n; i += WG) {
    bwdDx[base + i] = bwdY[base + i] * (bwdDy[base + i] - dot);
  }
}

@compute @workgroup_size(WG)
fn log_softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= bp.rows) { return; }
  let base = row * bp.n;
  var total = 0.0;
  for (var i = lid; i < bp.n; i += WG) {
    total += bwdDy[base + i];
  }
  total = groupSum(total, lid);
  for (var i = lid; i < bp.n; i += WG) {
    bwdDx[base + i] = bwdDy[base + i] - exp(bwdY[base + i]) * total;
  }
}

// ---- one invocation per row (the "thread" variant) ----------------------------------------
// For software adapters (SwiftShader), where a workgroup barrier costs far more than
// walking a short row alone: each invocation owns a whole row, so there is no
// workgroup memory and no barrier. Two passes over the row (max, then Σexp), as on
// the CPU twin; the row stays in cache between them. ROWS_PER_WG rows per workgroup,
// row = (workgroup index) · ROWS_PER_WG + local index, folded into y past the limit.

const ROWS_PER_WG: u32 = 32u;

fn threadRow(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lid;
}

// (max, Σexp(x − max)) of the row at base
fn rowMaxSum(base: u32) -> vec2<f32> {
  var m = LOWEST;
  for (var i = 0u; i < fp.n; i++) {
    m = max(m, fwdX[base + i]);
  }
  var s = 0.0;
  for (var i = 0u; i < fp.n; i++) {
    s += exp(fwdX[base + i] - m);
  }
  return vec2<f32>(m, s);
}

@compute @workgroup_size(ROWS_PER_WG)
fn softmax_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let row = threadRow(wid, nwg, lid);
  if (row >= fp.rows) { return; }
  let base = row * fp.n;
  let ms = rowMaxSum(base);
  let inv = 1.0 / ms.y;
  for (var i = 0u; i < fp.n; i++) {
    fwdOut[base + i] = exp(fwdX[base + i] - ms.x) * inv;
  }
}

@compute @workgroup_size(ROWS_PER_WG)
fn log_softmax_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let row = threadRow(wid, nwg, lid);
  if (row >= fp.rows) { return; }
  let base = row * fp.n;
  let ms = rowMaxSum(base);
  let lse = ms.x + log(ms.y);
  for (var i = 0u; i < fp.n; i++) {
    fwdOut[base + i] = fwdX[base + i] - lse;
  }
}

@compute @workgroup_size(ROWS_PER_WG)
fn softmax_backward_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
  let row = threadRow(wid, nwg, lid);
  if (row >= bp.rows) { return; }
  let base = row * bp.n;
  var dot = 0.0;
  for (var i = 0u; i < bp.n; i++) {
    dot += bwdDy[base + i] * bwdY[base + i];
  }
  for (var i = 0u; i < bp.n; i++) {
    bwdDx[base + i] = bwdY[base + i] * (bwdDy[base + i] - dot);
  }
}

@compute @workgroup_size(ROWS_PER_WG)
fn log_softmax_backward_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                               @builtin(local_invocation_index) lid: u32) {
  let row = threadRow(wid, nwg, lid);
  if (row >= bp.rows) { return; }
  let base = row * bp.n;
  var total = 0.0;
  for (var i = 0u; i < bp.n; i++) {
    total += bwdDy[base + i];
  }
  for (var i = 0u; i < bp.n; i++) {
    bwdDx[base + i] = bwdDy[base + i] - exp(bwdY[base + i]) * total;
  }
}
