// The run harness every lesson uses: controls, a training Worker, live charts.
//
//   import {createHarness} from "./lib/harness/controller.js";
//   const h = createHarness({ job: "engine-spirals" });
//   display(h.element);
//
// What the learner gets: preset and seed pickers and one input per hyperparameter
// (bad values are rejected with a message and Run stays disabled); an engine picker
// (auto / WebGPU / CPU); Run, Pause, Step and Reset; before a run, the time it
// should take on this engine (a few steps timed in a throw-away worker as soon as
// the settings change); a progress bar with ETA; one
// live chart per entry of the job's `charts`; and, if the GPU device is lost, a
// message saying so with a Restart button. Training runs in a module Worker, so
// the page stays responsive.
import type { LineChart } from "../viz/line-chart.js";
import type { ProgressBar } from "../viz/progress.js";
import { h } from "../viz/dom.js";
import type { BackendStats } from "../tensor/backend.js";
import { allParams, validateConfig, type JobConfig, type JobDef, type MetricRecord, type ParamValue } from "./jobs.js";
import type { BackendChoice, BackendInfo, FromWorker } from "./protocol.js";
import { getJob } from "./registry.js";
import { pauseWhenHidden, type HiddenTabControl } from "./hidden-tab.js";
import { createRunTimer, formatDuration, LONG_RUN_S, type RunEstimate } from "./estimate.js";
import { startWorker, type WorkerLink } from "./worker-client.js";
import { injectCss } from "./ui/style.js";
import { createForm } from "./ui/form.js";
import { createButtons, isBusy, type HarnessState } from "./ui/buttons.js";
import { createRunView } from "./ui/run-view.js";
import { createPageSaves } from "./page-saves.js";
import type { SavedRunEntry } from "./saved-runs.js";

export { formatDuration, LONG_RUN_S, type RunEstimate } from "./estimate.js";

export type { HarnessState } from "./ui/buttons.js";


export interface HarnessOptions {
  /** registry name of the job */
  job: string;
  /** preset selected at first (default "default") */
  preset?: string;
  /** engine selected at first (default "auto": WebGPU on a GPU; the CPU engine when there is no adapter or only a software one) */
  backend?: BackendChoice;
  /** build the job's charts (default true); pages can draw their own from onRecord */
  charts?: boolean;
  /**
   * config values the page supplies that are not inputs (e.g. the URL of a file the
   * page serves, which only the page can resolve): merged into every run's config
   */
  fixed?: Readonly<Record<string, ParamValue>>;
  /** a resumable job's run is saved in the browser every this many steps, and when paused or hidden (default 25) */
  checkpointEvery?: number;
}

export interface Harness {
  readonly element: HTMLElement;
  readonly job: JobDef;
  readonly charts: readonly LineChart[];
  readonly progress: ProgressBar;
  readonly state: HarnessState;
  /** the engine the current run uses (after the worker said "ready") */
  readonly backend: BackendInfo | null;
  /** every record of the current run */
  readonly records: readonly MetricRecord[];
  /** the counters of the current run's backend (FLOPs, dispatches, ...), as last reported */
  readonly stats: BackendStats | null;
  /** how long a run of the current settings should take on this engine (null while it is being timed) */
  readonly estimate: RunEstimate | null;
  /** the validated config, or null while an input is invalid */
  config(): JobConfig | null;
  /** set inputs (strings or numbers) as if typed; returns the validation messages */
  setValues(values: Readonly<Record<string, unknown>>): string[];
  selectPreset(name: string): void;
  onRecord(fn: (r: MetricRecord) => void): () => void;
  onState(fn: (s: HarnessState) => void): () => void;
  /** pictures the job emits through its JobContext (e.g. "boundary") */
  onView(fn: (name: string, payload: unknown) => void): () => void;
  run(): void;
  pause(): void;
  step(): void;
  reset(): void;
  /** continue a saved run (saved-runs.ts) on an engine (default: the one picked) */
  resumeSaved(runId: string, backend?: BackendChoice): Promise<void>;
  /** the saved runs of this lesson, newest first */
  savedRuns(): Promise<SavedRunEntry[]>;
  /** destroy the worker's GPU device (to see the device-lost path) */
  simulateDeviceLoss(): void;
  destroy(): void;
}

