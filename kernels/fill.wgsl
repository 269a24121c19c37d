// fill: every element of `out` gets the same 32-bit pattern. The host encodes
// the value as f32 or i32 bits, so one kernel serves both dtypes.

@group(0) @binding(0) var<storage, read_write> out: array<u32>;

struct Params {
  n: u32,     // elements to write
  bits: u32,  // the value's bit pattern
}
@group(0) @binding(1) var<uniform> params: Params;

// One element per invocation. More than 65535 workgroups are folded into y by
// ctx.grid, so the linear id spans both dimensions.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < params.n) {
    out[i] = params.bits;
  }
}
