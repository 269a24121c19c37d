// Pick a backend: WebGPU when an adapter exists, otherwise the CPU engine.
import type { Backend } from "./backend.js";
import { CpuBackend } from "../cpu/index.js";
import { WebGPUBackend } from "../gpu/backend.js";
import { requestDevice, type AdapterReport } from "../gpu/device.js";

export type BackendKind = "webgpu" | "cpu" | "auto";

export interface CreatedBackend {
  backend: Backend;
  /** the adapter report (available: false when the CPU engine was chosen for lack of WebGPU) */
  report: AdapterReport | null;
  /** set when "auto" fell back to the CPU: says why, in plain words */
  fallbackReason?: string;
}

/**
 * "webgpu" fails with the adapter report's reason when there is no adapter;
 * "auto" falls back to the CPU engine and says why.
 */
export async function createBackendWithReport(kind: BackendKind = "auto"): Promise<CreatedBackend> {
  if (kind === "cpu") return { backend: new CpuBackend(), report: null };
  const r = await requestDevice();
  if (r.ok) return { backend: new WebGPUBackend(r.handle), report: r.handle.report };
  if (kind === "webgpu") throw new Error(`no WebGPU adapter: ${r.report.reason}`);
  return { backend: new CpuBackend(), report: r.report, fallbackReason: r.report.reason ?? "no WebGPU adapter" };
}

export async function createBackend(kind: BackendKind = "auto"): Promise<Backend> {
  return (await createBackendWithReport(kind)).backend;
}
