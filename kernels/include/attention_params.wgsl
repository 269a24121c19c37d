// Shared by the general attention kernels (inlined by scripts/gen-kernels.mjs): their
// uniform parameters, in the order src/gpu/ops/attention.ts packs them, and the
// left-padding rule (each kernel binds `keyStart`).
struct Params {
  Tq: u32,
  Hq: u32,
  D: u32,
  Tk: u32,
  Hkv: u32,
  Dv: u32,
  kvLen: u32,
  group: u32,
  causal: u32,
  chunks: u32, // ⌈head size / 64⌉ (of the size the kernel loops over), at least 1
  threads: u32, // rows · chunks
  scale: f32,
  hasKeyStart: u32, // 1: keyStart holds each batch row's first real position (left padding)
  rows: u32, // B·Tq·Hq: in the backward kernels' stats buffer, delta starts here
}

// The first key a query of batch row b may see, given the last one it may see:
// min(keyStart[b], last) with left padding (AttentionOptions.keyStart), else 0.
// A padding query (last < keyStart[b]) so sees only itself and stays finite.
fn firstKey(b: u32, last: u32) -> u32 {
  if (p.hasKeyStart == 0u) { return 0u; }
  return min(u32(max(keyStart[b], 0)), last);
}
