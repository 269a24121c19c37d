// RMSNorm over the last axis (x [rows, D], w [D]):
//   rstd = 1 / sqrt(mean(x²) + eps),  y = x · rstd · w
// and its backward:
//   dx = rstd · (w ⊙ dy) − x · rstd³ · mean(x ⊙ w ⊙ dy)      (per row)
//   dw = Σ_rows dy ⊙ x · rstd                                 (per column)
// dx needs a reduction along each row, dw one down each column; they are two
// kernels, so dw needs no float atomics.
//
// Two variants of each (rows.ts picks one per adapter): workgroup-shared tree
// reductions (the first three entry points: right for real GPUs), and one
// invocation per row or column with no barriers (the *_thread entry points at the
// end: right for software adapters such as SwiftShader).

override WG: u32 = 64u; // invocations per row, a power of two ≤ 256

var<workgroup> scratch: array<f32, 256>;

fn groupSum(v: f32, lid: u32) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      scratch[lid] += scratch[lid + s];
    }
    workgroupBarrier();
  }
  return scratch[0];
}

// ---- forward: one workgroup per row --------------------------------------------------------

struct ForwardParams {
  rows: u32,
  D: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> fwdX: array<f32>;
@group(0) @binding(1) var<storage, read> fwdW: array<f32>;
@group(0) @binding(2) var<storage, read_write> fwdY: array<f32>;
@group(0) @binding(3) var<storage, read_write> fwdRstd: array<f32>;
@group(0) @binding(4) var<uniform> fp: ForwardParams;

@compute @workgroup_size(WG)
fn rmsnorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x; // uniform across the workgroup
  if (row >= fp.rows) { return; }
  let base = row * fp.D;
  var ss = 0.0;
  for (var i = lid; i < fp.D; i += WG) {
    let v = fwdX[base + i];
    ss += v * v;
  }
  ss = groupSum(ss, lid);
  let rstd = 1.0 / sqrt(ss / f32(fp.D) + fp.eps);
  for (var i = lid; i < fp.D; i += WG) {
    fwdY[base + i] = fwdX[base + i] * rstd * fwdW[i];
  }
  if (lid == 0u) {
    fwdRstd[row] = rstd;
  }
}

// ---- backward, dx: one workgroup per row --------------------------------------------------

struct BackwardParams {
  rows: u32,
  D: u32,
}

@group(0) @binding(0) var<storage, read> dxX: array<f32>;
@group(0) @binding(1) var<storage, read> dxW: array<f32>;
@group(0) @binding(2) var<storage, read> dxRstd: array<f32>;
@group(0) @binding(3) var<storage, read> dxDy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dxOut: array<f32>;
@group(0) @binding(5) var<uniform> dxp: BackwardParams;

@compute @workgroup_size(WG)
fn rmsnorm_backward_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= dxp.rows) { return; }
  let base = row * dxp.D;
  var dot = 0.0;
  for (var i = lid; i < dxp.D; i += WG) {
    dot += dxX[base + i] * dxW[i] * dxDy[base + i];
  }
  dot = groupSum(dot, lid);
  let rstd = dxRstd[row];
  let c = rstd * rstd * rstd * (dot / f32(dxp.D));
  for (var i = lid; i < dxp.D; i += WG) {
    dxOut[base + i] = rstd * dxW[i] * dxDy[base + i] - dxX[base + i] * c;
  }
}

// ---- backward, dw: columns ----------------------------------------------------------------
// A workgroup owns 32 adjacent columns (neighbouring invocations read neighbouring
// addresses) and splits the rows among 8 lanes; the lanes' sums are combined
// through workgroup memory.

const COLS: u32 = 32u;
const LANES: u32 = 8u;

@group(0) @binding(0) var<storage, read> dwX: array<f32>;
@group(0) @binding(1) var<storage, read> dwRstd: array<f32>;
@group(0) @binding(2) var<storage, read> dwDy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dwOut: array<f32>;
@group(0) @binding(4) var<uniform> dwp: BackwardParams;

@compute @workgroup_size(COLS, LANES)
fn rmsnorm_backward_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = wid.x * COLS + lid.x;
  var acc = 0.0;
  if (col < dwp.D) {
    for (var r = lid.y; r < dwp.rows; r += LANES) {
      let i = r * dwp.D + col;
      acc += dwDy[i] * dwX[i] * dwRstd[r];
    }
  }
  // no early return above: every invocation must reach the barriers
  scratch[lid.y * COLS + lid.x] = acc;
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s = s / 2u) {
    if (lid.y < s) {
      scratch[lid.y * COLS + lid.x] += scratch[(lid.y + s) * COLS + lid.x];
    }
    workgroupBarrier();
  }
  if (lid.y == 0u && col < dwp.D) {
    dwOut[col] = scratch[lid.x];
  }
}

// ---- one invocation per row / column (the "thread" variant) ------------------------------
// For software adapters (SwiftShader), where a workgroup barrier costs far more than
// walking a short row alone: each invocation owns a whole row (forward, dx) or a
// whole column (dw), so there is no workgroup memory and no barrier.
// ROWS_PER_WG rows (or columns) per workgroup, folded into y past the device limit.

const ROWS_PER_WG: u32 = 32u;

fn threadIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lid;
}

@compute @workgroup_size(ROWS_PER_WG)
fn rmsnorm_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let row = threadIndex(wid, nwg, lid);
  if (row >= fp.rows) { return; }
  let base = row * fp.D;
  var ss = 0.0;
  for (var i = 0u; i < fp.D; i++) {
    let v = fwdX[base + i];
    ss += v * v;
  }
  let rstd = 1.0 / sqrt(ss / f32(fp.D) + fp.eps);
  for (var i = 0u; i < fp.D; i++) {
    fwdY[base + i] = fwdX[base + i] * rstd * fwdW[i];
  }
  fwdRstd[row] = rstd;
}

@compute @workgroup_size(ROWS_PER_WG)
fn rmsnorm_backward_dx_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
  let row = threadIndex(wid, nwg, lid);
  if (row >= dxp.rows) { return; }
  let base = row * dxp.D;
  var dot = 0.0;
  for (var i = 0u; i < dxp.D; i++) {
    dot += dxX[base + i] * dxW[i] * dxDy[base + i];
  }
  let rstd = dxRstd[row];
  let c = rstd * rstd * rstd * (dot / f32(dxp.D));
  for (var i = 0u; i < dxp.D; i++) {
    dxOut[base + i] = rstd * dxW[i] * dxDy[base + i] - dxX[base + i] * c;
  }
}

// dw[col] = Σ_rows dy ⊙ x · rstd, one invocation per column; neighbouring
// invocations read neighbouring addresses.
@compute @workgroup_size(ROWS_PER_WG)
fn rmsnorm_backward_dw_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
  let col = threadIndex(wid, nwg, lid);
  if (col >= dwp.D) { return; }
  var acc = 0.0;
  var i = col;
  for (var r = 0u; r < dwp.rows; r++) {
    acc += dwDy[i] * dwX[i] * dwRstd[r];
    i += dwp.D;
  }
  dwOut[col] = acc;
}
