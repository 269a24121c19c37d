// Browser-safe I/O: safetensors and the run-record formats. The Node file-system
// helpers live in run-record-node.ts (import that file directly from Node code).
export * from "./safetensors.js";
export * from "./run-record.js";
