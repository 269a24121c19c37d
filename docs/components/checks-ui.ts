// Panels for the Engine lesson's live checks: parity, gradient check, matmul GFLOP/s.
// The checks themselves live in src/harness/checks.ts; this file only lays them out.
import * as d3 from "d3";
import type { Backend } from "../lib/tensor/backend.js";
import { createBackendWithReport } from "../lib/tensor/create.js";
import { CpuBackend } from "../lib/cpu/index.js";
import { gradCheck, matmulBench, runParity, type MatmulBenchRow } from "../lib/harness/checks.js";
import { h } from "../lib/viz/dom.js";

const exp = (v: number) => (Number.isFinite(v) ? (v === 0 ? "0" : v.toExponential(1)) : String(v));

export interface LessonBackends {
  /** the engine under test: WebGPU when available, else the float32 CPU engine */
  test: Backend;
  /** what it is compared with: the float32 CPU engine, or the float64 one when test is the CPU */
  ref: Backend;
  /** the float64 CPU engine (finite differences) */
  ref64: Backend;
  /** why WebGPU is not used, when it is not */
  fallback: string | null;
  /** run checks one at a time, so one check's work never lands in another's FLOP count or timing */
  serial<T>(fn: () => Promise<T>): Promise<T>;
}

function serialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
}

export async function lessonBackends(): Promise<LessonBackends> {
  const ref64 = new CpuBackend({ precision: "f64" });
  // These checks are about the WebGPU kernels: run them on any adapter, software ones too.
  const created = await createBackendWithReport("auto", { softwareAdapter: "use" });
  const serial = serialQueue();
  if (created.backend.name === "webgpu") return { test: created.backend, ref: new CpuBackend(), ref64, fallback: null, serial };
  return { test: created.backend, ref: ref64, ref64, fallback: created.fallbackReason ?? "no WebGPU adapter", serial };
}

function rerun(label: string, fn: () => Promise<void>): HTMLButtonElement {
  const b = h("button", "r1-button", label);
  b.type = "button";
  b.addEventListener("click", async () => {
    b.disabled = true;
    try { await fn(); } finally { b.disabled = false; }
  });
  return b;
}

export function parityPanel(bk: LessonBackends): HTMLElement {
  const panel = h("div", "r1-panel r1-parity");
  const title = bk.fallback ? "Parity: float32 CPU engine vs float64 CPU engine" : "Parity: WebGPU kernels vs their CPU twins";
  panel.append(h("h3", undefined, title));
  if (bk.fallback) {
    panel.append(h("p", "r1-message",
      `WebGPU is not available (${bk.fallback}), so there are no GPU kernels to check here: this compares the float32 CPU engine the lessons fall back to with the float64 reference.`));
  }
  const summary = h("p", "r1-note", "running…");
  const table = h("table", "r1-table");
  const head = h("tr");
  for (const c of ["op", "shapes", "max |Δ|", "tolerance", "ms", ""]) head.append(h("th", c === "ms" || c.startsWith("max") || c === "tolerance" ? "num" : undefined, c));
  table.append(head);
  const body = h("tbody");
  table.append(body);
  const go = () => bk.serial(async () => {
    panel.dataset.parity = "running";
    body.replaceChildren();
    summary.textContent = "running…";
    let pass = 0, fail = 0, worst = 0;
    const t0 = performance.now();
    for await (const r of runParity(bk.test, bk.ref, 1000 + Math.floor(Math.random() * 1000))) {
      const tr = h("tr");
      tr.dataset.op = r.op;
      tr.dataset.pass = String(r.pass);
      tr.append(h("td", undefined, r.op), h("td", "r1-note", r.shapes), h("td", "num", exp(r.maxAbsErr)), h("td", "num", exp(r.tol)),
        h("td", "num", r.ms.toFixed(0)), h("td", r.pass ? "r1-ok" : "r1-fail", r.pass ? "pass" : `FAIL${r.error ? `: ${r.error}` : ""}`));
      body.append(tr);
      if (r.pass) pass++; else fail++;
      if (Number.isFinite(r.maxAbsErr)) worst = Math.max(worst, r.maxAbsErr);
    }
    summary.replaceChildren(
      h("span", fail ? "r1-fail" : "r1-ok", fail ? `${fail} of ${pass + fail} ops FAILED` : `all ${pass} ops pass`),
      ` — largest difference ${exp(worst)}, fresh random inputs, ${((performance.now() - t0) / 1000).toFixed(1)} s on ${bk.test.description}.`,
    );
    panel.dataset.parity = fail ? "fail" : "pass";
  });
  panel.append(summary, table, rerun("Run again with new inputs", go));
  void go();
  return panel;
}

