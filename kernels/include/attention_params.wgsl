// Shared by the general attention kernels (inlined by scripts/gen-kernels.mjs): their
// uniform parameters, in the order src/gpu/ops/attention.ts packs them.
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
}
