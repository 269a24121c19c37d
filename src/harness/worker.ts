// The training worker: runs one job from the registry, off the page's main thread,
// so the page stays responsive however heavy a step is. Started by controller.ts as
//   new Worker(import.meta.resolve("./worker.js"), { type: "module" })
// It creates the backend itself (WebGPU is available in workers), pulls records from
// the job one at a time (that is what makes Pause and Step exact) and streams them
// back in small batches.
import { createBackendWithReport } from "../tensor/create.js";
import type { Backend } from "../tensor/backend.js";
import type { WebGPUBackend } from "../gpu/backend.js";
import { getJob } from "./registry.js";
import type { JobConfig, JobContext, JobState, MetricRecord } from "./jobs.js";
import type { BackendChoice, BackendInfo, FromWorker, ToWorker } from "./protocol.js";
import { browserRunRoot, deleteSavedRun, readSavedRun, writeSavedRun, type RunDirectory } from "./saved-runs.js";

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker) => scope.postMessage(m);

let backend: Backend | null = null;
let started = false;
let paused = false;
/** records still allowed while paused (Step) */
let budget = 0;
let wake: (() => void) | null = null;
let lost: string | null = null;
let simulatedLoss = false;
let pending: MetricRecord[] = [];
/** mode "time": stop after this many steps, or once this much time has been measured */
const TIME_MAX_STEPS = 30;
const TIME_MIN_STEPS = 2;
const TIME_BUDGET_MS = 1500;
let lastFlush = 0;
/** the page asked for a save at the next step boundary */
let saveRequested = false;

/** Saving the run in the browser (saved-runs.ts), for a resumable job when the page asks. */
interface Saver {
  root: RunDirectory;
  runId: string;
  job: string;
  config: JobConfig;
  every: number;
  /** the job's state reader (JobContext.saveable) */
  read: (() => Promise<JobState>) | null;
  /** every record of the run so far, restored ones included */
  records: MetricRecord[];
  lastSaved: number;
}
let saver: Saver | null = null;

/** Save the run if it has moved since the last save (between two steps only). */
async function save(step: number): Promise<void> {
  saveRequested = false;
  const s = saver;
  if (!s?.read || !backend || lost || s.lastSaved === step) return;
  try {
    const state = await s.read();
    const info = { runId: s.runId, job: s.job, config: s.config, step: state.step, engine: backend.name, savedAt: Date.now() };
    const bytes = await writeSavedRun(s.root, info, state, s.records);
    s.lastSaved = step;
    post({ type: "saved", step: state.step, bytes });
  } catch (e) {
    if (lost) return; // the device went while reading it back: device-lost says so
    post({ type: "save-failed", message: e instanceof Error ? e.message : String(e) });
  }
}

function flush(): void {
  if (!pending.length || !backend) return;
  post({ type: "metrics", records: pending, stats: backend.stats() });
  pending = [];
  lastFlush = performance.now();
}

function wakeUp(): void {
  const w = wake;
  wake = null;
  w?.();
}

scope.onmessage = (event) => {
  const m = event.data;
  switch (m.type) {
    case "start":
      if (started) return;
      started = true;
      paused = m.mode === "step";
      budget = m.mode === "step" ? 1 : 0;
      if (m.mode === "time") void time(m.job, m.config, m.backend);
      else void run(m.job, m.config, m.backend, m.save, m.resume ?? false);
      break;
    case "pause":
      paused = true;
      budget = 0;
      break;
    case "resume":
      paused = false;
      post({ type: "resumed" });
      wakeUp();
      break;
    case "step":
      paused = true;
      budget++;
      wakeUp();
      break;
    case "checkpoint":
      saveRequested = true; // a paused run was saved when it paused
      break;
    case "lose-device": {
      if (backend?.name === "webgpu") {
        simulatedLoss = true;
        (backend as WebGPUBackend).handle.device.destroy();
      }
      break;
    }
  }
};

