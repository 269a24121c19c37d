// Batched matrix product C = op(A) · op(B), tiled for real GPUs.
//
// Each workgroup of 16×16 threads computes a 64×64 tile of C. The K axis is walked
// 16 at a time: the threads first copy a 64×16 slab of A and a 16×64 slab of B into
// workgroup memory (each value read from global memory once per workgroup instead
// of 64 times), wait at a barrier, then each thread multiplies its own 4×4 block of
// C out of the shared slabs. Loads outside the matrix write 0 into the slab, so M, N
// and K need not be multiples of the tile.
//
// Layouts: A is [M, K] (or [K, M] with TRANS_A), B is [K, N] (or [N, K] with TRANS_B),
// C is [M, N]; batch z reads A at z·strideA (0 when A is shared) and B at z·strideB.

override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  strideA: u32,
  strideB: u32,
  batch0: u32, // first batch of this dispatch (huge batches are split over dispatches)
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TILE_M = 64u;
const TILE_N = 64u;
const TILE_K = 16u;

// Slabs stored k-major as vec4s: slabA[k * 16 + r] holds rows 4r..4r+3 at depth k, so
// the inner loop reads a thread's 4 rows (or 4 columns) with one 16-byte load.
// 2 × 16 × 16 × 16 bytes = 8 KiB of workgroup memory.
var<workgroup> slabA: array<vec4<f32>, 256>;
var<workgroup> slabB: array<vec4<f32>, 256>;

fn loadA(base: u32, i: u32, k: u32) -> f32 {
  if (i >= p.M || k >= p.K) { return 0.0; }
  if (TRANS_A) { return A[base + k * p.M + i]; }
  return A[base + i * p.K + k];
}

fn loadB(base: u32, k: u32, j: u32) -> f32 {
  if (k >= p.K || j >= p.N) { return 0.0; }
  if (TRANS_B) { return B[base + j * p.K + k]; }
  return B[base + k * p.N + j];
}

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let batch = wg.z + p.batch0;
  let aBase = batch * p.strideA;
  let bBase = batch * p.strideB;
  let row0 = wg.y * TILE_M;
  let col0 = wg.x * TILE_N;

  var acc: array<vec4<f32>, 4>; // acc[r] = C[row0 + 4·ty + r, col0 + 4·tx .. +3]
  let nTiles = (p.K + TILE_K - 1u) / TILE_K;
  for (var t = 0u; t < nTiles; t++) {
    let k0 = t * TILE_K;
    // 256 threads copy 1024 values of each slab, 4 each. The thread→element mapping
    // follows the contiguous axis in global memory so neighbouring threads read
    // neighbouring addresses.
    for (var r = 0u; r < 4u; r++) {
      let f = li + r * 256u;
      var m: u32;
      var k: u32;
      if (TRANS_A) { k = f / TILE_M; m = f % TILE_M; } else { m = f / TILE_K; k = f % TILE_K; }
      slabA[k * 16u + m / 4u][m % 4u] = loadA(aBase, row0 + m, k0 + k);
      var n: u32;
      if (TRANS_B) { n = f / TILE_K; k = f % TILE_K; } else { k = f / TILE_N; n = f % TILE_N; }
      slabB[k * 16u + n / 4u][n % 4u] = loadB(bBase, k0 + k, col0 + n);
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      let a = slabA[k * 16u + lid.y];
      let b = slabB[k * 16u + lid.x];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier(); // nobody refills the slabs while others still read them
  }

  let cBase = batch * p.M * p.N;
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + lid.y * 4u + r;
    if (i >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = col0 + lid.x * 4u + c;
      if (j < p.N) { C[cBase + i * p.N + j] = acc[r][c]; }
    }
  }
}
