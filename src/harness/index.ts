// The run harness: a registry of jobs, a worker that runs them, and the controls.
export { createHarness, pageHasWebGPU, type Harness, type HarnessOptions, type HarnessState } from "./controller.js";
export { JOBS, getJob } from "./registry.js";
export {
  allParams, checkJobDef, parseParam, validateConfig,
  type ChartSpec, type JobConfig, type JobDef, type MetricRecord, type ParamSpec, type ParamValue,
} from "./jobs.js";
export type { BackendChoice, BackendInfo, FromWorker, ToWorker } from "./protocol.js";
