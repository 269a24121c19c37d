// The registry of named jobs the harness can run. The worker looks a job up here by
// name, so every job a page offers must be imported statically below (that is also
// what lets Framework follow the imports and bundle the job's code for the worker).
//
// To add a job: write `export const myJob: JobDef<MyConfig> = {...}` (see jobs.ts and
// jobs/engine-spirals.ts), import it here and add it to JOBS.
import type { JobDef } from "./jobs.js";
import { spiralsJob } from "./jobs/engine-spirals.js";
import { mlaJob } from "./jobs/mla.js";
import { pretrainJob } from "./jobs/pretrain.js";
import { sftJob } from "./jobs/sft.js";
import { grpoJob } from "./jobs/grpo.js";
import { testTimeJob } from "./jobs/test-time.js";
import { moeJob } from "./jobs/moe.js";
import { distillJob } from "./jobs/distill.js";
import { rlhfJob } from "./jobs/rlhf.js";

export const JOBS: Readonly<Record<string, JobDef>> = {
  [spiralsJob.name]: spiralsJob,
  [pretrainJob.name]: pretrainJob,
  [sftJob.name]: sftJob,
  [grpoJob.name]: grpoJob,
  [testTimeJob.name]: testTimeJob,
  [mlaJob.name]: mlaJob,
  [moeJob.name]: moeJob,
  [distillJob.name]: distillJob,
  [rlhfJob.name]: rlhfJob,
};

export function getJob(name: string): JobDef {
  const job = JOBS[name];
  if (!job) throw new Error(`unknown job "${name}"; known jobs: ${Object.keys(JOBS).join(", ")}`);
  return job;
}
