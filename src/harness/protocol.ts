// Messages between the page (controller.ts) and the training worker (worker.ts).
import type { AdapterReport } from "../gpu/device.js";
import type { BackendStats } from "../tensor/backend.js";
import type { JobConfig, MetricRecord } from "./jobs.js";

export type BackendChoice = "auto" | "webgpu" | "cpu";

/** page → worker */
export type ToWorker =
  /**
   * start a job; mode "step" runs one record and pauses; mode "time" runs a few steps
   * without the page's pictures, reports how long a step takes ("timed") and stops
   */
  | {
    type: "start"; job: string; config: JobConfig; backend: BackendChoice; mode: "run" | "step" | "time";
    /** save the run in the browser (saved-runs.ts) as run `runId`, every `every` steps and when paused */
    save?: { runId: string; every: number };
    /** continue saved run `save.runId` from its file instead of starting afresh */
    resume?: boolean;
  }
  | { type: "pause" }
  | { type: "resume" }
  /** run one more record, then pause */
  | { type: "step" }
  /** save the run at the next step boundary (the page is being hidden or closed) */
  | { type: "checkpoint" }
  /** destroy the GPU device, to exercise the device-lost path (tests, and the lesson's "what if" button) */
  | { type: "lose-device" };

export interface BackendInfo {
  name: "webgpu" | "cpu";
  description: string;
  adapter: AdapterReport | null;
  /** why the CPU engine was used although WebGPU was asked for, if it was */
  fallbackReason?: string;
}

/** worker → page */
export type FromWorker =
  | { type: "ready"; backend: BackendInfo }
  | { type: "metrics"; records: MetricRecord[]; stats: BackendStats }
  /** a picture of the run from JobContext.emit (after the metrics that preceded it) */
  | { type: "view"; name: string; payload: unknown }
  | { type: "paused"; step: number }
  | { type: "resumed" }
  | { type: "done"; steps: number; wallS: number; stats: BackendStats }
  /** mode "time": the mean time of the steps after the first, and how long start-up and the first step took */
  | { type: "timed"; msPerStep: number; timedSteps: number; setupMs: number; engine: "webgpu" | "cpu" }
  | { type: "error"; message: string }
  /** a resumed run: the records it had when it was saved (the charts redraw them), before any new one */
  | { type: "restored"; step: number; records: MetricRecord[] }
  /** the run was saved after `step` steps, in a file of `bytes` bytes */
  | { type: "saved"; step: number; bytes: number }
  /** a save failed (a full disk, most likely); the run goes on, the previous checkpoint is kept */
  | { type: "save-failed"; message: string }
  | { type: "device-lost"; message: string };
