// Sparse MoE dispatch, step 1: sort the R = N·k routed rows by expert, with
// fixed-size outputs, so nothing has to be read back to size the experts' batches.
//   binding 0: indices i32 [R] (token n's j-th expert at n·k + j)
//   binding 1: offsets i32 [E + 1]  (out: expert e's rows are offsets[e] .. offsets[e+1]−1)
//   binding 2: tokens  i32 [R]      (out: the token of the row at each sorted position)
//   binding 3: slot    i32 [R]      (out: the sorted position of row n·k + j)
//   binding 4: order   i32 [R]      (out: the row n·k + j at each sorted position)
// One workgroup; thread e owns expert e (so E ≤ 256): it counts its rows (the
// histogram), waits for every count, sums the counts of the experts before it (the
// prefix sum), then walks the rows in order and places its own. Each expert's rows
// keep their order, so the sort is stable and the same on every run; no row is
// dropped. Cost: each thread reads all R indices twice, fine for the course's
// experts (E ≤ 256, R a few thousand). Indices outside 0..E−1 are never placed
// (their slot is left unwritten); the CPU twin throws instead.

struct Params {
  R: u32,
  E: u32,
  k: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(1) var<storage, read_write> offsets: array<i32>;
@group(0) @binding(2) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(3) var<storage, read_write> slot: array<i32>;
@group(0) @binding(4) var<storage, read_write> order: array<i32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> counts: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) e: u32) {
  var c = 0u;
  if (e < p.E) {
    for (var r = 0u; r < p.R; r++) {
      if (indices[r] == i32(e)) { c++; }
    }
  }
  counts[e] = c;
  workgroupBarrier();
  if (e >= p.E) { return; }
  var start = 0u;
  for (var j = 0u; j < e; j++) { start += counts[j]; }
  offsets[e] = i32(start);
  if (e == p.E - 1u) { offsets[p.E] = i32(start + c); }
  var at = start;
  for (var r = 0u; r < p.R; r++) {
    if (indices[r] == i32(e)) {
      tokens[at] = i32(r / p.k);
      slot[r] = i32(at);
      order[at] = i32(r);
      at++;
    }
  }
}
