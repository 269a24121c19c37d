// Attention backward, part 2 of 2: dk and dv, without float atomics.
//
// One thread per (batch, key position j, key/value head, chunk of 64 columns) loops
// over every query that sees key j (for each query head of the GQA group) and sums
//   dv_j = Σ_i p_ij dO_i
//   dk_j = scale · Σ_i p_ij (dO_i·v_j − delta_i) q_i
// recomputing p_ij = exp(scale·q_i·k_j − lse_i). Each thread owns its outputs.
// Chunk c covers columns 64c..64c+63 of both dk (D wide) and dv (Dv wide).
// Rows at positions ≥ kvLen are never attended to, so their gradients are zero.
//
// This is the general version, for any head size. For D, Dv ≤ 64 src/gpu/ops/attention.ts
// generates one for the exact size instead (same results; the loops over the head
// written out, rows kept in registers, vector reads, several rows per thread).

// #include "attention_params.wgsl"

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>; // [lse | delta], see attention_bwd_dq.wgsl
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read_write> dk: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv: array<f32>;
@group(0) @binding(7) var<storage, read> keyStart: array<i32>;
@group(0) @binding(8) var<uniform> p: Params;

const CHUNK = 64u;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let id = (wg.x + wg.y * nwg.x) * 64u + li;
  if (id >= p.threads) { return; }
  let kv = id / p.chunks; // (b·Tk + j)·Hkv + hk
  let chunk = id % p.chunks;
  let hk = kv % p.Hkv;
  let j = (kv / p.Hkv) % p.Tk;
  let b = kv / (p.Hkv * p.Tk);
  let d0 = chunk * CHUNK;
  let widthK = min(CHUNK, p.D - min(d0, p.D));
  let widthV = min(CHUNK, p.Dv - min(d0, p.Dv));
  let kBase = kv * p.D;
  let vBase = kv * p.Dv;

  var accK: array<f32, CHUNK>;
  var accV: array<f32, CHUNK>;
  if (j < p.kvLen) {
    // Query i (at position kvLen − Tq + i) sees key j when causal only if i ≥ j − (kvLen − Tq).
    let offset = p.kvLen - p.Tq;
    var iStart = 0u;
    if (p.causal != 0u && j > offset) { iStart = j - offset; }
    for (var g = 0u; g < p.group; g++) {
      let h = hk * p.group + g;
      for (var i = iStart; i < p.Tq; i++) {
        // left padding: query i sees keys firstKey(b, last_i) … last_i only
        let last = select(p.kvLen - 1u, offset + i, p.causal != 0u);
        if (j < firstKey(b, last)) { continue; }
        let row = (b * p.Tq + i) * p.Hq + h;
        let qBase = row * p.D;
        let oBase = row * p.Dv;
        var dot = 0.0;
        for (var d = 0u; d < p.D; d++) { dot += q[qBase + d] * k[kBase + d]; }
        let prob = exp(p.scale * dot - stats[row]);
        var dpv = 0.0;
        for (var d = 0u; d < p.Dv; d++) { dpv += dO[oBase + d] * v[vBase + d]; }
        let ds = prob * (dpv - stats[p.rows + row]) * p.scale;
        for (var d = 0u; d < widthV; d++) { accV[d] += prob * dO[oBase + d0 + d]; }
        for (var d = 0u; d < widthK; d++) { accK[d] += ds * q[qBase + d0 + d]; }
      }
    }
  }
  for (var d = 0u; d < widthK; d++) { dk[kBase + d0 + d] = accK[d]; }
  for (var d = 0u; d < widthV; d++) { dv[vBase + d0 + d] = accV[d]; }
}
