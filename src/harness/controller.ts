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
import { lineChart, type LineChart } from "../viz/line-chart.js";
import { progressBar, type ProgressBar } from "../viz/progress.js";
import { fmt } from "../viz/style.js";
import type { BackendStats } from "../tensor/backend.js";
import { allParams, validateConfig, type JobConfig, type JobDef, type MetricRecord, type ParamSpec, type ParamValue } from "./jobs.js";
import type { BackendChoice, BackendInfo, FromWorker, ToWorker } from "./protocol.js";
import { getJob } from "./registry.js";
import { h } from "../viz/dom.js";
import { pauseWhenHidden, type HiddenTabControl } from "./hidden-tab.js";
import { createRunTimer, formatDuration, LONG_RUN_S, type RunEstimate } from "./estimate.js";

export { formatDuration, LONG_RUN_S, type RunEstimate } from "./estimate.js";

export type HarnessState = "idle" | "starting" | "running" | "paused" | "done" | "error" | "lost";


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
  /** destroy the worker's GPU device (to see the device-lost path) */
  simulateDeviceLoss(): void;
  destroy(): void;
}

const CSS = `
.r1h { font-family: var(--sans-serif, system-ui, sans-serif); font-size: 13px; border: 1px solid var(--theme-foreground-faintest, #ddd);
  border-radius: 8px; padding: 10px 12px; margin: 1rem 0; max-width: 1100px; background: var(--theme-background-alt, #fafafa); }
.r1h-row { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px 14px; margin-bottom: 8px; }
.r1h-field { display: flex; flex-direction: column; gap: 2px; }
.r1h-field > span { font-size: 11px; color: var(--theme-foreground-muted, #555); }
.r1h-field input[type=text], .r1h-field select { font: inherit; width: 7.5em; padding: 2px 5px; border-radius: 4px;
  border: 1px solid var(--theme-foreground-faint, #bbb); background: var(--theme-background, #fff); color: var(--theme-foreground, #111); }
.r1h-field select { width: auto; }
.r1h-field.r1h-invalid input { border-color: #d1453b; outline: 1px solid #d1453b; }
.r1h-buttons { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.r1h-hidden-tab { font-size: 12px; color: var(--theme-foreground-muted, #555); margin-left: 8px; }
.r1h-buttons button { font: inherit; padding: 3px 12px; border-radius: 6px; cursor: pointer; border: 1px solid var(--theme-foreground-faint, #bbb);
  background: var(--theme-background, #fff); color: var(--theme-foreground, #111); }
.r1h-buttons button.r1h-primary { background: #4269d0; border-color: #4269d0; color: #fff; }
.r1h-buttons button:disabled { opacity: .45; cursor: default; }
.r1h-status { color: var(--theme-foreground-muted, #555); margin-left: 6px; }
.r1h-eta { font-size: 12px; color: var(--theme-foreground-muted, #555); margin: 4px 0; }
.r1h-eta.r1h-long { color: #a15c00; font-weight: 600; }
.r1h-engine { font-size: 12px; color: var(--theme-foreground-muted, #555); margin: 4px 0; }
.r1h-errors { color: #d1453b; font-size: 12px; margin: 4px 0; }
.r1h-errors:empty { display: none; }
.r1h-alert { border-left: 4px solid #d1453b; background: color-mix(in srgb, #d1453b 8%, transparent); padding: 6px 10px; margin: 6px 0; }
.r1h-alert.r1h-info { border-left-color: #c98a00; background: color-mix(in srgb, #c98a00 8%, transparent); }
.r1h-alert button { margin-left: 8px; }
.r1h-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 10px 18px; margin-top: 8px; }
`;
let cssInjected = false;
function injectCss(): void {
  if (cssInjected) return;
  cssInjected = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
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
  const params = allParams(job);
  const listeners = {
    record: new Set<(r: MetricRecord) => void>(),
    state: new Set<(s: HarnessState) => void>(),
    view: new Set<(name: string, payload: unknown) => void>(),
  };

  let state: HarnessState = "idle";
  let worker: Worker | null = null;
  let backendInfo: BackendInfo | null = null;
  let records: MetricRecord[] = [];
  let stats: BackendStats | null = null;
  let runConfig: JobConfig | null = null;

  const root = h("div", "r1h");
  root.dataset.job = job.name;

  // ---- inputs ------------------------------------------------------------------
  const row1 = h("div", "r1h-row");
  const presetField = h("label", "r1h-field");
  const presetSelect = h("select");
  presetSelect.name = "preset";
  for (const name of Object.keys(job.presets)) {
    const o = h("option", undefined, name);
    o.value = name;
    presetSelect.append(o);
  }
  const custom = h("option", undefined, "custom");
  custom.value = "";
  custom.disabled = true;
  presetSelect.append(custom);
  presetField.append(h("span", undefined, "preset"), presetSelect);

  const engineField = h("label", "r1h-field");
  const engineSelect = h("select");
  engineSelect.name = "engine";
  for (const [v, label] of [["auto", "auto"], ["webgpu", "WebGPU"], ["cpu", "CPU"]] as const) {
    const o = h("option", undefined, label);
    o.value = v;
    engineSelect.append(o);
  }
  engineSelect.value = options.backend ?? "auto";
  engineField.append(h("span", undefined, "engine"), engineSelect);
  engineField.title = "auto: WebGPU on a GPU; the CPU engine when this browser has no adapter or only a software one (the CPU engine is faster there)";
  row1.append(presetField, engineField);

  const inputs = new Map<string, { spec: ParamSpec; field: HTMLElement; get(): unknown; set(v: unknown): void; el: HTMLInputElement | HTMLSelectElement }>();
  for (const spec of params) {
    const field = h("label", "r1h-field");
    field.dataset.param = spec.key;
    if (spec.help) field.title = spec.help;
    let elmt: HTMLInputElement | HTMLSelectElement;
    if (spec.kind === "choice") {
      const sel = h("select");
      for (const c of spec.choices ?? []) {
        const o = h("option", undefined, c);
        o.value = c;
        sel.append(o);
      }
      elmt = sel;
    } else if (spec.kind === "bool") {
      const cb = h("input");
      cb.type = "checkbox";
      elmt = cb;
    } else {
      const inp = h("input");
      inp.type = "text";
      inp.inputMode = spec.kind === "int" ? "numeric" : "decimal";
      inp.spellcheck = false;
      elmt = inp;
    }
    elmt.name = spec.key;
    const e = elmt;
    inputs.set(spec.key, {
      spec, field, el: e,
      get: () => (e instanceof HTMLInputElement && e.type === "checkbox" ? e.checked : e.value),
      set: (v) => {
        if (e instanceof HTMLInputElement && e.type === "checkbox") e.checked = v === true || v === "true";
        else e.value = String(v);
      },
    });
    field.append(h("span", undefined, spec.label), e);
    row1.append(field);
    e.addEventListener(e instanceof HTMLSelectElement || (e as HTMLInputElement).type === "checkbox" ? "change" : "input", () => {
      presetSelect.value = matchingPreset() ?? "";
      revalidate();
    });
  }
  root.append(row1);

  // ---- buttons, status, messages ----------------------------------------------------
  const row2 = h("div", "r1h-buttons");
  let hiddenTab: HiddenTabControl | null = null;
  const runBtn = h("button", "r1h-primary", "▶ Run");
  const pauseBtn = h("button", undefined, "Pause");
  const stepBtn = h("button", undefined, "Step ›");
  const resetBtn = h("button", undefined, "⟲ Reset");
  for (const [b, name] of [[runBtn, "run"], [pauseBtn, "pause"], [stepBtn, "step"], [resetBtn, "reset"]] as const) {
    b.type = "button";
    b.dataset.action = name;
  }
  const status = h("span", "r1h-status", "ready");
  row2.append(runBtn, pauseBtn, stepBtn, resetBtn, status);
  const etaLine = h("div", "r1h-eta");
  etaLine.setAttribute("aria-live", "polite");
  root.append(row2, etaLine);
  const errorsBox = h("div", "r1h-errors");
  errorsBox.setAttribute("role", "alert");
  root.append(errorsBox);
  const notice = h("div");
  root.append(notice);
  const progress = progressBar({ unit: "steps" });
  root.append(progress.element);
  const engineLine = h("div", "r1h-engine", "engine: not started");
  root.append(engineLine);

  const charts: LineChart[] = [];
  if (options.charts ?? true) {
    const grid = h("div", "r1h-charts");
    for (const c of job.charts) {
      const chart = lineChart({ title: c.title, series: c.keys, logY: c.logY ?? false, smoothing: c.smoothing ?? 0, xLabel: "step", height: 200 });
      charts.push(chart);
      grid.append(chart.element);
    }
    root.append(grid);
  }

  // ---- config ----------------------------------------------------------------------
  function values(): Record<string, unknown> {
    const v: Record<string, unknown> = {};
    for (const [k, i] of inputs) v[k] = i.get();
    return v;
  }
  function matchingPreset(): string | null {
    const v = values();
    for (const [name, preset] of Object.entries(job.presets)) {
      if (params.every((p) => String(preset[p.key]) === String(v[p.key]))) return name;
    }
    return null;
  }
  let currentErrors: string[] = [];
  function revalidate(): JobConfig | null {
    const r = validateConfig(job, values());
    for (const i of inputs.values()) i.field.classList.remove("r1h-invalid");
    if (r.ok) {
      currentErrors = [];
      errorsBox.textContent = "";
    } else {
      currentErrors = r.errors.map((e) => e.message);
      for (const e of r.errors) inputs.get(e.key)?.field.classList.add("r1h-invalid");
      errorsBox.textContent = currentErrors.join(" · ");
    }
    syncButtons();
    scheduleTiming();
    return r.ok ? (options.fixed ? { ...r.config, ...options.fixed } : r.config) : null;
  }
  function selectPreset(name: string): void {
    const p = job.presets[name];
    if (!p) throw new Error(`job ${job.name} has no preset "${name}"`);
    for (const [k, i] of inputs) i.set(p[k]);
    presetSelect.value = name;
    revalidate();
  }
  presetSelect.addEventListener("change", () => { if (presetSelect.value) selectPreset(presetSelect.value); });

  // ---- state -----------------------------------------------------------------------
  function setState(s: HarnessState, text?: string): void {
    state = s;
    root.dataset.state = s;
    status.textContent = text ?? s;
    syncButtons();
    for (const fn of listeners.state) fn(s);
    if (s === "idle" || s === "done" || s === "error") scheduleTiming();
  }
  function syncButtons(): void {
    const valid = currentErrors.length === 0;
    const busy = state === "starting" || state === "running" || state === "paused";
    runBtn.disabled = !(state === "paused" || (!busy && state !== "lost" && valid));
    const eta = currentEstimate();
    runBtn.textContent = state === "paused" ? "▶ Resume" : eta ? `▶ Run (about ${formatDuration(eta.seconds)})` : "▶ Run";
    pauseBtn.disabled = state !== "running";
    stepBtn.disabled = !(state === "paused" || state === "running" || ((state === "idle" || state === "done" || state === "error") && valid));
    resetBtn.disabled = state === "idle" && records.length === 0;
    for (const i of inputs.values()) i.el.disabled = busy;
    presetSelect.disabled = busy;
    engineSelect.disabled = busy;
  }

  function showNotice(kind: "info" | "error", text: string, action?: { label: string; fn: () => void }): void {
    const box = h("div", kind === "info" ? "r1h-alert r1h-info" : "r1h-alert");
    box.dataset.kind = kind;
    box.append(text);
    if (action) {
      const b = h("button", undefined, action.label);
      b.type = "button";
      b.addEventListener("click", action.fn);
      box.append(b);
    }
    notice.replaceChildren(box);
  }

  function describeEngine(): void {
    if (!backendInfo) { engineLine.textContent = "engine: not started"; return; }
    const parts = [`engine: ${backendInfo.description}`];
    if (backendInfo.adapter?.software) parts.push("software adapter: timings are not a real GPU's");
    if (stats) {
      const steps = records.length ? records[records.length - 1]!.step : 0;
      parts.push(`${fmt(stats.flops / 1e9)} GFLOP counted`);
      if (steps > 0) parts.push(`${Math.round(stats.dispatches / steps)} ${backendInfo.name === "webgpu" ? "dispatches" : "op calls"}/step`);
    }
    engineLine.textContent = parts.join(" · ");
    root.dataset.backend = backendInfo.name;
  }

  // ---- expected time, measured before a run (estimate.ts) ------------------------------
  function runEngine(): BackendChoice {
    const choice = engineSelect.value as BackendChoice;
    return choice !== "cpu" && !pageHasWebGPU() ? "cpu" : choice;
  }
  const runTimer = createRunTimer(job.name, import.meta.resolve("./worker.js"), {
    target() {
      const r = validateConfig(job, values());
      if (!r.ok) return null;
      return { config: options.fixed ? { ...r.config, ...options.fixed } : r.config, backend: runEngine() };
    },
    busy: () => state === "starting" || state === "running" || state === "paused" || state === "lost",
    show: (e, message) => showEstimate(e, message),
    state: (s) => { root.dataset.eta = s; },
  });
  const scheduleTiming = (): void => runTimer.schedule();
  const currentEstimate = (): RunEstimate | null => runTimer.current();
  const stopTimer = (): void => runTimer.stop();
  function showEstimate(e: RunEstimate | null, text?: string): void {
    etaLine.classList.toggle("r1h-long", !!e && e.seconds > LONG_RUN_S);
    if (e) {
      root.dataset.etaS = String(Math.round(e.seconds));
      etaLine.textContent = `Expected: about ${formatDuration(e.seconds)} on ${e.engine === "cpu" ? "the CPU engine" : "WebGPU"} ` +
        `(${e.msPerStep < 100 ? e.msPerStep.toFixed(1) : Math.round(e.msPerStep)} ms per step, timed over ${e.timedSteps} steps on this machine just now)` +
        (e.seconds > LONG_RUN_S ? ". A long run: it stops if you close or reload the page." : ".");
    } else {
      delete root.dataset.etaS;
      etaLine.textContent = text ?? "";
    }
    syncButtons();
  }
  engineSelect.addEventListener("change", scheduleTiming);

  // ---- worker ----------------------------------------------------------------------
  function send(m: ToWorker): void {
    worker?.postMessage(m);
  }
  function stopWorker(): void {
    worker?.terminate();
    worker = null;
  }

  function start(mode: "run" | "step"): void {
    const config = revalidate();
    if (!config) return;
    stopTimer();
    clearRun();
    runConfig = config;
    let choice = engineSelect.value as BackendChoice;
    if (choice !== "cpu" && !pageHasWebGPU()) {
      choice = "cpu";
      showNotice("info", NO_WEBGPU);
    }
    setState("starting", "starting the worker…");
    let w: Worker;
    try {
      w = new Worker(import.meta.resolve("./worker.js"), { type: "module" });
    } catch (e) {
      setState("error", "error");
      showNotice("error", `Could not start the training worker: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    worker = w;
    w.onmessage = (ev: MessageEvent<FromWorker>) => { if (worker === w) handle(ev.data); };
    w.onerror = (ev: ErrorEvent) => {
      if (worker !== w) return;
      ev.preventDefault();
      stopWorker();
      setState("error", "error");
      showNotice("error", `The training worker failed: ${ev.message || "it could not be loaded"}`, { label: "Reset", fn: reset });
    };
    const msg: ToWorker = { type: "start", job: job.name, config, backend: choice, mode };
    w.postMessage(msg);
  }

  function handle(m: FromWorker): void {
    switch (m.type) {
      case "ready":
        backendInfo = m.backend;
        if (m.backend.fallbackReason && engineSelect.value !== "cpu" && pageHasWebGPU()) {
          showNotice("info", m.backend.adapter?.available
            ? `This run uses the CPU engine: ${m.backend.fallbackReason}. Choose WebGPU in the engine menu to run it on the adapter anyway.`
            : `No WebGPU adapter (${m.backend.fallbackReason}); this run uses the CPU engine: the same code, slower.`);
        }
        describeEngine();
        if (state === "starting") setState("running", "running");
        break;
      case "metrics": {
        stats = m.stats;
        for (const r of m.records) {
          records.push(r);
          for (let i = 0; i < charts.length; i++) charts[i]!.pushRecord(r, job.charts[i]!.keys);
          for (const fn of listeners.record) fn(r);
        }
        root.dataset.records = String(records.length);
        const last = m.records[m.records.length - 1];
        if (last && runConfig) progress.update(last.step, runConfig.steps);
        describeEngine();
        break;
      }
      case "view":
        for (const fn of listeners.view) fn(m.name, m.payload);
        break;
      case "paused":
        progress.pause();
        setState("paused", hiddenTab?.pausedByHidden ? `paused at step ${m.step} while the tab is hidden; it resumes when you come back` : `paused at step ${m.step}`);
        break;
      case "resumed":
        progress.resume();
        if (state === "paused") setState("running", "running");
        break;
      case "done":
        stats = m.stats;
        progress.done("finished");
        describeEngine();
        stopWorker();
        setState("done", `done: ${m.steps} steps in ${m.wallS.toFixed(1)} s`);
        break;
      case "error":
        stopWorker();
        setState("error", "error");
        showNotice("error", `The run stopped with an error: ${m.message}`, { label: "Reset", fn: reset });
        break;
      case "device-lost":
        stopWorker();
        progress.pause();
        setState("lost", "GPU device lost");
        showNotice(
          "error",
          `The GPU device was lost (${m.message}), so the run stopped at step ${records.length ? records[records.length - 1]!.step : 0}. ` +
            "This happens when the GPU driver restarts, the system reclaims the GPU (sleep, a background tab) or a kernel runs too long. " +
            "Restart runs the same configuration again on a fresh device.",
          { label: "⟲ Restart", fn: () => { reset(); start("run"); } },
        );
        break;
    }
  }

  function clearRun(): void {
    stopWorker();
    records = [];
    stats = null;
    backendInfo = null;
    runConfig = null;
    for (const c of charts) c.clear();
    progress.reset();
    notice.replaceChildren();
    root.dataset.records = "0";
    delete root.dataset.backend;
    describeEngine();
  }

  function run(): void {
    if (state === "paused") { send({ type: "resume" }); return; }
    if (state === "starting" || state === "running") return;
    start("run");
  }
  function pause(): void {
    if (state === "running") send({ type: "pause" });
  }
  function step(): void {
    if (state === "paused" || state === "running") send({ type: "step" });
    else if (state !== "starting" && state !== "lost") start("step");
  }
  function reset(): void {
    clearRun();
    setState("idle", "ready");
  }

  runBtn.addEventListener("click", run);
  pauseBtn.addEventListener("click", pause);
  stepBtn.addEventListener("click", step);
  resetBtn.addEventListener("click", reset);

  selectPreset(options.preset ?? "default");
  setState("idle", "ready");
  if (!pageHasWebGPU() && (options.backend ?? "auto") !== "cpu") showNotice("info", NO_WEBGPU);

  const api: Harness = {
    element: root,
    job,
    charts,
    progress,
    get state() { return state; },
    get backend() { return backendInfo; },
    get records() { return records; },
    get stats() { return stats; },
    get estimate() { return currentEstimate(); },
    config: () => revalidate(),
    setValues(v) {
      for (const [k, val] of Object.entries(v)) inputs.get(k)?.set(val);
      presetSelect.value = matchingPreset() ?? "";
      revalidate();
      return currentErrors;
    },
    selectPreset,
    onRecord(fn) { listeners.record.add(fn); return () => listeners.record.delete(fn); },
    onState(fn) { listeners.state.add(fn); return () => listeners.state.delete(fn); },
    onView(fn) { listeners.view.add(fn); return () => listeners.view.delete(fn); },
    run, pause, step, reset,
    simulateDeviceLoss() { send({ type: "lose-device" }); },
    destroy() { stopWorker(); stopTimer(); hiddenTab?.dispose(); for (const c of charts) c.destroy(); },
  };
  // a hidden tab pauses the run, a visible one resumes it (src/harness/hidden-tab.ts)
  hiddenTab = pauseWhenHidden(api, document, (message) => { status.textContent = message; });
  row2.append(hiddenTab.element);
  (root as HTMLElement & { harness?: Harness }).harness = api;
  return api;
}