/** True when this page can see WebGPU at all (the worker is asked for the CPU engine otherwise). */
export function pageHasWebGPU(): boolean {
  return typeof navigator !== "undefined" && "gpu" in navigator && !!navigator.gpu;
}

const NO_WEBGPU =
  "WebGPU is not available in this browser (navigator.gpu is missing), so this run uses the CPU engine: the same code, slower. " +
  "Chrome and Edge 113+ have WebGPU, as do Safari 26+ and Firefox 141+ on Windows; on Linux, Chrome needs --enable-unsafe-webgpu.";

export function createHarness(options: HarnessOptions): Harness {
  injectCss();
  const job = getJob(options.job);
  const listeners = {
    record: new Set<(r: MetricRecord) => void>(),
    state: new Set<(s: HarnessState) => void>(),
    view: new Set<(name: string, payload: unknown) => void>(),
  };

  let state: HarnessState = "idle";
  let worker: WorkerLink | null = null;
  let backendInfo: BackendInfo | null = null;
  let records: MetricRecord[] = [];
  let stats: BackendStats | null = null;
  let runConfig: JobConfig | null = null;
  let errors: string[] = [];

  const root = h("div", "r1h");
  root.dataset.job = job.name;
  const form = createForm(job, allParams(job), options.backend ?? "auto", options.fixed, () => revalidate());
  const buttons = createButtons();
  const etaLine = h("div", "r1h-eta");
  etaLine.setAttribute("aria-live", "polite");
  const view = createRunView(job, options.charts ?? true);
  // saved runs (page-saves.ts): a reload, a hidden page or a lost device loses at most a few steps
  const saves = createPageSaves(job, options.checkpointEvery ?? 25, {
    busy: () => isBusy(state),
    notice: view.showNotice,
    clearNotice: view.clearNotice,
    resume: (entry, backend) => {
      form.engineSelect.value = backend;
      form.setValues(entry.config);
      start("run", entry.runId);
    },
    requestSave: () => { if (state === "running") worker?.send({ type: "checkpoint" }); },
    mark: (step) => { if (step === null) delete root.dataset.savedStep; else root.dataset.savedStep = String(step); },
  });
  root.append(form.element, buttons.element, etaLine, form.errorsBox, ...view.top);
  if (view.chartsGrid) root.append(view.chartsGrid);
  if (job.resumable) root.append(saves.element);

  // ---- the form and the buttons --------------------------------------------------------
  function revalidate(): JobConfig | null {
    const r = form.validate();
    errors = r.errors;
    syncButtons();
    runTimer.schedule();
    return r.config;
  }
  function setState(s: HarnessState, text?: string): void {
    state = s;
    root.dataset.state = s;
    buttons.status.textContent = text ?? s;
    syncButtons();
    for (const fn of listeners.state) fn(s);
    if (s === "idle" || s === "done" || s === "error") runTimer.schedule();
    if (job.resumable && (s === "done" || s === "error" || s === "lost")) void saves.refresh();
  }
  function syncButtons(): void {
    const eta = runTimer.current();
    buttons.sync(state, errors.length === 0, records.length > 0, eta ? `▶ Run (about ${formatDuration(eta.seconds)})` : "▶ Run");
    form.setBusy(isBusy(state));
  }
  function describeEngine(): void {
    view.describeEngine(backendInfo, stats, records.length ? records[records.length - 1]!.step : 0);
    if (backendInfo) root.dataset.backend = backendInfo.name;
  }

  // ---- expected time, measured before a run (estimate.ts) ------------------------------
  const runTimer = createRunTimer(job.name, import.meta.resolve("./worker.js"), {
    target() {
      const r = validateConfig(job, form.values());
      if (!r.ok) return null;
      return { config: options.fixed ? { ...r.config, ...options.fixed } : r.config, backend: runEngine(form.engine()) };
    },
    busy: () => isBusy(state) || state === "lost",
    show: (e, message) => { showEstimate(etaLine, root, e, message, job.resumable ?? false); syncButtons(); },
    state: (s) => { root.dataset.eta = s; },
  });

  // ---- a run: start the worker, follow its messages ---------------------------------------
  /** Start a run (or continue saved run `resumeId` with the form's settings, which are its own). */
  function start(mode: "run" | "step", resumeId?: string): void {
    const config = revalidate();
    if (!config) return;
    runTimer.stop();
    clearRun();
    runConfig = config;
    const choice = runEngine(form.engine());
    if (choice !== form.engine()) view.showNotice("info", NO_WEBGPU);
    setState("starting", resumeId ? "reading the saved run…" : "starting the worker…");
    const save = saves.begin(resumeId);
    const first = { type: "start", job: job.name, config, backend: choice, mode, ...(save ? { save } : {}), resume: !!resumeId } as const;
    worker = startWorker(import.meta.resolve("./worker.js"), first, handle, (reason) => {
      worker = null;
      setState("error", "error");
      view.showNotice("error", reason, { label: "Reset", fn: reset });
    });
  }

  function handle(m: FromWorker): void {
    switch (m.type) {
      case "ready": return onReady(m.backend);
      case "metrics": return onMetrics(m.records, m.stats);
      case "view":
        for (const fn of listeners.view) fn(m.name, m.payload);
        return;
      case "paused":
        view.progress.pause();
        setState("paused", hiddenTab?.pausedByHidden ? `paused at step ${m.step} while the tab is hidden; it resumes when you come back` : `paused at step ${m.step}`);
        return;
      case "resumed":
        view.progress.resume();
        if (state === "paused") setState("running", "running");
        return;
      case "done":
        stats = m.stats;
        view.progress.done("finished");
        describeEngine();
        stopWorker();
        setState("done", `done: ${m.steps} steps in ${m.wallS.toFixed(1)} s`);
        return;
      case "error":
        stopWorker();
        setState("error", "error");
        view.showNotice("error", `The run stopped with an error: ${m.message}`, { label: "Reset", fn: reset });
        return;
      case "device-lost": return onDeviceLost(m.message);
      case "restored":
        saves.handle(m);
        return onMetrics(m.records, stats); // the charts redraw the saved run
      case "saved":
      case "save-failed":
        return saves.handle(m);
      case "timed": return; // only the timing worker sends these (estimate.ts)
    }
  }
  function onReady(info: BackendInfo): void {
    backendInfo = info;
    if (info.fallbackReason && form.engine() !== "cpu" && pageHasWebGPU()) {
      view.showNotice("info", info.adapter?.available
        ? `This run uses the CPU engine: ${info.fallbackReason}. Choose WebGPU in the engine menu to run it on the adapter anyway.`
        : `No WebGPU adapter (${info.fallbackReason}); this run uses the CPU engine: the same code, slower.`);
    }
    describeEngine();
    if (state === "starting") setState("running", "running");
  }
  function onMetrics(batch: MetricRecord[], s: BackendStats | null): void {
    stats = s;
    for (const r of batch) {
      records.push(r);
      view.draw([r]);
      for (const fn of listeners.record) fn(r);
    }
    root.dataset.records = String(records.length);
    const last = batch[batch.length - 1];
    if (last && runConfig) view.progress.update(last.step, runConfig.steps);
    describeEngine();
  }
  function onDeviceLost(message: string): void {
    stopWorker();
    view.progress.pause();
    setState("lost", "GPU device lost");
    const last = saves.last();
    const why = `The GPU device was lost (${message}), so the run stopped at step ${records.length ? records[records.length - 1]!.step : 0}. ` +
      "This happens when the GPU driver restarts, the system reclaims the GPU (sleep, a background tab) or a kernel runs too long. ";
    if (last) {
      view.showNotice("error", why + `Its last checkpoint is step ${last.step}: continue from there on a new GPU device or on the CPU engine, or restart from step 0.`,
        { label: "Continue on a new GPU device", fn: () => void saves.resume(last.runId, "webgpu") },
        { label: "Continue on the CPU engine", fn: () => void saves.resume(last.runId, "cpu") },
        { label: "⟲ Restart", fn: () => { reset(); start("run"); } });
    } else {
      view.showNotice("error", why + "Restart runs the same configuration again on a fresh device.",
        { label: "⟲ Restart", fn: () => { reset(); start("run"); } });
    }
  }

  function stopWorker(): void {
    worker?.stop();
    worker = null;
  }
  function clearRun(): void {
    stopWorker();
    records = [];
    stats = null;
    backendInfo = null;
    runConfig = null;
    view.clear();
    root.dataset.records = "0";
    delete root.dataset.backend;
    describeEngine();
  }

  // ---- the buttons' actions -------------------------------------------------------------
  function run(): void {
    if (state === "paused") { worker?.send({ type: "resume" }); return; }
    if (state === "starting" || state === "running") return;
    start("run");
  }
  function pause(): void {
    if (state === "running") worker?.send({ type: "pause" });
  }
  function step(): void {
    if (state === "paused" || state === "running") worker?.send({ type: "step" });
    else if (state !== "starting" && state !== "lost") start("step");
  }
  function reset(): void {
    clearRun();
    setState("idle", "ready");
    saves.forget();
  }
  buttons.run.addEventListener("click", run);
  buttons.pause.addEventListener("click", pause);
  buttons.step.addEventListener("click", step);
  buttons.reset.addEventListener("click", reset);

  form.selectPreset(options.preset ?? "default");
  setState("idle", "ready");
  if (!pageHasWebGPU() && (options.backend ?? "auto") !== "cpu") view.showNotice("info", NO_WEBGPU);
  void saves.offer();

  const api: Harness = {
    element: root,
    job,
    charts: view.charts,
    progress: view.progress,
    get state() { return state; },
    get backend() { return backendInfo; },
    get records() { return records; },
    get stats() { return stats; },
    get estimate() { return runTimer.current(); },
    config: () => revalidate(),
    setValues(v) {
      form.setValues(v);
      return errors;
    },
    selectPreset: (name) => form.selectPreset(name),
    onRecord(fn) { listeners.record.add(fn); return () => listeners.record.delete(fn); },
    onState(fn) { listeners.state.add(fn); return () => listeners.state.delete(fn); },
    onView(fn) { listeners.view.add(fn); return () => listeners.view.delete(fn); },
    run, pause, step, reset,
    resumeSaved: (id, backend) => saves.resume(id, backend),
    savedRuns: () => saves.list(),
    simulateDeviceLoss() { worker?.send({ type: "lose-device" }); },
    destroy() {
      stopWorker(); runTimer.stop(); hiddenTab.dispose(); view.destroy(); saves.dispose();
    },
  };
  // a hidden tab pauses the run, a visible one resumes it (src/harness/hidden-tab.ts)
  const hiddenTab: HiddenTabControl = pauseWhenHidden(api, document, (message) => { buttons.status.textContent = message; });
  buttons.element.append(hiddenTab.element);
  (root as HTMLElement & { harness?: Harness }).harness = api;
  return api;
}

/** The engine a run gets: the one picked, or the CPU engine when this page has no WebGPU. */
function runEngine(choice: BackendChoice): BackendChoice {
  return choice !== "cpu" && !pageHasWebGPU() ? "cpu" : choice;
}

/** The "Expected: about … on …" line before a run. */
function showEstimate(line: HTMLElement, root: HTMLElement, e: RunEstimate | null, text: string | undefined, saved: boolean): void {
  line.classList.toggle("r1h-long", !!e && e.seconds > LONG_RUN_S);
  if (e) {
    root.dataset.etaS = String(Math.round(e.seconds));
    line.textContent = `Expected: about ${formatDuration(e.seconds)} on ${e.engine === "cpu" ? "the CPU engine" : "WebGPU"} ` +
      `(${e.msPerStep < 100 ? e.msPerStep.toFixed(1) : Math.round(e.msPerStep)} ms per step, timed over ${e.timedSteps} steps on this machine just now)` +
      (e.seconds <= LONG_RUN_S ? "."
        : saved ? ". A long run: it is saved in this browser as it goes, so closing or reloading the page loses at most a few steps."
        : ". A long run: it stops if you close or reload the page.");
  } else {
    delete root.dataset.etaS;
    line.textContent = text ?? "";
  }
}
