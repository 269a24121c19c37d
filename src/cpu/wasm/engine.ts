// Loading the WebAssembly kernels: compile the module once per page or process,
// then give each backend its own instance, memory and heap.
//
// Compiling synchronously (createWasmEngineSync) works in Node and in Workers, where
// the pages train; a browser's main thread refuses to compile modules over 4 KiB
// synchronously, so code there uses createWasmEngine(), which awaits.

import { WASM_BASE64, WASM_SHA256 } from "./kernels.generated.js";
import { WasmHeap, type HeapOptions } from "./heap.js";
import { WasmKernels, type KernelExports } from "./kernels.js";

export interface WasmEngine {
  readonly heap: WasmHeap;
  readonly kernels: WasmKernels;
  /** sha256 prefix of the module, so a run record can say exactly which kernels made it */
  readonly moduleHash: string;
}

let compiled: WebAssembly.Module | null = null;

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Why this JavaScript engine cannot run the kernels (no WebAssembly, or no SIMD), or null when it can. */
export function wasmUnavailableReason(): string | null {
  if (typeof WebAssembly !== "object") return "this browser has no WebAssembly";
  if (!WebAssembly.validate(moduleBytes())) return "this browser's WebAssembly has no 128-bit SIMD";
  return null;
}

function instantiate(module: WebAssembly.Module, opts: HeapOptions): WasmEngine {
  const memory = new WebAssembly.Memory({ initial: 16 });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as KernelExports;
  const heap = new WasmHeap(memory, exports.heapBase(), opts);
  return { heap, kernels: new WasmKernels(exports, heap), moduleHash: WASM_SHA256 };
}

/** An engine, compiled synchronously (Node, Workers). */
export function createWasmEngineSync(opts: HeapOptions = {}): WasmEngine {
  compiled ??= new WebAssembly.Module(moduleBytes());
  return instantiate(compiled, opts);
}

/** An engine, compiled without blocking (anywhere, the browser's main thread included). */
export async function createWasmEngine(opts: HeapOptions = {}): Promise<WasmEngine> {
  compiled ??= await WebAssembly.compile(moduleBytes());
  return instantiate(compiled, opts);
}
