// Rotary position embedding on x [B, T, H, D], half-split pairs (x[i], x[i + D/2]):
// the pair is rotated by angle = (pos0 + t) · theta^(−2i/D), or by −angle when
// inverse (the backward pass). One thread per pair.

struct Params {
  T: u32,
  H: u32,
  D: u32,
  pairs: u32, // B·T·H·(D/2): the number of threads with work
  pos0: i32, // may be any integer; usually the KV-cache length so far
  log2Theta: f32,
  sign: f32, // 1 forward, −1 inverse
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// sin and cos by hand: WGSL only promises about 2^-11 absolute accuracy for the
// built-ins (SwiftShader is that coarse: ~4e-4 off), too coarse for a test against
// the float64 CPU twin. Cody–Waite reduction to r in [−π/4, π/4] (π/2 split into
// three parts so n·part is exact), then the minimax polynomials of Cephes' sinf/cosf,
// good to ~1e-7 for |angle| up to a few thousand.
const PIO2_1 = 1.5703125;
const PIO2_2 = 4.837512969970703125e-4;
const PIO2_3 = 7.54978995489188216e-8;

fn sinCos(angle: f32) -> vec2<f32> {
  let n = round(angle * 0.63661977236758134); // angle / (π/2)
  let r = ((angle - n * PIO2_1) - n * PIO2_2) - n * PIO2_3;
  let z = r * r;
  let s = r + r * z * ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1);
  let c = 1.0 - 0.5 * z + z * z * ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2);
  // sin(r + n·π/2) and cos(r + n·π/2) by quadrant
  let quadrant = i32(n) & 3;
  if (quadrant == 0) { return vec2<f32>(s, c); }
  if (quadrant == 1) { return vec2<f32>(c, -s); }
  if (quadrant == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let id = (wg.x + wg.y * nwg.x) * 64u + li;
  if (id >= p.pairs) { return; }
  let half = p.D / 2u;
  let i = id % half;
  let row = id / half; // (b·T + t)·H + h
  let t = (row / p.H) % p.T;

  let freq = exp2(-2.0 * f32(i) / f32(p.D) * p.log2Theta);
  let angle = f32(p.pos0 + i32(t)) * freq;
  let sc = sinCos(angle);
  let s = p.sign * sc.x;
  let c = sc.y;

  let base = row * p.D + i;
  let x1 = x[base];
  let x2 = x[base + half];
  y[base] = x1 * c - x2 * s;
  y[base + half] = x1 * s + x2 * c;
}
