// What the learner sees of a run: notices (info or error, with an optional button),
// the progress bar, the engine line (which engine, FLOPs counted, dispatches per
// step) and one live chart per entry of the job's `charts`.
import { lineChart, type LineChart } from "../../viz/line-chart.js";
import { progressBar, type ProgressBar } from "../../viz/progress.js";
import { fmt } from "../../viz/style.js";
import { h } from "../../viz/dom.js";
import type { BackendStats } from "../../tensor/backend.js";
import type { JobDef, MetricRecord } from "../jobs.js";
import type { BackendInfo } from "../protocol.js";

export interface NoticeAction {
  label: string;
  fn: () => void;
}

export interface RunView {
  /** the notice box, then the progress bar and the engine line */
  readonly top: HTMLElement[];
  /** the charts' grid (absent when the page draws its own) */
  readonly chartsGrid: HTMLElement | null;
  readonly charts: readonly LineChart[];
  readonly progress: ProgressBar;
  showNotice(kind: "info" | "error", text: string, ...actions: NoticeAction[]): void;
  clearNotice(): void;
  /** draw records on the charts */
  draw(records: readonly MetricRecord[]): void;
  /** the engine line, after every batch of records */
  describeEngine(info: BackendInfo | null, stats: BackendStats | null, lastStep: number): void;
  /** empty charts, progress and notice, for a new run */
  clear(): void;
  destroy(): void;
}

export function createRunView(job: JobDef, withCharts: boolean): RunView {
  const notice = h("div");
  const progress = progressBar({ unit: "steps" });
  const engineLine = h("div", "r1h-engine", "engine: not started");
  const charts: LineChart[] = [];
  let chartsGrid: HTMLElement | null = null;
  if (withCharts) {
    chartsGrid = h("div", "r1h-charts");
    for (const c of job.charts) {
      const chart = lineChart({ title: c.title, series: c.keys, logY: c.logY ?? false, smoothing: c.smoothing ?? 0, xLabel: "step", height: 200 });
      charts.push(chart);
      chartsGrid.append(chart.element);
    }
  }

  function showNotice(kind: "info" | "error", text: string, ...actions: NoticeAction[]): void {
    const box = h("div", kind === "info" ? "r1h-alert r1h-info" : "r1h-alert");
    box.dataset.kind = kind;
    box.append(text);
    for (const action of actions) {
      const b = h("button", undefined, action.label);
      b.type = "button";
      b.addEventListener("click", action.fn);
      box.append(b);
    }
    notice.replaceChildren(box);
  }

  function describeEngine(info: BackendInfo | null, stats: BackendStats | null, lastStep: number): void {
    if (!info) { engineLine.textContent = "engine: not started"; return; }
    const parts = [`engine: ${info.description}`];
    if (info.adapter?.software) parts.push("software adapter: timings are not a real GPU's");
    if (stats) {
      parts.push(`${fmt(stats.flops / 1e9)} GFLOP counted`);
      if (lastStep > 0) parts.push(`${Math.round(stats.dispatches / lastStep)} ${info.name === "webgpu" ? "dispatches" : "op calls"}/step`);
    }
    engineLine.textContent = parts.join(" · ");
  }

  return {
    top: [notice, progress.element, engineLine],
    chartsGrid, charts, progress,
    showNotice,
    clearNotice: () => notice.replaceChildren(),
    draw(records) {
      for (const r of records) for (let i = 0; i < charts.length; i++) charts[i]!.pushRecord(r, job.charts[i]!.keys);
    },
    describeEngine,
    clear() {
      for (const c of charts) c.clear();
      progress.reset();
      notice.replaceChildren();
    },
    destroy() { for (const c of charts) c.destroy(); },
  };
}