async function run(
  jobName: string, config: JobConfig, choice: BackendChoice, saveAs: { runId: string; every: number } | undefined, resume: boolean,
): Promise<void> {
  const t0 = performance.now();
  let steps = 0;
  try {
    const job = getJob(jobName);
    const restored = await startSaving(jobName, config, saveAs, resume);
    if (restored) steps = restored.step;
    const created = await createBackendWithReport(choice);
    backend = created.backend;
    const info: BackendInfo = {
      name: backend.name,
      description: backend.description,
      adapter: created.report,
    };
    if (created.fallbackReason) info.fallbackReason = created.fallbackReason;
    if (backend.name === "webgpu") watchDevice(backend as WebGPUBackend);
    post({ type: "ready", backend: info });

    const context: JobContext = {
      emit(name, payload) {
        flush(); // keep the order: the metrics that came before, then the view
        post({ type: "view", name, payload });
      },
      ...(restored ? { resume: restored } : {}),
      saveable(read) { if (saver) saver.read = read; },
    };
    const gen = job.run(config, backend, context);
    let lastYield = performance.now();
    for (;;) {
      // On the CPU engine a step never waits for the GPU, so the loop would never give the
      // worker a chance to read the page's messages (Pause, Step): let them in every 20 ms.
      if (performance.now() - lastYield > 20) {
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
      if (lost) return;
      if (paused && budget === 0) {
        flush();
        await save(steps); // a paused run is saved, so closing the page then loses nothing
        post({ type: "paused", step: steps });
        await new Promise<void>((resolve) => { wake = resolve; });
        continue;
      }
      if (budget > 0) budget--;
      const r = await gen.next();
      if (lost) return;
      if (r.done) break;
      steps = r.value.step;
      pending.push(r.value);
      saver?.records.push(r.value);
      if (paused || performance.now() - lastFlush > 50) flush();
      if (saver && (saveRequested || steps % saver.every === 0) && steps < config.steps) {
        flush();
        await save(steps);
      }
    }
    flush();
    // a finished run has nothing left to resume
    if (saver) await deleteSavedRun(saver.root, saver.job, saver.runId).catch(() => {});
    post({ type: "done", steps, wallS: (performance.now() - t0) / 1000, stats: backend.stats() });
  } catch (e) {
    // A lost device usually surfaces first as a failing op; give device.lost a moment
    // to resolve, so the learner sees "device lost" rather than the op's error.
    if (!lost && backend?.name === "webgpu") {
      await Promise.race([(backend as WebGPUBackend).handle.device.lost, new Promise((r) => setTimeout(r, 1000))]);
      await new Promise((r) => setTimeout(r, 0));
    }
    if (lost) return; // the device-lost message already explains it
    post({ type: "error", message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}

/** Report a lost device once (our own destroy() at the end of a run is not a loss). */
function watchDevice(b: WebGPUBackend): void {
  void b.handle.device.lost.then((i) => {
    if (i.reason === "destroyed" && !simulatedLoss) return; // our own clean-up
    lost = simulatedLoss
      ? "it was destroyed from the page, to simulate a device loss"
      : `reason: ${i.reason}${i.message ? `, ${i.message}` : ""}`;
    post({ type: "device-lost", message: lost });
    wakeUp();
  });
}

/**
 * Set up saving (when the page asked and the browser has OPFS); when resuming, read the
 * saved run, send its records back for the charts and return its state.
 */
async function startSaving(
  jobName: string, config: JobConfig, saveAs: { runId: string; every: number } | undefined, resume: boolean,
): Promise<JobState | null> {
  if (!saveAs || !getJob(jobName).resumable) return null;
  const root = await browserRunRoot();
  if (!root) {
    if (resume) throw new Error("this browser has no private file system (OPFS), so saved runs cannot be read");
    return null;
  }
  saver = { root, runId: saveAs.runId, job: jobName, config, every: Math.max(1, saveAs.every), read: null, records: [], lastSaved: 0 };
  if (!resume) return null;
  const saved = await readSavedRun(root, jobName, saveAs.runId);
  // records after the checkpoint's step are dropped: those steps are taken again
  saver.records = saved.records.filter((r) => r.step <= saved.state.step);
  saver.lastSaved = saved.state.step;
  post({ type: "restored", step: saved.state.step, records: saver.records });
  return saved.state;
}

/**
 * Time a few steps of the job on the engine a run would get, so the page can say how
 * long the whole run will take before the learner starts it. The first step carries
 * start-up (weights, data, kernel compilation) and is timed apart; the rest give the
 * mean time per step. The job computes its pictures as in a real run (they are
 * dropped, not sent), so their cost is counted; the page's drawing is not.
 */
async function time(jobName: string, config: JobConfig, choice: BackendChoice): Promise<void> {
  const t0 = performance.now();
  try {
    const job = getJob(jobName);
    const created = await createBackendWithReport(choice);
    backend = created.backend;
    let skippedMs = 0;
    const timingOnly: JobContext = { emit() {}, timing: { skipped: (ms) => { skippedMs += ms; } } };
    const gen = job.run(config, backend, timingOnly);
    const first = await gen.next();
    // the time to the first step, plus what the job says the set-up it skipped would have taken
    const setupMs = performance.now() - t0 + skippedMs;
    const laps: number[] = [];
    let last = performance.now();
    let measured = 0;
    if (!first.done) {
      while (laps.length < Math.min(TIME_MAX_STEPS, config.steps - 1) && (laps.length < TIME_MIN_STEPS || measured < TIME_BUDGET_MS)) {
        const r = await gen.next();
        if (r.done) break;
        const now = performance.now();
        laps.push(now - last);
        measured += now - last;
        last = now;
      }
    }
    await gen.return(undefined);
    const msPerStep = laps.length ? measured / laps.length : setupMs;
    post({ type: "timed", msPerStep, timedSteps: laps.length, setupMs, engine: backend.name });
  } catch (e) {
    post({ type: "error", message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}
