// Page pieces for the MoE lesson: the live expert-load heatmaps (experts × steps, one
// per layer), which experts each token of a typed prompt goes to, the recorded
// curves of data/results/moe.json (imbalance for the three balancing choices, dense
// vs MoE loss) and the dense-vs-sparse dispatch table with a measurement on this
// machine. The model and training code is imported from src/ (docs/lib); nothing
// here trains anything.
import type { LoadView } from "../lib/harness/jobs/moe.js";
import { heatmap, type Heatmap } from "../lib/viz/heatmap.js";
import { lineChart } from "../lib/viz/line-chart.js";
import { fmt } from "../lib/viz/style.js";
import { h } from "../lib/viz/dom.js";

const CSS = `
.r1-moe-heat { display: flex; flex-wrap: wrap; gap: 18px; }
.r1-moe-heat .r1-moe-empty { font-size: 13px; color: var(--theme-foreground-muted); }
.r1-moe-route { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
.r1-moe-route td, .r1-moe-route th { padding: 2px 6px; text-align: left; }
.r1-moe-route td.tok { font-family: var(--monospace, monospace); white-space: pre; }
.r1-moe-chip { display: inline-block; min-width: 1.4em; text-align: center; border-radius: 3px; padding: 1px 3px; margin-right: 2px; color: #fff; font-family: var(--monospace, monospace); font-size: 12px; }
.r1-moe-claims li { margin-bottom: 6px; }
.r1-moe-dispatch table { display: block; overflow-x: auto; }
.r1-moe-measure { font-size: 13px; }
`;
let cssDone = false;
export function moeCss(): void {
  if (cssDone) return;
  cssDone = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}

/** one colour per expert (up to 16; then they repeat) */
const EXPERT_COLORS = [
  "#2f6fdf", "#d9480f", "#2b8a3e", "#ae3ec9", "#c98a00", "#0c8599", "#e64980", "#5c7cfa",
  "#82c91e", "#f76707", "#15aabf", "#be4bdb", "#fab005", "#4c6ef5", "#40c057", "#fa5252",
];
export const expertColor = (e: number): string => EXPERT_COLORS[e % EXPERT_COLORS.length]!;

/** at most this many step columns: later steps are averaged in buckets */
const MAX_COLS = 60;

export interface LoadHeatmaps {
  element: HTMLElement;
  push(v: LoadView): void;
  /** message: what to show until the first step; maxShare: the largest possible value, E/k (every token on one expert) */
  clear(message?: string, maxShare?: number): void;
}

/**
 * Expert load as it trains: one heatmap per MoE layer, experts down, steps across,
 * each cell an expert's share of the step's routed tokens divided by a fair share
 * (1 = fair, 0 = idle, E/k = every token on that expert; the colour scale runs to E/k). With many steps, columns
 * average buckets of consecutive steps.
 */
export function loadHeatmaps(): LoadHeatmaps {
  moeCss();
  const root = h("div", "r1-moe-heat");
  let maps: Heatmap[] = [];
  let history: LoadView[] = [];
  let top = 2;
  const clear = (message = "Press Run: the load of every expert in every step appears here.", maxShare = top) => {
    top = maxShare;
    root.replaceChildren(h("div", "r1-moe-empty", message));
    maps = [];
    history = [];
    root.dataset.steps = "0";
  };
  const draw = () => {
    const layers = history[0]!.loads.length;
    const E = history[0]!.loads[0]!.length;
    if (maps.length !== layers) {
      root.replaceChildren();
      maps = Array.from({ length: layers }, (_, l) => {
        const m = heatmap({
          title: `MoE layer ${l + 1}`, xLabel: "training step", yLabel: "expert", scheme: "magma", cell: 7,
          valueLabel: "share ÷ fair share", domain: [0, top],
        });
        root.append(m.element);
        return m;
      });
    }
    const bucket = Math.ceil(history.length / MAX_COLS);
    const cols = Math.ceil(history.length / bucket);
    maps.forEach((m, l) => {
      const data = new Float64Array(E * cols);
      for (let c = 0; c < cols; c++) {
        const views = history.slice(c * bucket, (c + 1) * bucket);
        for (const v of views) {
          const row = v.loads[l]!;
          const total = row.reduce((a, b) => a + b, 0);
          for (let e = 0; e < E; e++) data[e * cols + c]! += total > 0 ? (row[e]! * E) / total / views.length : 0;
        }
      }
      m.update({
        rows: E, cols, data,
        rowLabels: Array.from({ length: E }, (_, e) => String(e)),
        colLabels: Array.from({ length: cols }, (_, c) => String(history[Math.min(history.length - 1, (c + 1) * bucket - 1)]!.step)),
      });
    });
    root.dataset.steps = String(history.length);
  };
  let queued = false;
  clear();
  return {
    element: root,
    push(v) {
      history.push(v);
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; draw(); });
    },
    clear,
  };
}

/**
 * Which experts each token goes to: one row per token, per MoE layer its k experts
 * (best first) as coloured chips. routes: [layer][token][k].
 */
