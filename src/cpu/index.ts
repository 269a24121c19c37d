export { CpuBackend, type CpuBackendOptions, type CpuPrecision } from "./backend.js";
export { CpuTensor } from "./tensor.js";
export { createWasmEngine, createWasmEngineSync, wasmUnavailableReason, type WasmEngine } from "./wasm/engine.js";
import { CpuBackend } from "./backend.js";
import { createWasmEngine, wasmUnavailableReason } from "./wasm/engine.js";

/**
 * The CPU engine `--backend cpu` runs: the WebAssembly SIMD kernels, or the reference
 * kernels (with the reason) where this JavaScript engine cannot run them.
 * `engine: "reference"` asks for the reference engine, to compare.
 */
export async function createCpuBackend(engine: "wasm" | "reference" = "wasm"): Promise<{ backend: CpuBackend; fallbackReason?: string }> {
  if (engine === "reference") return { backend: new CpuBackend() };
  const why = wasmUnavailableReason();
  if (why) return { backend: new CpuBackend(), fallbackReason: `${why}: using the plain TypeScript CPU engine` };
  return { backend: new CpuBackend({ wasm: await createWasmEngine() }) };
}
