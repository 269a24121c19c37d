// A heatmap for attention weights (query × key) or expert load (layer × expert).
//
//   const hm = heatmap({ title: "attention", xLabel: "key", yLabel: "query" });
//   hm.update({ rows: 8, cols: 8, data, rowLabels, colLabels });
//
// Cells are painted on a canvas (thousands of cells stay cheap); axes, labels and
// a colour legend are HTML/SVG; hovering a cell shows its row, column and value.
import * as d3 from "d3";
import { ensureStyles, el, fmt } from "./style.js";

export type ColorScheme = "viridis" | "blues" | "magma" | "diverging";

export interface HeatmapOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  scheme?: ColorScheme;
  /** fixed colour domain; by default [min, max] of the data (symmetric for "diverging") */
  domain?: readonly [number, number];
  /** cell size in px (default: fit 360px, between 4 and 28 px) */
  cell?: number;
  /** label every n-th row/column when there are many (default: automatic) */
  labelEvery?: number;
  /** name of the value in the read-out and legend (default "value") */
  valueLabel?: string;
}

export interface HeatmapData {
  rows: number;
  cols: number;
  /** row-major, rows × cols */
  data: ArrayLike<number>;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** dots drawn over the cells, in cell units: x in [0, cols] from the left, y in [0, rows] from the top */
  marks?: readonly { x: number; y: number; color: string }[];
}

export interface Heatmap {
  readonly element: HTMLElement;
  update(d: HeatmapData | readonly (readonly number[])[]): void;
}

const INTERP: Record<ColorScheme, (t: number) => string> = {
  viridis: d3.interpolateViridis,
  blues: d3.interpolateBlues,
  magma: d3.interpolateMagma,
  diverging: d3.interpolateRdBu,
};