export function routingTable(tokens: readonly string[], routes: readonly (readonly (readonly number[])[])[]): HTMLElement {
  moeCss();
  const table = h("table", "r1-moe-route");
  const head = h("tr");
  head.append(h("th", undefined, "token"), ...routes.map((_, l) => h("th", undefined, `layer ${l + 1}`)));
  table.append(head);
  tokens.forEach((tok, t) => {
    const tr = h("tr");
    tr.append(h("td", "tok", tok.replace(/ /g, "␣").replace(/\n/g, "⏎")));
    for (const layer of routes) {
      const td = h("td");
      for (const e of layer[t]!) {
        const chip = h("span", "r1-moe-chip", String(e));
        chip.style.background = expertColor(e);
        td.append(chip);
      }
      tr.append(td);
    }
    table.append(tr);
  });
  table.dataset.tokens = String(tokens.length);
  return table;
}

interface RecordedRun {
  name: string;
  command: string;
  wall_s: number;
  metrics: Record<string, number>;
  series?: Record<string, [number, number][]>;
}
export interface MoEResults {
  missing?: boolean;
  runs?: RecordedRun[];
  claims?: string[];
}

const RUN_LABEL: Record<string, string> = {
  dense: "dense (same active parameters)", none: "MoE, no balancing", aux: "MoE, balance loss", bias: "MoE, aux-loss-free bias",
  default: "MoE, bias, default size",
};

/** the recorded max ÷ mean load of the three MoE runs, step by step */
export function recordedImbalance(results: MoEResults): HTMLElement {
  const names = ["none", "aux", "bias"];
  const chart = lineChart({
    title: "load imbalance, recorded ci runs (max ÷ mean expert load; 1 = balanced, 2.67 = collapsed)",
    series: names.map((n) => RUN_LABEL[n]!), smoothing: 0.8, height: 220, yDomain: [1, 2.7],
  });
  for (const n of names) {
    const run = results.runs?.find((r) => r.name === n);
    if (run?.series?.load_imbalance) chart.set(RUN_LABEL[n]!, run.series.load_imbalance);
  }
  chart.element.classList.add("r1-moe-imbalance");
  return chart.element;
}

/** training and validation loss of the dense and MoE ci runs */
export function recordedLoss(results: MoEResults): HTMLElement {
  const names = ["dense", "none", "bias"];
  const chart = lineChart({ title: "training loss, recorded ci runs (nats per token)", series: names.map((n) => RUN_LABEL[n]!), smoothing: 0.9, height: 220 });
  for (const n of names) {
    const run = results.runs?.find((r) => r.name === n);
    if (run?.series?.loss) chart.set(RUN_LABEL[n]!, run.series.loss);
  }
  return chart.element;
}

/** the recorded runs as a table: what each holds, what a token uses, where it ended */
export function recordedTable(results: MoEResults): HTMLElement {
  moeCss();
  const root = h("div", "r1-panel");
  if (results.missing || !results.runs) {
    root.append(h("p", "r1-note", "data/results/moe.json has not been recorded yet."));
    return root;
  }
  const table = h("table");
  const head = h("tr");
  for (const c of ["run", "parameters", "active", "FLOPs / token", "val loss", "load imbalance", "command"]) head.append(h("th", undefined, c));
  table.append(head);
  for (const r of results.runs) {
    const tr = h("tr");
    const m = r.metrics;
    tr.append(
      h("td", undefined, RUN_LABEL[r.name] ?? r.name), h("td", undefined, m.params!.toLocaleString("en")),
      h("td", undefined, m.active_params!.toLocaleString("en")), h("td", undefined, m.flops_per_token!.toLocaleString("en")),
      h("td", undefined, fmt(m.val_loss!)), h("td", undefined, m.load_imbalance === undefined ? "—" : fmt(m.load_imbalance)),
    );
    const cmd = h("td");
    cmd.append(h("code", undefined, r.command));
    tr.append(cmd);
    table.append(tr);
  }
  root.append(table);
  return root;
}

/** the claims of a results file, as a list */
export function claimsList(claims: readonly string[] | undefined): HTMLElement {
  moeCss();
  const ul = h("ul", "r1-moe-claims");
  for (const c of claims ?? []) ul.append(h("li", undefined, c));
  return ul;
}

export interface DispatchRun {
  name: string;
  command: string;
  adapter: string;
  preset: string;
  metrics: { dense_ms_per_step: number; sparse_ms_per_step: number; dense_flops_per_token: number; sparse_flops_per_token: number; speedup: number };
}

/** dense vs sparse dispatch as recorded (data/results/moe-dispatch.json) */
export function dispatchTable(recorded: { runs?: DispatchRun[] }): HTMLElement {
  moeCss();
  const root = h("div", "r1-panel r1-moe-dispatch");
  const table = h("table");
  const head = h("tr");
  for (const c of ["engine", "size", "FLOPs / token, dense", "sparse", "ms / step, dense", "sparse", "speed-up"]) head.append(h("th", undefined, c));
  table.append(head);
  for (const d of recorded.runs ?? []) {
    const m = d.metrics;
    const tr = h("tr");
    tr.title = d.command;
    tr.append(
      h("td", undefined, d.adapter), h("td", undefined, d.preset),
      h("td", undefined, m.dense_flops_per_token.toLocaleString("en")), h("td", undefined, m.sparse_flops_per_token.toLocaleString("en")),
      h("td", undefined, fmt(m.dense_ms_per_step)), h("td", undefined, fmt(m.sparse_ms_per_step)), h("td", undefined, `${m.speedup}×`),
    );
    table.append(tr);
  }
  root.append(table);
  return root;
}