export function gradCheckPanel(bk: LessonBackends): HTMLElement {
  const panel = h("div", "r1-panel r1-gradcheck");
  panel.append(h("h3", undefined, "Gradient check: a tiny GPT"));
  const summary = h("p", "r1-note", "running…");
  const table = h("table", "r1-table");
  const go = () => bk.serial(async () => {
    panel.dataset.gradcheck = "running";
    summary.textContent = "running…";
    const rows = await gradCheck(bk.test, bk.ref64, { seed: 1 + Math.floor(Math.random() * 1000) });
    const head = h("tr");
    // two-line headers keep the table inside the panel at laptop widths
    const cols: [string, string][] = [
      ["parameter", ""], ["shape", ""], ["checked", ""],
      ["error", bk.test.name === "webgpu" ? "WebGPU, f32" : "CPU, f32"], ["error", "CPU, f64"], ["", ""],
    ];
    for (const [top, sub] of cols) {
      const th = h("th", undefined, top);
      if (sub) th.append(h("br"), h("span", "r1-note", sub));
      head.append(th);
    }
    table.replaceChildren(head, ...rows.map((r) => {
      const tr = h("tr");
      tr.append(h("td", undefined, r.param), h("td", "r1-note", r.shape), h("td", "num", String(r.samples)),
        h("td", "num", exp(r.relErr)), h("td", "num", exp(r.relErrRef)), h("td", r.pass ? "r1-ok" : "r1-fail", r.pass ? "pass" : "FAIL"));
      return tr;
    }));
    const bad = rows.filter((r) => !r.pass).length;
    const worst = Math.max(...rows.map((r) => r.relErr));
    summary.replaceChildren(
      h("span", bad ? "r1-fail" : "r1-ok", bad ? `${bad} of ${rows.length} parameters FAILED` : `all ${rows.length} parameters pass`),
      ` — worst relative error ${exp(worst)}. Error = |analytic − numeric| / max(|analytic| + |numeric|, 10⁻³) at random elements; numeric = central differences in float64.`,
    );
    panel.dataset.gradcheck = bad ? "fail" : "pass";
  });
  panel.append(summary, table, rerun("Check again (new seed)", go));
  void go();
  return panel;
}

export function benchPanel(bk: LessonBackends, sizes: readonly number[], bigger: readonly number[]): HTMLElement {
  const panel = h("div", "r1-panel r1-bench");
  panel.append(h("h3", undefined, `Matmul throughput on ${bk.test.name === "webgpu" ? "your GPU" : "the CPU engine"}`));
  const summary = h("p", "r1-note", "measuring…");
  const chartBox = h("div");
  const table = h("table", "r1-table");
  const rows: MatmulBenchRow[] = [];
  function draw(): void {
    const W = 520, H = 180, m = { l: 52, r: 10, t: 10, b: 30 };
    const svg = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("width", W).style("max-width", "100%").style("font-family", "var(--sans-serif)");
    const x = d3.scaleBand().domain(rows.map((r) => String(r.n))).range([m.l, W - m.r]).padding(0.25);
    const y = d3.scaleLinear().domain([0, d3.max(rows, (r) => r.gflops) ?? 1]).nice().range([H - m.b, m.t]);
    svg.append("g").attr("transform", `translate(0,${H - m.b})`).call(d3.axisBottom(x).tickFormat((d) => `${d}²`));
    svg.append("g").attr("transform", `translate(${m.l},0)`).call(d3.axisLeft(y).ticks(5));
    svg.append("text").attr("x", 4).attr("y", 12).attr("font-size", 11).attr("fill", "var(--theme-foreground-muted)").text("GFLOP/s");
    svg.append("g").selectAll("rect").data(rows).join("rect")
      .attr("x", (r) => x(String(r.n))!).attr("width", x.bandwidth())
      .attr("y", (r) => y(r.gflops)).attr("height", (r) => y(0) - y(r.gflops)).attr("fill", "var(--r1-accent)");
    svg.append("g").selectAll("text").data(rows).join("text")
      .attr("x", (r) => x(String(r.n))! + x.bandwidth() / 2).attr("y", (r) => y(r.gflops) - 3).attr("text-anchor", "middle")
      .attr("font-size", 11).attr("fill", "var(--theme-foreground)").text((r) => r.gflops.toFixed(r.gflops < 10 ? 2 : 0));
    chartBox.replaceChildren(svg.node()!);
    const head = h("tr");
    for (const c of ["n", "runs", "FLOPs counted", "time", "GFLOP/s"]) head.append(h("th", "num", c));
    table.replaceChildren(head, ...rows.map((r) => {
      const tr = h("tr");
      tr.append(h("td", "num", `${r.n}×${r.n}`), h("td", "num", String(r.reps)), h("td", "num", r.flops.toExponential(2)),
        h("td", "num", `${r.ms.toFixed(0)} ms`), h("td", "num", r.gflops.toFixed(2)));
      return tr;
    }));
  }
  const measure = (ns: readonly number[]) => bk.serial(async () => {
    panel.dataset.bench = "running";
    for (const n of ns) {
      summary.textContent = `measuring ${n}×${n}…`;
      const r = await matmulBench(bk.test, n, 500);
      const i = rows.findIndex((x) => x.n === n);
      if (i >= 0) rows[i] = r; else rows.push(r);
      rows.sort((a, b) => a.n - b.n);
      draw();
    }
    const best = rows.reduce((a, b) => (b.gflops > a.gflops ? b : a));
    summary.textContent = `Best: ${best.gflops.toFixed(2)} GFLOP/s at ${best.n}×${best.n}, on ${bk.test.description}. ` +
      "FLOPs are the engine's own count (2·M·N·K per product); time is wall time until the last result was read back.";
    panel.dataset.bench = "done";
  });
  const more = rerun(`Measure bigger sizes (${bigger.map((n) => `${n}²`).join(", ")})`, () => measure(bigger));
  panel.append(summary, chartBox, table, more);
  void measure(sizes);
  return panel;
}
