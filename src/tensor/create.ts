// Pick a backend: WebGPU on a GPU, otherwise the CPU engine.
import type { Backend } from "./backend.js";
import { CpuBackend } from "../cpu/index.js";
import { WebGPUBackend } from "../gpu/backend.js";
import { requestDevice, type AdapterReport } from "../gpu/device.js";

export type BackendKind = "webgpu" | "cpu" | "auto";

export interface CreatedBackend {
  backend: Backend;
  /** the adapter report (available: false when there is no WebGPU adapter; null for "cpu") */
  report: AdapterReport | null;
  /** set when "auto" chose the CPU engine: says why, in plain words */
  fallbackReason?: string;
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
  if (kind === "cpu") return { backend: new CpuBackend(), report: null };
  const r = await requestDevice();
  if (r.ok) {
    const report = r.handle.report;
    if (kind === "auto" && report.software && (options.softwareAdapter ?? "avoid") === "avoid") {
      r.handle.release();
      return { backend: new CpuBackend(), report, fallbackReason: SOFTWARE_ADAPTER_REASON };
    }
    return { backend: new WebGPUBackend(r.handle), report };
  }
  if (kind === "webgpu") throw new Error(`no WebGPU adapter: ${r.report.reason}`);
  return { backend: new CpuBackend(), report: r.report, fallbackReason: r.report.reason ?? "no WebGPU adapter" };
}

export async function createBackend(kind: BackendKind = "auto", options: CreateOptions = {}): Promise<Backend> {
  return (await createBackendWithReport(kind, options)).backend;
}
