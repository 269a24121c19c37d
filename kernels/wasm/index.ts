// The CPU engine's WebAssembly kernels: the module's exports. Every pointer is a
// byte offset into the one memory the host (src/cpu/wasm/) gives the module; the
// kernels never allocate: scratch space comes from the host too.
export { batchedGemm, gemmScratchFloats } from "./matmul";
export { affine, binary, hasUnary, unary, unaryBackward } from "./elementwise";
export { crossEntropy, crossEntropyBackward, rmsnorm, rmsnormBackward, softmax, softmaxBackward } from "./rows";
export { attention, attentionBackward, rope } from "./attention";
export { adamw, sumSquares } from "./optim";

/** the first byte after the module's static data (the log tables of Math.log): the host allocates above it */
export function heapBase(): usize {
  return __heap_base;
}
