// Page runs that survive a reload (issue 17), the parts that need no browser:
// - a resumable job stopped after k steps, saved to a file's bytes and continued from
//   them, gives the same records (losses, gradient norms, …) as an uninterrupted run
//   on the same engine, for the pretrain, SFT, MoE, GRPO, distillation and MLA jobs;
// - a save that runs out of quota half-way leaves the previous checkpoint whole and
//   says the storage is full; a good save replaces the older file.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { JOBS } from "../../src/harness/registry.js";
import type { JobConfig, JobContext, JobState, MetricRecord } from "../../src/harness/jobs.js";
import { CpuBackend } from "../../src/cpu/index.js";
import {
  decodeSavedRun, encodeSavedRun, listSavedRuns, readSavedRun, writeSavedRun, type RunDirectory, type RunFileHandle, type SavedRunInfo,
} from "../../src/harness/saved-runs.js";

const ROOT = join(import.meta.dirname, "..", "..");
const shipped = (dir: string) => `data:application/octet-stream;base64,${readFileSync(join(ROOT, "data/checkpoints", dir, "model.safetensors")).toString("base64")}`;

function ciConfig(job: string): JobConfig {
  const c = { ...JOBS[job]!.presets["ci"]! };
  if (c["checkpointUrl"] === "") c["checkpointUrl"] = shipped("pretrain-default");
  if (c["sftCheckpointUrl"] === "") c["sftCheckpointUrl"] = shipped("sft-default");
  return c;
}
const strip = (rs: MetricRecord[]) => rs.map(({ ms_per_step: _, ...rest }) => rest);

/** Run a job to the end, or stop after `stopAt` records and return its saved state. */
async function drive(job: string, config: JobConfig, resume?: JobState, stopAt?: number): Promise<{ records: MetricRecord[]; state: JobState | null }> {
  const backend = new CpuBackend();
  let read: (() => Promise<JobState>) | null = null;
  const context: JobContext = { emit() {}, ...(resume ? { resume } : {}), saveable(fn) { read = fn; } };
  const records: MetricRecord[] = [];
  let state: JobState | null = null;
  const gen = JOBS[job]!.run(config, backend, context);
  for (;;) {
    const r = await gen.next();
    if (r.done) break;
    records.push(r.value);
    if (records.length === stopAt) {
      state = await read!();
      await gen.return(undefined);
      break;
    }
  }
  backend.destroy();
  return { records, state };
}

describe("a resumed page run equals an uninterrupted one", () => {
  for (const job of ["pretrain", "sft", "moe", "grpo", "distill", "mla"]) {
    test(`${job}: stop half-way, save to bytes, continue: the same records step by step`, { timeout: 300_000 }, async () => {
      const config = ciConfig(job);
      config.steps = Math.max(config.steps, 4); // GRPO's ci preset is shorter: a save half-way through 4 steps
      const whole = await drive(job, config);
      assert.equal(whole.records.length, config.steps);
      const k = Math.max(1, Math.floor(config.steps / 2));
      assert.ok(config.steps > k, "steps are left after the save");
      const first = await drive(job, config, undefined, k);
      assert.equal(first.state!.step, k);
      const info: SavedRunInfo = { runId: "test-0001", job, config, step: k, engine: "cpu", savedAt: 0 };
      const saved = decodeSavedRun(encodeSavedRun(info, first.state!, first.records));
      assert.deepEqual(saved.info, info);
      assert.equal(saved.records.length, k);
      const rest = await drive(job, config, saved.state);
      assert.equal(rest.records[0]!.step, k + 1, "the resumed run starts at the step after the checkpoint");
      assert.deepEqual(strip([...saved.records, ...rest.records]), strip(whole.records));
    });
  }
});

/** An in-memory OPFS directory; `failNext` makes the next write throw like a full disk. */
class MemoryDir implements RunDirectory {
  files = new Map<string, Uint8Array>();
  dirs = new Map<string, MemoryDir>();
  failNext = false;
  async getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<RunDirectory> {
    let d = this.dirs.get(name);
    if (!d) {
      if (!options?.create) throw Object.assign(new Error(`${name} not found`), { name: "NotFoundError" });
      d = new MemoryDir();
      this.dirs.set(name, d);
    }
    return d;
  }
  async getFileHandle(name: string, options?: { create?: boolean }): Promise<RunFileHandle> {
    if (!this.files.has(name)) {
      if (!options?.create) throw Object.assign(new Error(`${name} not found`), { name: "NotFoundError" });
      this.files.set(name, new Uint8Array(0));
    }
    return {
      getFile: async () => new Blob([this.files.get(name)!.slice()]),
      createWritable: async () => {
        let buf = new Uint8Array(0);
        return {
          write: async (data: Uint8Array) => {
            if (this.failNext) {
              this.failNext = false;
              this.files.set(name, data.subarray(0, 100)); // what a real disk may leave behind
              throw Object.assign(new Error("The operation failed because it would cause the application to exceed its storage quota."), { name: "QuotaExceededError" });
            }
            buf = data.slice();
          },
          close: async () => { this.files.set(name, buf); },
          abort: async () => {},
        };
      },
    };
  }
  async removeEntry(name: string): Promise<void> { this.files.delete(name); }
  async *keys(): AsyncIterable<string> { yield* [...this.files.keys(), ...this.dirs.keys()]; }
}

describe("saving in the browser's file system", () => {
  const state = (step: number): JobState => ({
    step,
    model: { "w": { dtype: "F32", shape: [2], data: Float32Array.from([step, 1]) } },
    optimizer: { "m.w": { dtype: "F32", shape: [2], data: Float32Array.from([0, step]) } },
  });
  const config: JobConfig = { seed: 1, steps: 10 };
  const info = (step: number): SavedRunInfo => ({ runId: "abc-0001", job: "pretrain", config, step, engine: "cpu", savedAt: step });
  const rec = (n: number): MetricRecord[] => Array.from({ length: n }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1) }));

  test("a quota error keeps the previous checkpoint whole and says the storage is full; a good save replaces it", async () => {
    const root = new MemoryDir();
    await writeSavedRun(root, info(3), state(3), rec(3));
    const dir = root.dirs.get("r1-lab-runs")!.dirs.get("pretrain")!;
    assert.equal(dir.files.size, 1);

    dir.failNext = true;
    await assert.rejects(writeSavedRun(root, info(5), state(5), rec(5)), /storage for this site is full.*previous one is kept/);
    assert.equal(dir.files.size, 1, "the half-written file is removed");
    const listed = await listSavedRuns(root, "pretrain");
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.step, 3);
    assert.ok(listed[0]!.bytes > 0);
    const back = await readSavedRun(root, "pretrain", "abc-0001");
    assert.deepEqual(Array.from(back.state.model["w"]!.data), [3, 1]);
    assert.equal(back.records.length, 3);

    await writeSavedRun(root, info(5), state(5), rec(5));
    assert.equal(dir.files.size, 1, "the older file goes once the new one is complete");
    assert.equal((await listSavedRuns(root, "pretrain"))[0]!.step, 5);
  });
});
