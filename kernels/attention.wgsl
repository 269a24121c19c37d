// Fused scaled dot-product attention, forward. q [B, Tq, Hq, D], k [B, Tk, Hkv, D],
// v [B, Tk, Hkv, Dv] → out [B, Tq, Hq, Dv] and lse [B, Tq, Hq] (log-sum-exp of each
// row of scores, kept for the backward pass).
//
// One thread per (query row, chunk of 64 output columns): it walks the keys once
// with an "online softmax": a running maximum m, a running sum l of exp(s − m) and
// a running weighted sum of v rows, rescaled whenever m grows. The score matrix is
// never stored. With Dv ≤ 64 there is one chunk, so one thread per row; a wider Dv
// takes several threads that each recompute the scores (keeps per-thread arrays small).
//
// Query i sits at absolute position kvLen − Tq + i; with causal it sees keys
// j ≤ that position, otherwise keys j < kvLen. Positions ≥ kvLen are never read.
// With left padding it sees no key before keyStart[b] (see firstKey).
// Grouped-query attention: query head h reads key/value head h / group.
//
// This is the general version, for any head size. For D, Dv ≤ 64 src/gpu/ops/attention.ts
// generates one for the exact size instead (same results; the loops over the head
// written out, rows kept in registers, vector reads, several rows per thread).

// #include "attention_params.wgsl"

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read> keyStart: array<i32>;
@group(0) @binding(6) var<uniform> p: Params;

const CHUNK = 64u;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let id = (wg.x + wg.y * nwg.x) * 64u + li;
  if (id >= p.threads) { return; }
  let row = id / p.chunks; // (b·Tq + i)·Hq + h
  let chunk = id % p.chunks;
  let h = row % p.Hq;
  let i = (row / p.Hq) % p.Tq;
  let b = row / (p.Hq * p.Tq);
  let hk = h / p.group;
  let d0 = chunk * CHUNK;
  let width = min(CHUNK, p.Dv - min(d0, p.Dv));
  var lastKey = p.kvLen - 1u;
  if (p.causal != 0u) { lastKey = p.kvLen - p.Tq + i; }

  let qBase = row * p.D;
  // A finite "minus infinity": exp(m − s) then underflows to 0 on the first key,
  // without relying on infinities (which WGSL implementations need not honour).
  var m = -1e30;
  var l = 0.0;
  var acc: array<f32, CHUNK>;
  for (var j = firstKey(b, lastKey); j <= lastKey; j++) {
    let kv = (b * p.Tk + j) * p.Hkv + hk;
    let kBase = kv * p.D;
    var dot = 0.0;
    for (var d = 0u; d < p.D; d++) { dot += q[qBase + d] * k[kBase + d]; }
    let s = p.scale * dot;
    if (s > m) {
      let shrink = exp(m - s);
      l *= shrink;
      for (var d = 0u; d < width; d++) { acc[d] *= shrink; }
      m = s;
    }
    let e = exp(s - m);
    l += e;
    let vBase = kv * p.Dv + d0;
    for (var d = 0u; d < width; d++) { acc[d] += e * v[vBase + d]; }
  }

  let oBase = row * p.Dv + d0;
  for (var d = 0u; d < width; d++) { out[oBase + d] = acc[d] / l; }
  if (chunk == 0u) { lse[row] = m + log(l); }
}
