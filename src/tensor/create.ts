// Pick a backend: WebGPU on a GPU, otherwise the CPU engine (WebAssembly SIMD).
import type { Backend } from "./backend.js";
import { createCpuBackend } from "../cpu/index.js";
import { WebGPUBackend } from "../gpu/backend.js";
import { requestDevice, type AdapterReport } from "../gpu/device.js";

/** "cpu-reference": the plain TypeScript CPU engine, for comparing with the fast one */
export type BackendKind = "webgpu" | "cpu" | "auto" | "cpu-reference";
export const BACKEND_KINDS = ["auto", "webgpu", "cpu", "cpu-reference"] as const;

export interface CreatedBackend {
  backend: Backend;
  /** the adapter report (available: false when there is no WebGPU adapter; null for "cpu") */
  report: AdapterReport | null;
  /** set when "auto" chose the CPU engine (or "cpu" the reference one): says why, in plain words */
  fallbackReason?: string;
  /** the --backend value that gives this backend again (for run records): webgpu, cpu or cpu-reference */
  kind: "webgpu" | "cpu" | "cpu-reference";
  /** the adapter in words: the WebGPU adapter, or which CPU engine */
  adapter: string;
}

export interface CreateOptions {
  /**
   * What "auto" does with a software adapter (SwiftShader and the like): "avoid" it
   * (the default) and run the CPU engine, which trains this kit's models about 5×
   * faster there (bench/RESULTS.md), or "use" it, for checks that are about WebGPU.
   */
  softwareAdapter?: "avoid" | "use";
}

/** The fallback reason "auto" gives when the only adapter is a software one. */
export const SOFTWARE_ADAPTER_REASON =
  "the WebGPU adapter here is a software one, which runs on the CPU; the CPU engine is about 5× faster on it";

/**
 * "webgpu" fails with the adapter report's reason when there is no adapter, and
 * uses a software adapter if that is all there is. "auto" takes WebGPU on a real
 * GPU, and otherwise the CPU engine, saying why.
 */
export async function createBackendWithReport(kind: BackendKind = "auto", options: CreateOptions = {}): Promise<CreatedBackend> {
  if (kind === "cpu" || kind === "cpu-reference") return cpu(kind, null);
  const r = await requestDevice();
  if (r.ok) {
    const report = r.handle.report;
    if (kind === "auto" && report.software && (options.softwareAdapter ?? "avoid") === "avoid") {
      r.handle.release();
      return cpu("cpu", report, SOFTWARE_ADAPTER_REASON);
    }
    const adapter = [report.vendor, report.architecture, report.description].filter(Boolean).join(" / ");
    return { backend: new WebGPUBackend(r.handle), report, kind: "webgpu", adapter };
  }
  if (kind === "webgpu") throw new Error(`no WebGPU adapter: ${r.report.reason}`);
  return cpu("cpu", r.report, r.report.reason ?? "no WebGPU adapter");
}

async function cpu(kind: "cpu" | "cpu-reference", report: AdapterReport | null, why?: string): Promise<CreatedBackend> {
  const { backend, fallbackReason } = await createCpuBackend(kind === "cpu" ? "wasm" : "reference");
  const reason = [why, fallbackReason].filter(Boolean).join("; ");
  const resolved = backend.engine === "reference" ? "cpu-reference" : "cpu";
  const adapter = resolved === "cpu" ? "cpu (WebAssembly SIMD)" : "cpu (TypeScript reference)";
  return { backend, report, kind: resolved, adapter, ...(reason ? { fallbackReason: reason } : {}) };
}

export async function createBackend(kind: BackendKind = "auto", options: CreateOptions = {}): Promise<Backend> {
  return (await createBackendWithReport(kind, options)).backend;
}
