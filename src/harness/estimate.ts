// How long will this run take? Before a run, the harness times a few steps of the
// current settings in a throw-away worker, on the engine the run would use, and
// turns the time per step into an estimate for the whole run. The timing worker is
// stopped the moment a run starts, so the two never compete for the machine.
import type { JobConfig } from "./jobs.js";
import type { BackendChoice, FromWorker, ToWorker } from "./protocol.js";

/** How long a run of the current settings should take, from a few steps timed on this engine. */
export interface RunEstimate {
  /** the whole run: start-up and first step, plus the mean step time for the rest */
  seconds: number;
  msPerStep: number;
  timedSteps: number;
  engine: "webgpu" | "cpu";
}

/** Runs longer than this are called long before they start. */
export const LONG_RUN_S = 180;

/** "40 s", "3.5 min", "27 min", "1 h 5 min" */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const min = seconds / 60;
  if (min < 10) return `${min.toFixed(1)} min`;
  const whole = Math.round(min);
  if (whole < 60) return `${whole} min`;
  return `${Math.floor(whole / 60)} h ${whole % 60} min`;
}

/** The settings a run would use now. */
export interface TimingTarget {
  config: JobConfig & { steps: number };
  backend: BackendChoice;
}

export type EstimateState = "measuring" | "ready" | "error";

export interface RunTimerHooks {
  /** the settings a run would use now, or null while they are invalid */
  target(): TimingTarget | null;
  /** true while a run is starting, running or paused: nothing is timed then */
  busy(): boolean;
  /** the estimate for the current settings, or a message instead of one */
  show(estimate: RunEstimate | null, message: string): void;
  /** where the timing is (for pages and tests: data-eta) */
  state(s: EstimateState): void;
}

export interface RunTimer {
  /** time the current settings soon (after the learner stops typing), unless already known */
  schedule(): void;
  /** the estimate for the current settings, if known */
  current(): RunEstimate | null;
  /** stop any timing under way */
  stop(): void;
}

const keyOf = (t: TimingTarget): string => JSON.stringify([t.config, t.backend]);

export function createRunTimer(jobName: string, workerUrl: string, hooks: RunTimerHooks): RunTimer {
  let timer: Worker | null = null;
  let timerKey: string | null = null;
  let pending: ReturnType<typeof setTimeout> | null = null;
  const estimates = new Map<string, RunEstimate>();

  function current(): RunEstimate | null {
    const t = hooks.target();
    return t ? estimates.get(keyOf(t)) ?? null : null;
  }
  function stop(): void {
    if (pending) clearTimeout(pending);
    pending = null;
    timer?.terminate();
    timer = null;
    timerKey = null;
  }
  function schedule(): void {
    if (pending) clearTimeout(pending);
    pending = setTimeout(measure, 400); // wait until the learner stops typing
  }
  function measure(): void {
    pending = null;
    if (hooks.busy()) return;
    const target = hooks.target();
    if (!target) { hooks.show(null, ""); return; }
    const key = keyOf(target);
    const known = estimates.get(key);
    if (known) { hooks.show(known, ""); return; }
    if (timerKey === key) return; // already timing these settings
    stop();
    hooks.state("measuring");
    hooks.show(null, "Timing a few steps on your engine, to say how long this run will take…");
    let w: Worker;
    try {
      w = new Worker(workerUrl, { type: "module" });
    } catch {
      hooks.show(null, "");
      return;
    }
    timer = w;
    timerKey = key;
    const steps = target.config.steps;
    w.onmessage = (ev: MessageEvent<FromWorker>) => {
      if (timer !== w) return;
      const m = ev.data;
      if (m.type === "timed") {
        stop();
        const e: RunEstimate = {
          seconds: (m.setupMs + m.msPerStep * Math.max(0, steps - 1)) / 1000,
          msPerStep: m.msPerStep, timedSteps: m.timedSteps, engine: m.engine,
        };
        estimates.set(key, e);
        hooks.state("ready");
        const now = hooks.target();
        if (now && keyOf(now) === key) hooks.show(e, "");
      } else if (m.type === "error") {
        stop();
        hooks.state("error");
        hooks.show(null, `Could not time this run beforehand (${m.message}).`);
      }
    };
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      if (timer !== w) return;
      stop();
      hooks.state("error");
      hooks.show(null, "");
    };
    const msg: ToWorker = { type: "start", job: jobName, config: target.config, backend: target.backend, mode: "time" };
    w.postMessage(msg);
  }
  return { schedule, current, stop };
}
