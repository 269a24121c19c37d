// A live line chart for streamed training metrics.
//
//   const chart = lineChart({ title: "loss", series: ["train", "val"] });
//   page.append(chart.element);
//   chart.push("train", step, loss);         // as many times as you like
//
// Several series, an EMA smoothing slider (debiased, as TensorBoard draws it: the
// raw curve stays visible, faint), a log-y toggle and a hover read-out. It stays
// smooth with many thousands of points: pushes only mark the chart dirty and one
// redraw runs per animation frame, and each series is decimated to at most four
// points per pixel column (first, min, max, last) before it becomes an SVG path.
import * as d3 from "d3";
import { PALETTE, ensureStyles, el, fmt } from "./style.js";

export interface LineChartOptions {
  title?: string;
  /** series known up front (fixed colour order); others are added as they arrive */
  series?: readonly string[];
  colors?: Readonly<Record<string, string>>;
  xLabel?: string;
  yLabel?: string;
  /** plot height in px (default 220) */
  height?: number;
  /** fixed width in px; by default the chart follows its container's width */
  width?: number;
  /** initial EMA weight in [0, 0.999] (default 0: no smoothing) */
  smoothing?: number;
  logY?: boolean;
  /** show the smoothing slider and the log-y toggle (default true) */
  controls?: boolean;
  /** fixed y domain (otherwise fitted to the data) */
  yDomain?: readonly [number, number];
}

export interface LineChart {
  readonly element: HTMLElement;
  /** add one point; x should not decrease within a series */
  push(series: string, x: number, y: number): void;
  /** add points for every numeric field of a metrics record: push(key, record[xKey], record[key]) */
  pushRecord(record: Readonly<Record<string, unknown>>, keys: readonly string[], xKey?: string): void;
  /** replace a series' points */
  set(series: string, points: ReadonlyArray<readonly [number, number]>): void;
  clear(): void;
  setSmoothing(weight: number): void;
  setLogY(on: boolean): void;
  /** total points held, over all series */
  readonly pointCount: number;
  /** draw now instead of on the next animation frame */
  flush(): void;
  destroy(): void;
}

class Series {
  xs = new Float64Array(256);
  ys = new Float64Array(256);
  sm = new Float64Array(256);
  n = 0;
  /** how many entries of sm are valid for smoothWeight */
  smN = 0;
  smoothWeight = -1;
  smAcc = 0;
  smK = 0;
  constructor(readonly name: string, readonly color: string) {}

  push(x: number, y: number): void {
    if (this.n === this.xs.length) {
      const grow = (a: Float64Array) => { const b = new Float64Array(a.length * 2); b.set(a); return b; };
      this.xs = grow(this.xs); this.ys = grow(this.ys); this.sm = grow(this.sm);
    }
    this.xs[this.n] = x;
    this.ys[this.n] = y;
    this.n++;
  }

  /** debiased EMA, computed incrementally; recomputed in full when the weight changes */
  smooth(w: number): Float64Array {
    if (w !== this.smoothWeight) { this.smoothWeight = w; this.smN = 0; this.smAcc = 0; this.smK = 0; }
    for (let i = this.smN; i < this.n; i++) {
      const y = this.ys[i]!;
      if (Number.isFinite(y)) { this.smAcc = w * this.smAcc + (1 - w) * y; this.smK++; }
      this.sm[i] = this.smK > 0 ? this.smAcc / (1 - Math.pow(w, this.smK)) : NaN;
    }
    this.smN = this.n;
    return this.sm;
  }

  /** index of the point whose x is nearest to x */
  nearest(x: number): number {
    let lo = 0;
    let hi = this.n - 1;
    if (hi < 0) return -1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.xs[mid]! < x) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(this.xs[lo - 1]! - x) <= Math.abs(this.xs[lo]! - x)) return lo - 1;
    return lo;
  }
}

const MARGIN = { top: 8, right: 14, bottom: 26, left: 52 };

