// "Compare with TensorFlow.js and jax-js": the benchmark of `r1-lab bench` run in the
// learner's own browser (bench/browser.ts, reached through the docs/bench -> ../bench
// symlink), drawn as a grouped bar chart of GFLOP/s per size per library and a table
// of ratios, next to the results recorded in bench/results/*.json.
//
// Every library's product is checked against float64 entries (and against R1 Lab's)
// before it is timed; the training step of a tiny GPT is checked by comparing the first
// losses and gradient norms of R1 Lab and TensorFlow.js. The panel reports the checks.
import * as d3 from "d3";
import { runBrowserBench } from "../bench/browser.js";
import {
  type BenchJson, type BrowserBenchOptions, type BrowserBenchResult, type MatmulRow, type TrainSpec,
  describeSpec, squareCase, trainSpec,
} from "../bench/lib/common.js";
import { h } from "../lib/viz/dom.js";

const LIBS = [
  { key: "r1lab_gflops", name: "R1 Lab", color: "#d94f2b" },
  { key: "tfjs_gflops", name: "TensorFlow.js (webgpu)", color: "#4e79a7" },
  { key: "jax_gflops", name: "jax-js", color: "#59a14f" },
] as const;
type LibKey = (typeof LIBS)[number]["key"];

const fmt = (x: number | null, digits = 2) => (x === null || !Number.isFinite(x) ? "—" : x.toFixed(digits));
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);

/** The training step the panel times: "tiny" is the ci GPT cut to one layer and a small batch. */
export function panelTrainSpec(kind: "tiny" | "ci"): TrainSpec {
  const spec = trainSpec("ci");
  if (kind === "tiny") {
    spec.model.nLayers = 1;
    spec.batch = 4;
    spec.seqLen = 32;
  }
  return spec;
}

export function panelOptions(sizes: number[], train: "tiny" | "ci"): BrowserBenchOptions {
  return {
    matmul: { cases: sizes.map(squareCase), timing: { warmup: 1, reps: 3, maxReps: 9, budgetMs: 1500 } },
    train: { spec: panelTrainSpec(train), timing: { warmup: 0, reps: 2, maxReps: 5, budgetMs: 3000 }, checkSteps: 2 },
    cpuMatmul: null,
    cpuTrain: null,
    peers: { tfjs: true, jax: true, tfjsWasm: false, tfjsCpu: false },
    wasmPath: "",
  };
}

