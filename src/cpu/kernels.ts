// The CPU engine's hot ops, as one replaceable set of functions on typed arrays.
//
// CpuBackend (backend.ts) checks every input and allocates every output, then hands
// the arrays to a kernel set:
//   - referenceKernels: the plain TypeScript of reference/, written to be read,
//     accumulating in float64 (tests compare everything else with it);
//   - the WebAssembly SIMD set (wasm/kernels.ts), the same signatures, for speed.
// Ops that are not hot (indexing, layout, reductions) always run the reference
// code; on the WebAssembly engine it works in place on the heap's typed arrays.

import { attentionBackwardKernel, attentionKernel, ropeKernel } from "./reference/attention.js";
import { affineKernel, binaryKernel, unaryBackwardKernel, unaryKernel } from "./reference/elementwise.js";
import { batchedGemm } from "./reference/matmul.js";
import { adamwKernel, sumSquaresKernel } from "./reference/optim.js";
import {
  crossEntropyBackwardKernel, crossEntropyKernel, rmsnormBackwardKernel, rmsnormKernel, softmaxBackwardKernel,
  softmaxKernel,
} from "./reference/rows.js";

export interface CpuKernels {
  /** "reference" or "wasm-simd" */
  readonly name: string;
  batchedGemm: typeof batchedGemm;
  binary: typeof binaryKernel;
  affine: typeof affineKernel;
  unary: typeof unaryKernel;
  unaryBackward: typeof unaryBackwardKernel;
  softmax: typeof softmaxKernel;
  softmaxBackward: typeof softmaxBackwardKernel;
  crossEntropy: typeof crossEntropyKernel;
  crossEntropyBackward: typeof crossEntropyBackwardKernel;
  rmsnorm: typeof rmsnormKernel;
  rmsnormBackward: typeof rmsnormBackwardKernel;
  rope: typeof ropeKernel;
  attention: typeof attentionKernel;
  attentionBackward: typeof attentionBackwardKernel;
  sumSquares: typeof sumSquaresKernel;
  adamw: typeof adamwKernel;
}

export const referenceKernels: CpuKernels = {
  name: "reference",
  batchedGemm,
  binary: binaryKernel,
  affine: affineKernel,
  unary: unaryKernel,
  unaryBackward: unaryBackwardKernel,
  softmax: softmaxKernel,
  softmaxBackward: softmaxBackwardKernel,
  crossEntropy: crossEntropyKernel,
  crossEntropyBackward: crossEntropyBackwardKernel,
  rmsnorm: rmsnormKernel,
  rmsnormBackward: rmsnormBackwardKernel,
  rope: ropeKernel,
  attention: attentionKernel,
  attentionBackward: attentionBackwardKernel,
  sumSquares: sumSquaresKernel,
  adamw: adamwKernel,
};
