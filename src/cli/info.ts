// r1-lab info: what WebGPU adapter this machine offers, or why there is none.
import { probeWebGPU } from "../gpu/device.js";
import { COMMON_OPTIONS, parse } from "./args.js";

export async function info(argv: string[], print: (s: string) => void): Promise<number> {
  const { values } = parse(argv, { json: COMMON_OPTIONS.json });
  const report = await probeWebGPU();
  if (values.json) {
    print(JSON.stringify({ webgpu: report, cpuFallback: !report.available, node: process.version }, null, 2));
    return 0;
  }
  if (!report.available) {
    print(`WebGPU: no adapter. ${report.reason}`);
    print("Fallback: the CPU engine (--backend cpu) runs everything, more slowly.");
    return 0;
  }
  print(`WebGPU adapter: ${[report.vendor, report.architecture, report.device].filter(Boolean).join(" / ")}`);
  if (report.description) print(`  description: ${report.description}`);
  print(`  runtime: ${report.runtime}${report.software ? " (software adapter: correct but slow; timings say little about real GPUs)" : ""}`);
  if (report.software) print("  --backend auto trains on the CPU engine here, which is faster than a software adapter; --backend webgpu uses the adapter");
  print(`  features: ${report.features.join(", ") || "(none)"}`);
  print("  limits:");
  for (const [k, v] of Object.entries(report.limits)) print(`    ${k.padEnd(36)} ${v}`);
  return 0;
}
