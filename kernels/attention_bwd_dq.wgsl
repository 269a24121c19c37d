// Attention backward, part 1 of 2: dq, and delta_i = dO_i · O_i for part 2.
//
// With p_ij = exp(scale·q_i·k_j − lse_i) (recomputed from the saved lse, so the
// score matrix is never stored):
//   dq_i = scale · Σ_j p_ij (dO_i·v_j − delta_i) k_j
// One thread per (query row, chunk of 64 columns of dq) loops over the keys that
// row may see; each thread owns its output, so no atomics are needed.
// Layouts and masking as in attention.wgsl.
//
// This is the general version, for any head size. For D, Dv ≤ 64 src/gpu/ops/attention.ts
// generates one for the exact size instead (same results; the loops over the head
// written out, rows kept in registers, vector reads, several rows per thread).

// #include "attention_params.wgsl"

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> o: array<f32>;
// [lse | delta]: lse of each row (copied in), then the delta this kernel writes. One
// buffer for both keeps these kernels within 8 storage buffers, WebGPU's default limit.
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<storage, read> dO: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;
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
  let row = id / p.chunks;
  let chunk = id % p.chunks;
  let h = row % p.Hq;
  let i = (row / p.Hq) % p.Tq;
  let b = row / (p.Hq * p.Tq);
  let hk = h / p.group;
  let d0 = chunk * CHUNK;
  let width = min(CHUNK, p.D - min(d0, p.D));
  var lastKey = p.kvLen - 1u;
  if (p.causal != 0u) { lastKey = p.kvLen - p.Tq + i; }

  let qBase = row * p.D;
  let oBase = row * p.Dv;
  var di = 0.0;
  for (var d = 0u; d < p.Dv; d++) { di += dO[oBase + d] * o[oBase + d]; }
  if (chunk == 0u) { stats[p.rows + row] = di; }
  let L = stats[row];

  var acc: array<f32, CHUNK>;
  for (var j = firstKey(b, lastKey); j <= lastKey; j++) {
    let kv = (b * p.Tk + j) * p.Hkv + hk;
    let kBase = kv * p.D;
    let vBase = kv * p.Dv;
    var dot = 0.0;
    for (var d = 0u; d < p.D; d++) { dot += q[qBase + d] * k[kBase + d]; }
    let prob = exp(p.scale * dot - L);
    var dpv = 0.0;
    for (var d = 0u; d < p.Dv; d++) { dpv += dO[oBase + d] * v[vBase + d]; }
    let ds = prob * (dpv - di) * p.scale;
    for (var d = 0u; d < width; d++) { acc[d] += ds * k[kBase + d0 + d]; }
  }
  for (var d = 0u; d < width; d++) { dq[qBase + d0 + d] = acc[d]; }
}
