// The Engine lesson's "one op, three engines" panel: the same matrix product as WGSL
// on WebGPU, as WebAssembly SIMD and as plain TypeScript, their code side by side,
// whether they agree, and how fast each is on the learner's machine. The comparison
// itself is compareEngines() in src/harness/checks.ts.
import * as d3 from "d3";
import type { Backend } from "../lib/tensor/backend.js";
import { createBackendWithReport } from "../lib/tensor/create.js";
import { CpuBackend, createCpuBackend } from "../lib/cpu/index.js";
import { compareEngines, type EngineRow } from "../lib/harness/checks.js";
import { h } from "../lib/viz/dom.js";
import { codeBlock } from "./source.js";

export interface ThreeWaysSources {
  wgsl: string;
  wasm: string;
  reference: string;
}

interface Engines {
  list: { label: string; backend: Backend }[];
  notes: string[];
  destroy(): void;
}

/** reference first (it is what the others are compared with), then WebAssembly, then WebGPU when there is an adapter */
async function openEngines(): Promise<Engines> {
  const notes: string[] = [];
  const list: { label: string; backend: Backend }[] = [{ label: "plain TypeScript", backend: new CpuBackend() }];
  const wasm = await createCpuBackend();
  if (wasm.fallbackReason) notes.push(wasm.fallbackReason);
  else list.push({ label: "WebAssembly SIMD", backend: wasm.backend });
  try {
    const gpu = await createBackendWithReport("webgpu");
    const soft = gpu.report?.software ? " (a software adapter: it runs on the CPU)" : "";
    list.push({ label: `WGSL on WebGPU${soft}`, backend: gpu.backend });
  } catch (e) {
    notes.push(`no WebGPU here (${e instanceof Error ? e.message : String(e)}), so the WGSL kernel is shown but not run`);
  }
  return { list, notes, destroy: () => { for (const e of list) e.backend.destroy(); } };
}

function chart(rows: EngineRow[]): SVGSVGElement {
  const W = 520, rowH = 30, m = { l: 250, r: 60, t: 6, b: 24 };
  const H = m.t + m.b + rows.length * rowH;
  const svg = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("width", W).style("max-width", "100%")
    .style("font-family", "var(--sans-serif)").attr("role", "img").attr("aria-label", "GFLOP/s of each engine");
  const x = d3.scaleLinear().domain([0, d3.max(rows, (r) => r.bench.gflops) ?? 1]).nice().range([m.l, W - m.r]);
  const y = d3.scaleBand().domain(rows.map((r) => r.label)).range([m.t, H - m.b]).padding(0.25);
  svg.append("g").attr("transform", `translate(0,${H - m.b})`).call(d3.axisBottom(x).ticks(5)).call((g) =>
    g.append("text").attr("x", W - m.r).attr("y", 20).attr("fill", "currentColor").attr("text-anchor", "end").text("GFLOP/s"));
  svg.append("g").selectAll("text").data(rows).join("text")
    .attr("x", m.l - 6).attr("y", (r) => y(r.label)! + y.bandwidth() / 2).attr("dy", "0.35em").attr("text-anchor", "end")
    .attr("font-size", 12).attr("fill", "currentColor").text((r) => r.label.replace(/ \(.*\)$/, ""));
  svg.append("g").selectAll("rect").data(rows).join("rect")
    .attr("x", m.l).attr("y", (r) => y(r.label)!).attr("height", y.bandwidth())
    .attr("width", (r) => x(r.bench.gflops) - m.l).attr("fill", "var(--r1-accent)");
  svg.append("g").selectAll("text").data(rows).join("text")
    .attr("x", (r) => x(r.bench.gflops) + 4).attr("y", (r) => y(r.label)! + y.bandwidth() / 2).attr("dy", "0.35em")
    .attr("font-size", 12).attr("fill", "currentColor").text((r) => r.bench.gflops.toFixed(r.bench.gflops < 10 ? 2 : 1));
  return svg.node()!;
}

export function threeWaysPanel(sources: ThreeWaysSources): HTMLElement {
  const panel = h("div", "r1-panel r1-three-ways");
  panel.append(h("h3", undefined, "One matrix product, three engines"));
  const code = h("div", "r1-three-code");
  for (const [title, text] of [
    ["WGSL (kernels/matmul_blocked_vec4.wgsl): one GPU thread per 4×4 block of C", sources.wgsl],
    ["WebAssembly SIMD (kernels/wasm/matmul.ts): a 4×8 block of C in eight 4-lane registers", sources.wasm],
    ["Plain TypeScript (src/cpu/reference/matmul.ts): the reference, sums in float64", sources.reference],
  ] as const) {
    const col = h("div", "r1-three-col");
    col.append(h("h4", undefined, title), codeBlock(text, title));
    code.append(col);
  }
  const sizeSelect = h("select");
  sizeSelect.name = "three-ways-size";
  for (const n of [128, 256, 512]) sizeSelect.append(Object.assign(h("option", undefined, `${n}×${n}`), { value: String(n) }));
  sizeSelect.value = "256";
  const run = h("button", "r1-button", "Run the comparison");
  run.type = "button";
  const expected = h("span", "r1-note", "about 0.5 s per engine (each is timed for 400 ms after a check)");
  const controls = h("div", "r1-controls");
  const label = h("label", undefined, "size ");
  label.append(sizeSelect);
  controls.append(label, run, expected);
  const status = h("p", "r1-note");
  const chartBox = h("div");
  const table = h("table", "r1-table");
  panel.append(code, controls, status, chartBox, table);

  let engines: Promise<Engines> | null = null;
  async function go(): Promise<void> {
    run.disabled = true;
    panel.dataset.state = "running";
    try {
      engines ??= openEngines();
      const e = await engines;
      const n = Number(sizeSelect.value);
      status.textContent = `multiplying two ${n}×${n} matrices on ${e.list.length} engines…`;
      const rows = await compareEngines(e.list, n);
      chartBox.replaceChildren(chart(rows));
      const head = h("tr");
      for (const c of ["engine", "agrees with plain TypeScript?", "max |difference|", "GFLOP/s"]) head.append(h("th", undefined, c));
      table.replaceChildren(head, ...rows.map((r, i) => {
        const tr = h("tr");
        tr.append(h("td", undefined, r.label),
          h("td", r.pass ? "r1-ok" : "r1-fail", i === 0 ? "(the reference)" : r.pass ? "yes" : "NO"),
          h("td", "num", i === 0 ? "—" : r.maxAbsErr.toExponential(1)),
          h("td", "num", r.bench.gflops.toFixed(2)));
        return tr;
      }));
      const ref = rows[0]!.bench.gflops;
      const fastest = rows.reduce((a, b) => (b.bench.gflops > a.bench.gflops ? b : a));
      status.textContent = `On this machine, at ${n}×${n}: ${fastest.label} is the fastest, ${(fastest.bench.gflops / ref).toFixed(1)}× the plain TypeScript. ` +
        `Every engine's product agrees with the reference within float32 rounding (tolerance ${rows[0]!.tol.toExponential(1)}) ` +
        `${rows.every((r) => r.pass) ? "— checked." : "— except those marked NO."}${e.notes.length ? ` Note: ${e.notes.join("; ")}.` : ""}`;
      panel.dataset.state = rows.every((r) => r.pass) ? "done" : "failed";
    } catch (err) {
      status.textContent = `The comparison failed: ${err instanceof Error ? err.message : String(err)}`;
      panel.dataset.state = "failed";
    } finally {
      run.disabled = false;
    }
  }
  run.addEventListener("click", () => void go());
  return panel;
}
