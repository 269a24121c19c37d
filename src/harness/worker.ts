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
import type { JobConfig, JobContext, MetricRecord } from "./jobs.js";
import type { BackendChoice, BackendInfo, FromWorker, ToWorker } from "./protocol.js";

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
      else void run(m.job, m.config, m.backend);
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
    case "lose-device": {
      if (backend?.name === "webgpu") {
        simulatedLoss = true;
        (backend as WebGPUBackend).handle.device.destroy();
      }
      break;
    }
  }
};

async function run(jobName: string, config: JobConfig, choice: BackendChoice): Promise<void> {
  const t0 = performance.now();
  let steps = 0;
  try {
    const job = getJob(jobName);
    const created = await createBackendWithReport(choice);
    backend = created.backend;
    const info: BackendInfo = {
      name: backend.name,
      description: backend.description,
      adapter: created.report,
    };
    if (created.fallbackReason) info.fallbackReason = created.fallbackReason;
    if (backend.name === "webgpu") {
      void (backend as WebGPUBackend).handle.device.lost.then((i) => {
        if (i.reason === "destroyed" && !simulatedLoss) return; // our own clean-up
        lost = simulatedLoss
          ? "it was destroyed from the page, to simulate a device loss"
          : `reason: ${i.reason}${i.message ? `, ${i.message}` : ""}`;
        post({ type: "device-lost", message: lost });
        wakeUp();
      });
    }
    post({ type: "ready", backend: info });

    const context: JobContext = {
      emit(name, payload) {
        flush(); // keep the order: the metrics that came before, then the view
        post({ type: "view", name, payload });
      },
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
      if (paused || performance.now() - lastFlush > 50) flush();
    }
    flush();
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
    const dropViews: JobContext = { emit() {} };
    const gen = job.run(config, backend, dropViews);
    const first = await gen.next();
    const setupMs = performance.now() - t0;
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