/** Decimate to ≤ 4 points per pixel column; returns an SVG path string. */
function decimatedPath(
  xs: Float64Array, ys: Float64Array, n: number,
  sx: (v: number) => number, sy: (v: number) => number, ok: (y: number) => boolean,
): string {
  let d = "";
  let pen = false;
  let col = NaN;
  let firstY = 0, minY = 0, maxY = 0, lastY = 0, colX = 0;
  const flushCol = () => {
    if (Number.isNaN(col)) return;
    const pts = [firstY, minY, maxY, lastY];
    // keep order first → extremes → last so the zig-zag covers the column's range
    for (let j = 0; j < pts.length; j++) {
      if (j > 0 && pts[j] === pts[j - 1]) continue;
      d += `${pen ? "L" : "M"}${colX.toFixed(1)},${pts[j]!.toFixed(1)}`;
      pen = true;
    }
  };
  for (let i = 0; i < n; i++) {
    const y = ys[i]!;
    if (!ok(y)) { flushCol(); col = NaN; pen = false; continue; }
    const px = sx(xs[i]!);
    const py = sy(y);
    const c = Math.round(px);
    if (c !== col) {
      flushCol();
      col = c; colX = px; firstY = minY = maxY = lastY = py;
    } else {
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
      lastY = py;
    }
  }
  flushCol();
  return d;
}

