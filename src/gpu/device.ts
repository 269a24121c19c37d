// Getting a WebGPU device, in the browser (navigator.gpu) and in Node (the `webgpu`
// npm package: Google's Dawn). One function, `requestDevice`, hides the difference.
//
// On a machine without a GPU, Dawn can run on SwiftShader, the CPU Vulkan driver
// that Debian's `chromium` package ships. We point Vulkan at it when no other
// driver is configured, so `npm test` and the CLI find an adapter by themselves.

export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/** What a page or `r1-lab info` shows about the adapter. */
export interface AdapterReport {
  available: boolean;
  /** where the device came from */
  runtime: "browser" | "node" | "none";
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** true for software adapters such as SwiftShader: slow, and timings mean little */
  software: boolean;
  features: string[];
  limits: Record<string, number>;
  /** why there is no adapter, in plain words (only when available is false) */
  reason?: string;
}

export interface GpuHandle {
  device: GPUDevice;
  adapter: GPUAdapter;
  report: AdapterReport;
  /** release the device and (in Node) the Dawn instance, so the process can exit */
  release(): void;
}

// Limits worth showing; the full GPUSupportedLimits object has ~30 entries.
const LIMIT_NAMES = [
  "maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX", "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension", "maxStorageBuffersPerShaderStage", "maxBindGroups",
  "minStorageBufferOffsetAlignment",
] as const;

type NodeGpuModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };
let nodeGpu: { gpu: GPU; users: number } | null = null;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return !!p?.versions?.node;
}

async function nodeGPU(): Promise<GPU | null> {
  if (nodeGpu) {
    nodeGpu.users++;
    return nodeGpu.gpu;
  }
  const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;
  const fs = (await import(/* @vite-ignore */ "node:fs")) as typeof import("node:fs");
  if (!env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  // Dawn prints "XDG_RUNTIME_DIR is invalid" on every start without one; give it a private dir.
  if (!env.XDG_RUNTIME_DIR) {
    const dir = `${(await import(/* @vite-ignore */ "node:os")).tmpdir()}/r1-lab-runtime-${process.getuid?.() ?? 0}`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  // A computed specifier keeps browser bundlers from trying to bundle the native module.
  const specifier = "webgpu";
  let mod: NodeGpuModule;
  try {
    mod = (await import(/* @vite-ignore */ specifier)) as NodeGpuModule;
  } catch {
    return null;
  }
  Object.assign(globalThis, mod.globals); // GPUBufferUsage, GPUMapMode, ...
  nodeGpu = { gpu: mod.create([]), users: 1 };
  return nodeGpu.gpu;
}

function releaseNodeGPU(): void {
  if (nodeGpu && --nodeGpu.users <= 0) nodeGpu = null; // dropping the reference lets Node exit
}

function noAdapter(runtime: AdapterReport["runtime"], reason: string): AdapterReport {
  return {
    available: false, runtime, vendor: "", architecture: "", device: "", description: "",
    software: false, features: [], limits: {}, reason,
  };
}

function reportOf(adapter: GPUAdapter, device: GPUDevice, runtime: "browser" | "node"): AdapterReport {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) limits[name] = Number(device.limits[name]);
  const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.device ?? ""} ${info.description ?? ""}`;
  return {
    available: true,
    runtime,
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    description: info.description ?? "",
    software: /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(text),
    features: [...device.features].map(String).sort(),
    limits,
  };
}

/**
 * Ask for a WebGPU device. Resolves to null-free results: either a handle, or a
 * report explaining what is missing (never throws for "no WebGPU here").
 */
export async function requestDevice(): Promise<{ ok: true; handle: GpuHandle } | { ok: false; report: AdapterReport }> {
  const inBrowser = typeof navigator !== "undefined" && "gpu" in navigator && !isNode();
  let gpu: GPU | null = null;
  const runtime: "browser" | "node" = isNode() ? "node" : "browser";
  if (inBrowser) gpu = navigator.gpu;
  else if (isNode()) gpu = await nodeGPU();
  if (!gpu) {
    return {
      ok: false,
      report: noAdapter(
        "none",
        runtime === "browser"
          ? "This browser does not expose WebGPU (navigator.gpu is missing). Chrome and Edge 113+, Safari 26+ and Firefox 141+ (Windows) have it; on Linux, Chrome needs --enable-unsafe-webgpu."
          : "The `webgpu` npm package could not be loaded, so Node has no WebGPU.",
      ),
    };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    adapter = null;
  }
  if (!adapter) {
    if (runtime === "node") releaseNodeGPU();
    return {
      ok: false,
      report: noAdapter(
        runtime,
        runtime === "node"
          ? `WebGPU found no adapter. On a machine without a GPU install Debian's chromium and libvulkan1 (apt-get install chromium libvulkan1) for the SwiftShader driver at ${SWIFTSHADER_ICD}.`
          : "WebGPU is present but offered no adapter (the GPU may be blocklisted or disabled).",
      ),
    };
  }
  // Ask for the adapter's own buffer size limits, not the defaults, so larger
  // tensors fit. The kernels' limits (storage buffers per stage, workgroup memory and
  // invocations) stay at WebGPU's defaults, which every adapter offers: a kernel that
  // needs more then fails here, in the tests, not on a learner's adapter.
  const want: Record<string, number> = {};
  for (const name of ["maxStorageBufferBindingSize", "maxBufferSize"] as const) {
    want[name] = Number(adapter.limits[name]);
  }
  const features: GPUFeatureName[] = [];
  if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
  if (adapter.features.has("subgroups")) features.push("subgroups" as GPUFeatureName);
  const device = await adapter.requestDevice({ requiredLimits: want, requiredFeatures: features });
  const report = reportOf(adapter, device, runtime);
  let released = false;
  return {
    ok: true,
    handle: {
      device, adapter, report,
      release() {
        if (released) return;
        released = true;
        device.destroy();
        if (runtime === "node") releaseNodeGPU();
      },
    },
  };
}

/** Just the report (for the WebGPU panel and `r1-lab info`); releases the device again. */
export async function probeWebGPU(): Promise<AdapterReport> {
  const r = await requestDevice();
  if (!r.ok) return r.report;
  r.handle.release();
  return r.handle.report;
}
