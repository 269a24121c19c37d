// Fused AdamW, in place on one parameter tensor and its two moment buffers:
//   g = grad · coef                       (coef: the clip coefficient, read on the GPU)
//   m = β1·m + (1 − β1)·g
//   v = β2·v + (1 − β2)·g²
//   p = p − lr·( m̂ / (sqrt(v̂) + eps) + wd·p ),  m̂ = m / bc1,  v̂ = v / bc2
// with bc1 = 1 − β1^step and bc2 = 1 − β2^step computed on the host.
// coef = 0 (a non-finite gradient norm) leaves p, m and v untouched.

const WG: u32 = 256u;

struct Hyper {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  bc1: f32,
  bc2: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> coef: array<f32>;
@group(0) @binding(5) var<uniform> h: Hyper;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let c = coef[0];
  if (i >= h.n || c == 0.0) { return; }
  let g = grad[i] * c;
  let mi = h.beta1 * m[i] + (1.0 - h.beta1) * g;
  let vi = h.beta2 * v[i] + (1.0 - h.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let p = param[i];
  param[i] = p - h.lr * (mi / h.bc1 / (sqrt(vi / h.bc2) + h.eps) + h.weightDecay * p);
}