/** Grouped bars: one group per size, one bar per library, GFLOP/s on a linear axis. */
export function gflopsChart(rows: readonly MatmulRow[], title: string): SVGSVGElement {
  const width = 640;
  const height = 300;
  const m = { top: 40, right: 12, bottom: 62, left: 56 };
  const svg = d3.create("svg").attr("class", "r1-benchcmp-chart").attr("viewBox", `0 0 ${width} ${height}`)
    .attr("width", "100%").attr("role", "img").attr("aria-label", title);
  const x0 = d3.scaleBand<string>().domain(rows.map((r) => r.label)).range([m.left, width - m.right]).paddingInner(0.2).paddingOuter(0.1);
  const x1 = d3.scaleBand<LibKey>().domain(LIBS.map((l) => l.key)).range([0, x0.bandwidth()]).padding(0.08);
  const max = d3.max(rows, (r) => d3.max(LIBS, (l) => r[l.key] ?? 0)) ?? 0;
  const y = d3.scaleLinear().domain([0, max > 0 ? max * 1.12 : 1]).nice().range([height - m.bottom, m.top]);
  svg.append("text").attr("x", 4).attr("y", 15).attr("font-weight", 600).attr("font-size", 13).text(title);
  svg.append("g").attr("transform", `translate(0,${height - m.bottom})`).call(d3.axisBottom(x0));
  svg.append("g").attr("transform", `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(5))
    .call((g) => g.append("text").attr("x", -m.left + 4).attr("y", m.top - 10).attr("fill", "currentColor").attr("text-anchor", "start").text("GFLOP/s"));
  let bars = 0;
  const groups = svg.append("g").selectAll("g").data(rows).join("g").attr("transform", (r) => `translate(${x0(r.label) ?? 0},0)`);
  for (const lib of LIBS) {
    groups.each(function (r) {
      const v = r[lib.key];
      const g = d3.select(this);
      if (v === null || !Number.isFinite(v)) {
        g.append("text").attr("x", (x1(lib.key) ?? 0) + x1.bandwidth() / 2).attr("y", height - m.bottom - 4)
          .attr("text-anchor", "middle").attr("font-size", 10).text("—");
        return;
      }
      bars++;
      g.append("rect").attr("class", "r1-benchcmp-bar").attr("data-lib", lib.key)
        .attr("x", x1(lib.key) ?? 0).attr("width", x1.bandwidth())
        .attr("y", y(v)).attr("height", Math.max(0, y(0) - y(v))).attr("fill", lib.color)
        .append("title").text(`${lib.name}, ${r.label}: ${v.toFixed(3)} GFLOP/s`);
    });
  }
  const legend = svg.append("g").attr("transform", `translate(${m.left},${height - 22})`);
  LIBS.forEach((l, i) => {
    const item = legend.append("g").attr("transform", `translate(${i * 190},0)`);
    item.append("rect").attr("width", 12).attr("height", 12).attr("fill", l.color);
    item.append("text").attr("x", 17).attr("y", 10).attr("font-size", 12).text(l.name);
  });
  svg.attr("data-bars", String(bars));
  return svg.node()!;
}

/** R1 Lab ÷ peer per size (above 1: R1 Lab is faster). */
export function ratioTable(rows: readonly MatmulRow[]): HTMLTableElement {
  const t = h("table", "r1-benchcmp-ratios");
  const head = h("tr");
  for (const c of ["size", "R1 Lab", "tfjs-webgpu", "jax-js", "R1 ÷ tfjs", "R1 ÷ jax"]) head.append(h("th", undefined, c));
  t.append(head);
  for (const r of rows) {
    const tr = h("tr");
    tr.dataset.size = r.label;
    const cells = [r.label, fmt(r.r1lab_gflops), fmt(r.tfjs_gflops), fmt(r.jax_gflops),
      `${fmt(ratio(r.r1lab_gflops, r.tfjs_gflops))}×`, `${fmt(ratio(r.r1lab_gflops, r.jax_gflops))}×`];
    for (const c of cells) tr.append(h("td", undefined, c));
    t.append(tr);
  }
  return t;
}

function trainLine(r1: number | null, tfjs: number | null, model: string): HTMLElement {
  const p = h("p", "r1-benchcmp-train");
  const rr = ratio(tfjs, r1);
  p.append(h("strong", undefined, "Training step (forward, backward, AdamW): "),
    `R1 Lab ${fmt(r1, 1)} ms, TensorFlow.js (webgpu) ${fmt(tfjs, 1)} ms` +
    (rr !== null ? ` — R1 Lab ${rr.toFixed(1)}× faster` : "") + `. Model: ${model}.`);
  return p;
}

/** One recorded run from bench/results/*.json, or a "not recorded" line. */
export function recordedPanel(name: string, json: BenchJson | null): HTMLElement {
  const box = h("div", "r1-benchcmp-recorded");
  box.dataset.recorded = json ? "yes" : "no";
  if (!json) {
    box.append(h("p", "r1-note", `${name}: not recorded.`));
    return box;
  }
  const adapter = [json.adapter.vendor, json.adapter.architecture, json.adapter.description].filter(Boolean).join(" / ");
  const square = json.matmul.filter((r) => r.m === r.n && r.n === r.k && r.trans === "");
  box.append(h("p", "r1-note", `${name}: ${adapter || "unknown adapter"}${json.adapter.software ? " (software)" : ""}, ${json.adapter.browser}, ${json.date.slice(0, 10)}, command: ${json.command}.`));
  box.append(gflopsChart(square, `recorded: ${name}`), ratioTable(square));
  box.append(trainLine(json.train_step.r1lab_ms, json.train_step.tfjs_ms, json.train_step.model));
  return box;
}

export interface BenchCompareOptions {
  /** square sizes checked by default (the small ones) and offered on request */
  sizes?: number[];
  bigSizes?: number[];
}

/** The panel: size choices, the button, progress, then the checks, the chart and the ratios. */
export function benchCompare(opts: BenchCompareOptions = {}): HTMLElement {
  const small = opts.sizes ?? [128, 256];
  const big = opts.bigSizes ?? [512, 1024];
  const panel = h("div", "r1-panel r1-benchcmp");
  panel.dataset.state = "idle";
  const controls = h("div", "r1-benchcmp-controls");
  const boxes: HTMLInputElement[] = [];
  for (const n of [...small, ...big]) {
    const label = h("label");
    const cb = h("input");
    cb.type = "checkbox";
    cb.name = `size-${n}`;
    cb.value = String(n);
    cb.checked = small.includes(n);
    boxes.push(cb);
    label.append(cb, ` ${n}²  `);
    controls.append(label);
  }
  const trainSel = h("select");
  trainSel.name = "train";
  for (const [v, text] of [["tiny", "tiny GPT (1 layer)"], ["ci", "ci GPT (2 layers, batch 8×48; slower)"]] as const) {
    const o = h("option", undefined, text);
    o.value = v;
    trainSel.append(o);
  }
  const trainLabel = h("label");
  trainLabel.append(" training step: ", trainSel, " ");
  controls.append(trainLabel);
  const button = h("button", "r1-button", "Compare with TensorFlow.js and jax-js");
  button.type = "button";
  button.dataset.action = "compare";
  controls.append(button);
  const status = h("p", "r1-note r1-benchcmp-status", "Times fp32 matrix products in R1 Lab, TensorFlow.js's WebGPU backend and jax-js on this adapter, after checking each library's answers.");
  const log = h("pre", "r1-benchcmp-log");
  log.hidden = true;
  const out = h("div", "r1-benchcmp-out");
  panel.append(controls, status, log, out);

  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) {
    panel.dataset.state = "nowebgpu";
    button.disabled = true;
    status.textContent = "WebGPU is not available in this browser, so the comparison is skipped. The recorded results below still show a run.";
    return panel;
  }

  button.addEventListener("click", async () => {
    const sizes = boxes.filter((b) => b.checked).map((b) => Number(b.value));
    if (sizes.length === 0) {
      status.textContent = "Pick at least one size.";
      return;
    }
    const train = trainSel.value === "ci" ? "ci" : "tiny";
    button.disabled = true;
    panel.dataset.state = "running";
    out.replaceChildren();
    log.hidden = false;
    log.textContent = "";
    status.textContent = `Running: matmul at ${sizes.map((n) => `${n}²`).join(", ")}, then one training step of the ${train} GPT…`;
    const t0 = performance.now();
    let result: BrowserBenchResult;
    try {
      result = await runBrowserBench(panelOptions(sizes, train), (line) => { log.textContent += `${line}\n`; });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const noAdapter = /no WebGPU adapter|did not get a WebGPU backend/.test(why);
      panel.dataset.state = noAdapter ? "nowebgpu" : "error";
      status.textContent = noAdapter
        ? `WebGPU is not available here (${why}), so the comparison is skipped. The recorded results below still show a run.`
        : `The comparison failed: ${why}`;
      button.disabled = false;
      return;
    }
    const failed = result.checks.filter((c) => !c.ok);
    panel.dataset.checksPassed = String(result.checks.length - failed.length);
    panel.dataset.checksFailed = String(failed.length);
    const a = result.adapter;
    status.textContent = `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${[a.vendor, a.architecture, a.description].filter(Boolean).join(" / ") || "this adapter"}${a.software ? " (a software adapter: CPU emulation, not a GPU)" : ""}. ` +
      `Correctness checks: ${result.checks.length - failed.length} passed, ${failed.length} failed.`;
    const checks = h("ul", "r1-benchcmp-checks");
    for (const c of result.checks) {
      const li = h("li", c.ok ? "r1-ok" : "r1-fail", `${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`);
      li.dataset.ok = String(c.ok);
      checks.append(li);
    }
    for (const s of result.skipped) checks.append(h("li", "r1-note", `skipped: ${s}`));
    const details = h("details");
    details.append(h("summary", undefined, `correctness checks (${result.checks.length - failed.length}/${result.checks.length} passed)`), checks);
    out.append(
      gflopsChart(result.matmul, "fp32 matmul on this adapter, GFLOP/s (higher is better)"),
      ratioTable(result.matmul),
      trainLine(result.train.r1lab_ms, result.train.tfjs_ms, describeSpec(panelTrainSpec(train), result.train.params)),
      details,
    );
    panel.dataset.state = "done";
    button.disabled = false;
  });
  return panel;
}
