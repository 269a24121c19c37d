// Gathers and scatter-adds along rows (embeddings) and along the last axis (MoE
// routing weights). Four entry points share one set of bindings:
//   binding 0: the source values, binding 1: the i32 indices, binding 2: the output.
// Gathers move raw 32-bit words (exact copies); scatter-adds sum as f32.
//
// Out-of-range indices (< 0 or ≥ the axis size) cannot raise an error on the GPU:
// a gather writes 0 for them and a scatter-add drops them. (The CPU twin throws.)
//
// There are no float atomics in WebGPU, so each scatter-add thread owns its outputs
// and loops over all the indices that could target them: scatter_add_rows owns a
// whole table row (O(rows × indices) compares), scatter_add_last one element
// (O(outputs × k)), which is fine at this course's sizes (a few thousand tokens).

struct Params {
  count: u32, // the number of threads with work: output elements (scatter_add_rows: output rows)
  n: u32, // gatherRows/scatterAddRows: number of indices; *Last: rows R
  width: u32, // *Rows: row width D; *Last: indices per row k
  limit: u32, // valid indices are 0..limit−1: table rows V, or last-axis size E
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

fn threadId(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 64u + li;
}

fn inRange(i: i32) -> bool {
  return i >= 0 && u32(i) < p.limit;
}

// out[n, d] = table[idx[n], d]; table [V, D] in src.
@compute @workgroup_size(64)
fn gather_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let id = threadId(wg, nwg, li);
  if (id >= p.count) { return; }
  let n = id / p.width;
  let d = id % p.width;
  let row = idx[n];
  var word = 0u; // the bits of 0.0
  if (inRange(row)) { word = src[u32(row) * p.width + d]; }
  dst[id] = word;
}

// out[v, :] = Σ over n with idx[n] = v of src[n, :]; one thread per table row v
// (count = rows V). The thread scans the indices once and adds each matching source
// row into its own output row, in order of n: V·N compares and N·D adds, where one
// thread per output element would do V·D·N compares. The output row is owned by
// this thread alone, so it accumulates in place (no float atomics needed), and the
// sums are bit-for-bit those of the one-thread-per-element kernel (same order).
@compute @workgroup_size(64)
fn scatter_add_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let v = threadId(wg, nwg, li);
  if (v >= p.count) { return; }
  let base = v * p.width;
  for (var d = 0u; d < p.width; d++) { dst[base + d] = 0u; } // the bits of 0.0
  for (var n = 0u; n < p.n; n++) {
    if (idx[n] == i32(v)) {
      let at = n * p.width;
      for (var d = 0u; d < p.width; d++) {
        dst[base + d] = bitcast<u32>(bitcast<f32>(dst[base + d]) + bitcast<f32>(src[at + d]));
      }
    }
  }
}

// out[r, j] = x[r, idx[r, j]]; x [R, E] in src, idx [R, k].
@compute @workgroup_size(64)
fn gather_last(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let id = threadId(wg, nwg, li);
  if (id >= p.count) { return; }
  let r = id / p.width;
  let e = idx[id];
  var word = 0u;
  if (inRange(e)) { word = src[r * p.limit + u32(e)]; }
  dst[id] = word;
}

// out[r, e] = Σ over j with idx[r, j] = e of src[r, j]; one thread per (r, e).
@compute @workgroup_size(64)
fn scatter_add_last(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let id = threadId(wg, nwg, li);
  if (id >= p.count) { return; }
  let r = id / p.limit;
  let e = i32(id % p.limit);
  var sum = 0.0;
  for (var j = 0u; j < p.width; j++) {
    let at = r * p.width + j;
    if (idx[at] == e) { sum += bitcast<f32>(src[at]); }
  }
  dst[id] = bitcast<u32>(sum);
}
