// The k largest values of each row of x [R, E], in descending order, with their
// i32 indices. Ties go to the lower index; NaN ranks below every number.
//
// One thread per row, k passes of selection: pass t picks the best element that
// ranks strictly after the element picked in pass t − 1. Ranking by (value, index)
// is a total order, so no "already taken" array is needed and ties come out in
// index order. Costs k·E per row: fine for the small k of MoE routing and sampling.

struct Params {
  rows: u32,
  E: u32,
  k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> indices: array<i32>;
@group(0) @binding(3) var<uniform> p: Params;

// Tested on the bits: compilers may assume floats are never NaN and fold `v != v` away.
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// true when (va at ia) ranks before (vb at ib): the larger number first, NaN last, then the lower index
fn before(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  let na = isNan(va);
  let nb = isNan(vb);
  if (na != nb) { return nb; }
  if (!na && va != vb) { return va > vb; }
  return ia < ib;
}

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let r = (wg.x + wg.y * nwg.x) * 64u + li;
  if (r >= p.rows) { return; }
  let base = r * p.E;
  var prevV = 0.0;
  var prevI = 0u;
  for (var t = 0u; t < p.k; t++) {
    var bestV = 0.0;
    var bestI = p.E; // "none yet"
    for (var e = 0u; e < p.E; e++) {
      let v = x[base + e];
      if (t > 0u && !before(prevV, prevI, v, e)) { continue; } // picked already
      if (bestI == p.E || before(v, e, bestV, bestI)) {
        bestV = v;
        bestI = e;
      }
    }
    values[r * p.k + t] = bestV;
    indices[r * p.k + t] = i32(bestI);
    prevV = bestV;
    prevI = bestI;
  }
}