export function heatmap(options: HeatmapOptions = {}): Heatmap {
  ensureStyles();
  const scheme = options.scheme ?? "viridis";
  const interp = INTERP[scheme];
  const root = el("div", "r1v r1v-heatmap");
  if (options.title) root.append(el("div", "r1v-title", options.title));
  const plot = el("div", "r1v-plot");
  root.append(plot);
  const svg = d3.select(plot).append("svg");
  const canvas = el("canvas");
  plot.append(canvas);
  const tip = el("div", "r1v-tip");
  tip.hidden = true;
  plot.append(tip);
  const bar = el("div", "r1v-colorbar");
  root.append(bar);

  let current: HeatmapData | null = null;
  let layout = { left: 0, top: 0, cell: 10 };
  let color: (v: number) => string = () => "#000";

  function normalise(d: HeatmapData | readonly (readonly number[])[]): HeatmapData {
    if (!Array.isArray(d)) return d as HeatmapData;
    const rowsArr = d as readonly (readonly number[])[];
    const rows = rowsArr.length;
    const cols = rows ? rowsArr[0]!.length : 0;
    const data = new Float64Array(rows * cols);
    rowsArr.forEach((r, i) => r.forEach((v, j) => { data[i * cols + j] = v; }));
    return { rows, cols, data };
  }

  function update(input: HeatmapData | readonly (readonly number[])[]): void {
    const d = normalise(input);
    current = d;
    const { rows, cols, data } = d;
    if (data.length < rows * cols) throw new Error(`heatmap: ${rows}×${cols} needs ${rows * cols} values, got ${data.length}`);
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < rows * cols; i++) {
      const v = data[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (options.domain) [lo, hi] = options.domain;
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    if (scheme === "diverging" && !options.domain) { const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1; lo = -m; hi = m; }
    if (lo === hi) hi = lo + 1;
    // RdBu runs red → blue; flip so that positive is red
    const t = (v: number) => (v - lo) / (hi - lo);
    color = scheme === "diverging" ? (v) => interp(1 - t(v)) : (v) => interp(t(v));

    const cell = options.cell ?? Math.max(4, Math.min(28, Math.floor(360 / Math.max(rows, cols, 1))));
    const every = options.labelEvery ?? Math.max(1, Math.ceil(12 / cell));
    const rowLabels = d.rowLabels ?? d3.range(rows).map(String);
    const colLabels = d.colLabels ?? d3.range(cols).map(String);
    const longest = Math.max(1, ...rowLabels.filter((_, i) => i % every === 0).map((s) => s.length));
    const left = 18 + Math.min(90, longest * 6.5) + (options.yLabel ? 14 : 0);
    const colLongest = Math.max(1, ...colLabels.filter((_, i) => i % every === 0).map((s) => s.length));
    const rotate = colLongest * 6.5 > cell * every;
    const top = 6;
    const bottom = (rotate ? Math.min(90, colLongest * 6) + 10 : 18) + (options.xLabel ? 16 : 0);
    const w = left + cols * cell + 10;
    const h = top + rows * cell + bottom;
    layout = { left, top, cell };

    const dpr = typeof devicePixelRatio === "number" ? devicePixelRatio : 1;
    canvas.width = Math.max(1, cols * cell * dpr);
    canvas.height = Math.max(1, rows * cell * dpr);
    canvas.style.width = `${cols * cell}px`;
    canvas.style.height = `${rows * cell}px`;
    canvas.style.left = `${left}px`;
    canvas.style.top = `${top}px`;
    const ctx = canvas.getContext("2d");
    if (ctx) {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const v = data[i * cols + j]!;
          ctx.fillStyle = Number.isFinite(v) ? color(v) : "#888";
          ctx.fillRect(j * cell, i * cell, cell + 0.5, cell + 0.5);
        }
      }
      for (const m of d.marks ?? []) {
        ctx.beginPath();
        ctx.arc(m.x * cell, m.y * cell, Math.max(2, Math.min(4, cell / 3)), 0, 2 * Math.PI);
        ctx.fillStyle = m.color;
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = "rgba(255,255,255,0.85)";
        ctx.stroke();
      }
    }
    svg.attr("width", w).attr("height", h);
    svg.selectAll("*").remove();
    const g = svg.append("g").attr("class", "r1v-axis");
    g.selectAll("text.row").data(rowLabels.map((s, i) => ({ s, i })).filter((r) => r.i % every === 0)).join("text")
      .attr("class", "row").attr("x", left - 4).attr("y", (r) => top + (r.i + 0.5) * cell)
      .attr("dy", "0.35em").attr("text-anchor", "end").text((r) => r.s);
    g.selectAll("text.col").data(colLabels.map((s, j) => ({ s, j })).filter((c) => c.j % every === 0)).join("text")
      .attr("class", "col")
      .attr("transform", (c) => `translate(${left + (c.j + 0.5) * cell},${top + rows * cell + 4}) rotate(${rotate ? -90 : 0})`)
      .attr("dy", rotate ? "0.35em" : "0.8em").attr("text-anchor", rotate ? "end" : "middle").text((c) => c.s);
    if (options.yLabel) {
      g.append("text").attr("transform", `translate(9,${top + (rows * cell) / 2}) rotate(-90)`)
        .attr("text-anchor", "middle").attr("dy", "0.35em").text(options.yLabel);
    }
    if (options.xLabel) {
      g.append("text").attr("x", left + (cols * cell) / 2).attr("y", h - 3).attr("text-anchor", "middle").text(options.xLabel);
    }
    drawLegend(lo, hi);
    root.dataset.cells = String(rows * cols);
  }

  function drawLegend(lo: number, hi: number): void {
    const c = el("canvas");
    const W = 160;
    c.width = W; c.height = 10;
    c.style.width = `${W}px`; c.style.height = "10px";
    const ctx = c.getContext("2d");
    if (ctx) for (let x = 0; x < W; x++) { ctx.fillStyle = color(lo + ((hi - lo) * x) / (W - 1)); ctx.fillRect(x, 0, 1, 10); }
    bar.replaceChildren(el("span", undefined, fmt(lo)), c, el("span", undefined, fmt(hi)),
      el("span", undefined, options.valueLabel ?? ""));
  }

  plot.addEventListener("pointermove", (ev) => {
    if (!current) return;
    const rect = plot.getBoundingClientRect();
    const x = ev.clientX - rect.left - layout.left;
    const y = ev.clientY - rect.top - layout.top;
    const j = Math.floor(x / layout.cell);
    const i = Math.floor(y / layout.cell);
    if (i < 0 || j < 0 || i >= current.rows || j >= current.cols) { tip.hidden = true; return; }
    const v = current.data[i * current.cols + j]!;
    const rl = current.rowLabels?.[i] ?? String(i);
    const cl = current.colLabels?.[j] ?? String(j);
    tip.textContent = `${options.yLabel ?? "row"} ${rl} · ${options.xLabel ?? "col"} ${cl}: ${options.valueLabel ?? "value"} ${fmt(v)}`;
    tip.hidden = false;
    tip.style.left = `${layout.left + (j + 1) * layout.cell + 8}px`;
    tip.style.top = `${layout.top + i * layout.cell}px`;
  });
  plot.addEventListener("pointerleave", () => { tip.hidden = true; });

  return { element: root, update };
}