export function lineChart(options: LineChartOptions = {}): LineChart {
  ensureStyles();
  const height = options.height ?? 220;
  const showControls = options.controls ?? true;
  let smoothing = clampSmoothing(options.smoothing ?? 0);
  let logY = options.logY ?? false;
  let width = options.width ?? 640;
  let destroyed = false;

  let legendDirty = true;
  let scheduled = 0;
  const series = new Map<string, Series>();
  const colorOf = (name: string) => options.colors?.[name] ?? PALETTE[series.size % PALETTE.length]!;
  const getSeries = (name: string): Series => {
    let s = series.get(name);
    if (!s) {
      s = new Series(name, colorOf(name));
      series.set(name, s);
      legendDirty = true;
    }
    return s;
  };
  for (const name of options.series ?? []) getSeries(name);

  // ---- DOM ------------------------------------------------------------------
  const root = el("div", "r1v r1v-linechart");
  if (options.title) root.append(el("div", "r1v-title", options.title));
  const controls = el("div", "r1v-controls");
  const legend = el("div", "r1v-legend");
  controls.append(legend);
  let smoothInput: HTMLInputElement | null = null;
  let logInput: HTMLInputElement | null = null;
  if (showControls) {
    const sl = el("label");
    sl.title = "exponential moving average of the raw values (debiased); the raw curve stays faint behind";
    smoothInput = el("input");
    smoothInput.type = "range"; smoothInput.min = "0"; smoothInput.max = "0.99"; smoothInput.step = "0.01";
    smoothInput.value = String(smoothing);
    const sv = el("span", undefined, smoothing.toFixed(2));
    smoothInput.addEventListener("input", () => {
      setSmoothing(Number(smoothInput!.value));
      sv.textContent = smoothing.toFixed(2);
    });
    sl.append("smoothing", smoothInput, sv);
    const ll = el("label");
    logInput = el("input");
    logInput.type = "checkbox"; logInput.checked = logY;
    logInput.addEventListener("change", () => setLogY(logInput!.checked));
    ll.append(logInput, "log y");
    controls.append(sl, ll);
  }
  root.append(controls);
  const plot = el("div", "r1v-plot");
  root.append(plot);
  const tip = el("div", "r1v-tip");
  tip.hidden = true;
  plot.append(tip);

  const svg = d3.select(plot).append("svg").attr("height", height);
  const gGridY = svg.append("g").attr("class", "r1v-grid");
  const gx = svg.append("g").attr("class", "r1v-axis");
  const gy = svg.append("g").attr("class", "r1v-axis");
  const gLines = svg.append("g");
  const gHover = svg.append("g").style("display", "none");
  const hoverRule = gHover.append("line").attr("stroke", "currentColor").attr("stroke-opacity", 0.35);
  const emptyText = svg.append("text").attr("class", "r1v-empty").attr("text-anchor", "middle").text("waiting for data…");
  if (options.xLabel) svg.append("text").attr("class", "r1v-axis-label").attr("text-anchor", "end");
  const overlay = svg.append("rect").attr("fill", "transparent").style("cursor", "crosshair");

  let sx = d3.scaleLinear();
  let sy: d3.ScaleContinuousNumeric<number, number> = d3.scaleLinear();

  function drawLegend(): void {
    legendDirty = false;
    legend.replaceChildren(...[...series.values()].map((s) => {
      const item = el("span");
      const sw = el("span", "r1v-swatch");
      sw.style.background = s.color;
      item.append(sw, s.name);
      return item;
    }));
  }

  function schedule(): void {
    if (scheduled || destroyed) return;
    scheduled = requestAnimationFrame(() => { scheduled = 0; draw(); });
  }

  function pointCount(): number {
    let n = 0;
    for (const s of series.values()) n += s.n;
    return n;
  }

  function draw(): void {
    if (destroyed) return;
    if (legendDirty) drawLegend();
    const w = Math.max(120, width);
    const iw = w - MARGIN.left - MARGIN.right;
    const ih = height - MARGIN.top - MARGIN.bottom;
    svg.attr("width", w).attr("viewBox", `0 0 ${w} ${height}`);
    const ok = logY ? (y: number) => Number.isFinite(y) && y > 0 : (y: number) => Number.isFinite(y);

    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of series.values()) {
      if (s.n === 0) continue;
      x0 = Math.min(x0, s.xs[0]!); x1 = Math.max(x1, s.xs[s.n - 1]!);
      for (let i = 0; i < s.n; i++) {
        const y = s.ys[i]!;
        if (!ok(y)) continue;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    const total = pointCount();
    root.dataset.points = String(total);
    emptyText.attr("x", MARGIN.left + iw / 2).attr("y", MARGIN.top + ih / 2).style("display", total ? "none" : "inline");
    if (!Number.isFinite(x0)) { x0 = 0; x1 = 1; }
    if (x0 === x1) { x0 -= 0.5; x1 += 0.5; }
    if (options.yDomain) [y0, y1] = options.yDomain;
    if (!Number.isFinite(y0)) { y0 = logY ? 0.1 : 0; y1 = logY ? 10 : 1; }
    if (y0 === y1) { const p = Math.abs(y0) * 0.05 || 0.5; y0 -= logY ? y0 / 2 : p; y1 += p; }

    sx = d3.scaleLinear().domain([x0, x1]).range([MARGIN.left, MARGIN.left + iw]);
    sy = (logY ? d3.scaleLog().domain([y0, y1]) : d3.scaleLinear().domain([y0, y1]))
      .range([MARGIN.top + ih, MARGIN.top]);
    if (!options.yDomain) sy.nice();

    const xTicks = Math.max(2, Math.floor(iw / 80));
    const yTicks = Math.max(2, Math.floor(ih / 40));
    gx.attr("transform", `translate(0,${MARGIN.top + ih})`).call(d3.axisBottom(sx).ticks(xTicks));
    gy.attr("transform", `translate(${MARGIN.left},0)`).call(d3.axisLeft(sy).ticks(yTicks, "~g"));
    // grid lines at the labelled values only (a log axis has ticks at every 1..9 × 10^k)
    const majors = sy.ticks(yTicks).filter((v) => !logY || Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
    gGridY.attr("transform", `translate(${MARGIN.left},0)`)
      .call(d3.axisLeft(sy).tickValues(majors).tickSize(-iw).tickFormat(() => ""));
    svg.select(".r1v-axis-label").attr("x", MARGIN.left - 8).attr("y", height - 6).text(options.xLabel ?? "");

    const fx = (v: number) => sx(v);
    const fy = (v: number) => sy(v);
    const paths: { d: string; color: string; width: number; opacity: number }[] = [];
    for (const s of series.values()) {
      if (s.n === 0) continue;
      const raw = decimatedPath(s.xs, s.ys, s.n, fx, fy, ok);
      if (smoothing > 0) {
        paths.push({ d: raw, color: s.color, width: 1, opacity: 0.25 });
        paths.push({ d: decimatedPath(s.xs, s.smooth(smoothing), s.n, fx, fy, ok), color: s.color, width: 1.8, opacity: 1 });
      } else {
        paths.push({ d: raw, color: s.color, width: 1.5, opacity: 1 });
      }
    }
    gLines.selectAll("path").data(paths).join("path")
      .attr("fill", "none").attr("stroke-linejoin", "round").attr("stroke-linecap", "round")
      .attr("d", (p) => p.d).attr("stroke", (p) => p.color)
      .attr("stroke-width", (p) => p.width).attr("stroke-opacity", (p) => p.opacity);
    overlay.attr("x", MARGIN.left).attr("y", MARGIN.top).attr("width", iw).attr("height", ih);
    if (hoverX !== null) showHover(hoverX);
  }

  // ---- hover read-out -------------------------------------------------------------
  let hoverX: number | null = null;
  function showHover(px: number): void {
    if (pointCount() === 0) { hideHover(); return; }
    const x = sx.invert(px);
    const rows: string[] = [];
    let snapX = NaN;
    const dots: { cx: number; cy: number; color: string }[] = [];
    for (const s of series.values()) {
      const i = s.nearest(x);
      if (i < 0) continue;
      if (Number.isNaN(snapX) || Math.abs(s.xs[i]! - x) < Math.abs(snapX - x)) snapX = s.xs[i]!;
      const y = s.ys[i]!;
      const smoothed = smoothing > 0 ? s.smooth(smoothing)[i]! : NaN;
      const value = smoothing > 0 ? `${fmt(smoothed)} <span style="opacity:.6">(raw ${fmt(y)})</span>` : fmt(y);
      rows.push(`<div><span class="r1v-swatch" style="background:${s.color}"></span>${escapeHtml(s.name)}: <b>${value}</b> <span style="opacity:.6">@ ${fmt(s.xs[i]!)}</span></div>`);
      const shown = smoothing > 0 ? smoothed : y;
      if (Number.isFinite(shown) && (!logY || shown > 0)) dots.push({ cx: sx(s.xs[i]!), cy: sy(shown), color: s.color });
    }
    const rx = sx(snapX);
    gHover.style("display", null);
    hoverRule.attr("x1", rx).attr("x2", rx).attr("y1", MARGIN.top).attr("y2", height - MARGIN.bottom);
    gHover.selectAll("circle").data(dots).join("circle").attr("r", 3)
      .attr("cx", (d) => d.cx).attr("cy", (d) => d.cy).attr("fill", (d) => d.color);
    tip.innerHTML = `<div style="opacity:.7">${escapeHtml(options.xLabel ?? "x")} ${fmt(snapX)}</div>${rows.join("")}`;
    tip.hidden = false;
    const left = rx + 12 + tip.offsetWidth > width ? rx - 12 - tip.offsetWidth : rx + 12;
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${MARGIN.top}px`;
  }
  function hideHover(): void {
    hoverX = null;
    gHover.style("display", "none");
    tip.hidden = true;
  }
  overlay.on("pointermove", (event: PointerEvent) => {
    hoverX = d3.pointer(event, svg.node())[0];
    showHover(hoverX);
  });
  overlay.on("pointerleave", hideHover);

  // ---- size -------------------------------------------------------------------
  let observer: ResizeObserver | null = null;
  if (options.width === undefined && typeof ResizeObserver !== "undefined") {
    observer = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (w > 0 && w !== width) { width = w; schedule(); }
    });
    observer.observe(root);
  }

  function setSmoothing(w: number): void {
    smoothing = clampSmoothing(w);
    if (smoothInput && Number(smoothInput.value) !== smoothing) smoothInput.value = String(smoothing);
    schedule();
  }
  function setLogY(on: boolean): void {
    logY = on;
    if (logInput) logInput.checked = on;
    schedule();
  }

  draw();
  return {
    element: root,
    push(name, x, y) {
      getSeries(name).push(x, y);
      schedule();
    },
    pushRecord(record, keys, xKey = "step") {
      const x = Number(record[xKey]);
      if (!Number.isFinite(x)) return;
      for (const k of keys) {
        const v = record[k];
        if (typeof v === "number") getSeries(k).push(x, v);
      }
      schedule();
    },
    set(name, points) {
      const s = new Series(name, getSeries(name).color);
      for (const [x, y] of points) s.push(x, y);
      series.set(name, s);
      schedule();
    },
    clear() {
      for (const [name, s] of series) series.set(name, new Series(name, s.color));
      hideHover();
      schedule();
    },
    setSmoothing,
    setLogY,
    get pointCount() { return pointCount(); },
    flush() {
      if (scheduled) { cancelAnimationFrame(scheduled); scheduled = 0; }
      draw();
    },
    destroy() {
      destroyed = true;
      observer?.disconnect();
      if (scheduled) cancelAnimationFrame(scheduled);
    },
  };
}

function clampSmoothing(w: number): number {
  return Number.isFinite(w) ? Math.min(0.999, Math.max(0, w)) : 0;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
