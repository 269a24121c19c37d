// Batched matrix multiply on the GPU, with three kernels to choose from:
//
//   "tiled"   (kernels/matmul_tiled.wgsl)   64×64 tiles staged in workgroup memory,
//             4×4 outputs per thread: the classic design for real GPUs;
//   "blocked" (kernels/matmul_blocked.wgsl) 4×4 outputs per thread read straight
//             from global memory, no workgroup memory, no barriers: faster on
//             software adapters such as SwiftShader, where barriers are expensive.
//             When the operands' rows line up on 4 floats it runs
//             kernels/matmul_blocked_vec4.wgsl, the same scheme with 16-byte loads
//             (about 1.5× faster on SwiftShader);
//   "naive"   (kernels/matmul_naive.wgsl)   one output per thread: the baseline the
//             benchmark (bench/matmul-variants.ts) compares against.
//
// All three take the same bindings and uniforms, and handle transposed operands with
// pipeline-overridable constants, so the compiler sees four specialised kernels
// rather than a branch in the inner loop.

import type { MatmulOptions } from "../../tensor/backend.js";
import { checkDType, matmulShape } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";

export type MatmulVariant = "tiled" | "blocked" | "naive";
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ["tiled", "blocked", "naive"];

/** outputs (rows × columns of C) covered by one workgroup of each kernel */
const WORKGROUP_TILE: Record<MatmulVariant, { rows: number; cols: number }> = {
  tiled: { rows: 64, cols: 64 }, // 16×16 threads × 4×4 outputs
  blocked: { rows: 32, cols: 32 }, // 8×8 threads × 4×4 outputs
  naive: { rows: 16, cols: 16 }, // 16×16 threads × 1 output
};

/** what an adapter report says that matters for the choice */
export interface AdapterKind {
  software: boolean;
}

/** The kernel that suits an adapter: "blocked" on software adapters, else "tiled". */
export function chooseMatmulKernel(report: AdapterKind): MatmulVariant {
  return report.software ? "blocked" : "tiled";
}

// The choice is kept per device context here rather than on GpuContext, so the
// matmul file owns everything about matmul kernels.
const variants = new WeakMap<GpuContext, MatmulVariant>();

/** Force a kernel for every later matmul on this context (benchmarks, tests). */
export function setMatmulVariant(ctx: GpuContext, variant: MatmulVariant): void {
  if (!MATMUL_VARIANTS.includes(variant)) {
    throw new Error(`setMatmulVariant: unknown variant ${String(variant)} (expected ${MATMUL_VARIANTS.join(", ")})`);
  }
  variants.set(ctx, variant);
}

/** The kernel matmul uses on this context: set explicitly, or picked from the adapter. */
export function getMatmulVariant(ctx: GpuContext): MatmulVariant {
  let v = variants.get(ctx);
  if (!v) {
    // GPUDevice.adapterInfo is recent; older implementations lack it (then: "tiled").
    const info = (ctx.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const text = info ? `${info.vendor} ${info.architecture} ${info.device} ${info.description}` : "";
    v = chooseMatmulKernel({ software: /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(text) });
    variants.set(ctx, v);
  }
  return v;
}

/**
 * Whether every vec4 the vec4 kernel reads lies inside one row of its operand:
 * A [M, K] needs K % 4 = 0 (A [K, M]: M % 4 = 0), B [K, N] needs N % 4 = 0
 * (B [N, K]: K % 4 = 0), and the loop steps K by 4.
 */
export function vec4Aligned(M: number, N: number, K: number, opts: MatmulOptions = {}): boolean {
  return K % 4 === 0 && (!opts.transA || M % 4 === 0) && (!!opts.transB || N % 4 === 0);
}

/**
 * C = op(a) · op(b), batched (see Backend.matmul). Counts 2·batch·M·N·K flops.
 * `variant` overrides the context's kernel for this one call.
 */
export function matmul(ctx: GpuContext, a: GpuTensor, b: GpuTensor, opts: MatmulOptions = {}, variant?: MatmulVariant): GpuTensor {
  checkDType("matmul", a, "f32", "a");
  checkDType("matmul", b, "f32", "b");
  const s = matmulShape(a.shape, b.shape, opts);
  const { M, N, K, batchCount } = s;
  const out = ctx.empty(s.outShape, "f32");
  if (M === 0 || N === 0 || batchCount === 0) return out;

  const v = variant ?? getMatmulVariant(ctx);
  const tile = WORKGROUP_TILE[v];
  const kernel = v === "blocked" && vec4Aligned(M, N, K, opts) ? "matmul_blocked_vec4" : `matmul_${v}`;
  const constants = { TRANS_A: opts.transA ? 1 : 0, TRANS_B: opts.transB ? 1 : 0 };
  const strideA = s.aShared ? 0 : M * K;
  const strideB = s.bShared ? 0 : K * N;
  // The batch runs along z; more batches than a dimension allows take several dispatches.
  for (let batch0 = 0; batch0 < batchCount; batch0 += ctx.maxWorkgroups) {
    const batches = Math.min(ctx.maxWorkgroups, batchCount - batch0);
    ctx.dispatch({
      kernel,
      constants,
      buffers: [a, b, out],
      uniforms: [M, N, K, strideA, strideB, batch0],
      workgroups: [Math.ceil(N / tile.cols), Math.ceil(M / tile.rows), batches],
      flops: 2 * batches * M * N * K,
    });
  }
  return out;
}
