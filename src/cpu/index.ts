export { CpuBackend, type CpuBackendOptions, type CpuPrecision } from "./backend.js";
export { CpuTensor } from "./tensor.js";
