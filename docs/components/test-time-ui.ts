// Page pieces for the Test-time compute lesson: self-consistency (pass@k and maj@k
// against k), accuracy against the thinking budget, and every strategy on one axis
// (accuracy against tokens per question), for recorded runs (data/results/test-time.json)
// and for the live measurement the page runs. The measuring code is src/eval/ (docs/lib).
import * as d3 from "d3";
import { computePoints, summaryFromReport, type TestTimeSummary } from "../lib/eval/test-time.js";
import { lineChart } from "../lib/viz/line-chart.js";
import { h } from "../lib/viz/dom.js";

export interface RecordedReport {
  name: string;
  command: string;
  metrics: Record<string, number>;
  budget: { budget: number; accuracy: number; mean_tokens: number; mean_think_tokens: number; forced_rate: number }[];
  config: { ks: number[]; problemsPerLevel: number; levels: number[]; temperature: number };
  levels: { level: number; think: { accuracy: number; mean_completion_tokens: number }; no_think: { accuracy: number } }[];
}
export interface TestTimeResults {
  missing?: boolean;
  runs?: RecordedReport[];
  claims?: unknown[];
}

const pct = (v: number | undefined) => (typeof v === "number" ? `${(100 * v).toFixed(0)}%` : "–");

/** pass@k and maj@k against k (log scale), one pair of series per summary. */
export function selfConsistencyChart(summaries: readonly { label: string; s: TestTimeSummary }[]): HTMLElement {
  const chart = lineChart({ title: "self-consistency: pass@k and maj@k", xLabel: "log₂ k", yLabel: "accuracy", height: 220, controls: false, yDomain: [0, 1] });
  for (const { label, s } of summaries) {
    chart.set(`pass@k ${label}`, Object.entries(s.pass_at_k).map(([k, v]) => [Math.log2(Number(k)), v] as const));
    chart.set(`maj@k ${label}`, Object.entries(s.maj_at_k).map(([k, v]) => [Math.log2(Number(k)), v] as const));
  }
  chart.flush();
  chart.element.classList.add("r1-tt-sc");
  return chart.element;
}

/** Greedy accuracy against the thinking budget B. */
export function budgetChart(summaries: readonly { label: string; s: TestTimeSummary }[]): HTMLElement {
  const chart = lineChart({ title: "accuracy against the thinking budget", xLabel: "budget B (tokens of thought)", yLabel: "accuracy", height: 220, controls: false, yDomain: [0, 1] });
  for (const { label, s } of summaries) chart.set(label, s.budgets.map((b) => [b.budget, b.accuracy] as const));
  chart.flush();
  chart.element.classList.add("r1-tt-budget");
  return chart.element;
}

const STRATEGY_COLOURS: Record<string, string> = { "answer at once": "#c98a00", budget: "#2f6fdf", think: "#2f9e44", "majority vote": "#9c36b5" };

/** Every strategy on one axis: accuracy against tokens generated per question (log scale). */
export function computeChart(summaries: readonly { label: string; s: TestTimeSummary }[], width = 640): HTMLElement {
  const root = h("div", "r1-tt-compute");
  const height = 260;
  const m = { top: 10, right: 16, bottom: 40, left: 44 };
  const all = summaries.flatMap(({ label, s }) => computePoints(s).map((p) => ({ ...p, model: label })));
  root.dataset.points = String(all.length);
  const x = d3.scaleLog().domain([Math.max(1, d3.min(all, (p) => p.tokens) ?? 1) / 1.3, (d3.max(all, (p) => p.tokens) ?? 10) * 1.3]).range([m.left, width - m.right]);
  const y = d3.scaleLinear().domain([0, 1]).range([height - m.bottom, m.top]);
  const svg = d3.create("svg").attr("viewBox", `0 0 ${width} ${height}`).attr("width", "100%").style("max-width", `${width}px`);
  svg.append("g").attr("transform", `translate(0,${height - m.bottom})`).call(d3.axisBottom(x).ticks(6, "~s"));
  svg.append("g").attr("transform", `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(5, "%"));
  svg.append("text").attr("x", width / 2).attr("y", height - 6).attr("text-anchor", "middle").attr("font-size", 11).attr("fill", "currentColor").text("tokens generated per question (log scale)");
  const symbols = [d3.symbolCircle, d3.symbolTriangle, d3.symbolSquare];
  summaries.forEach(({ label }, mi) => {
    const mine = all.filter((p) => p.model === label);
    // the budget sweep and the vote as lines, in order of cost
    for (const strategy of ["budget", "majority vote"] as const) {
      const line = mine.filter((p) => p.strategy === strategy).sort((a, b) => a.tokens - b.tokens);
      svg.append("path").attr("fill", "none").attr("stroke", STRATEGY_COLOURS[strategy]!).attr("stroke-opacity", 0.6).attr("stroke-dasharray", mi ? "4 3" : null)
        .attr("d", d3.line<(typeof line)[number]>().x((p) => x(p.tokens)).y((p) => y(p.accuracy))(line));
    }
    for (const p of mine) {
      svg.append("path").attr("transform", `translate(${x(p.tokens)},${y(p.accuracy)})`).attr("d", d3.symbol(symbols[mi % symbols.length]!, 42)())
        .attr("fill", STRATEGY_COLOURS[p.strategy]!).append("title")
        .text(`${label} · ${p.strategy}${p.knob !== undefined ? (p.strategy === "budget" ? ` B = ${p.knob}` : ` k = ${p.knob}`) : ""}: ${pct(p.accuracy)} at ${p.tokens.toFixed(0)} tokens`);
    }
  });
  const legend = h("div", "r1-note");
  legend.append(...Object.entries(STRATEGY_COLOURS).map(([k, c]) => {
    const s = h("span", undefined, `● ${k}  `);
    s.style.color = c;
    return s;
  }), ...summaries.map(({ label }, mi) => h("span", undefined, `${["●", "▲", "■"][mi % 3]} ${label}  `)));
  root.append(svg.node()!, legend);
  return root;
}

/** The recorded runs as summaries, labelled by run name. */
export function recordedSummaries(results: TestTimeResults): { label: string; s: TestTimeSummary }[] {
  return (results.runs ?? []).map((r) => ({ label: r.name, s: summaryFromReport(r) }));
}

/** Thinking or not, per level, for every recorded model. */
export function thinkTable(results: TestTimeResults): HTMLElement {
  const t = h("table", "r1-table r1-tt-think");
  const runs = results.runs ?? [];
  const hr = h("tr");
  for (const k of ["level", ...runs.flatMap((r) => [`${r.name}: think`, `${r.name}: at once`, "tokens"])]) hr.append(h("th", undefined, k));
  t.append(hr);
  const levels = runs[0]?.levels.map((l) => l.level) ?? [];
  for (const level of levels) {
    const tr = h("tr");
    tr.append(h("td", undefined, String(level)));
    for (const r of runs) {
      const l = r.levels.find((x) => x.level === level)!;
      tr.append(h("td", "num", pct(l.think.accuracy)), h("td", "num", pct(l.no_think.accuracy)), h("td", "num", l.think.mean_completion_tokens.toFixed(0)));
    }
    t.append(tr);
  }
  const box = h("div", "r1-panel");
  box.style.overflowX = "auto";
  box.append(t);
  return box;
}

/** Sentences built from the recorded numbers, so the page states nothing the file does not hold. */
export function testTimeFindings(results: TestTimeResults): HTMLElement {
  const ul = h("ul", "r1-tt-findings");
  if (results.missing || !results.runs?.length) {
    ul.dataset.recorded = "missing";
    ul.append(h("li", undefined, "Not recorded in this build (data/results/test-time.json)."));
    return ul;
  }
  ul.dataset.recorded = "yes";
  for (const r of results.runs) {
    const o = r.metrics;
    const kMax = Math.max(...r.config.ks);
    const b0 = r.budget.find((b) => b.budget === 0);
    const bMax = r.budget[r.budget.length - 1];
    ul.append(h("li", undefined,
      `${r.name}: thinking ${pct(o.heldout_accuracy)} vs answering at once ${pct(o.heldout_accuracy_no_think)} (greedy, ${o.mean_completion_tokens?.toFixed(0)} vs ${o.mean_completion_tokens_no_think?.toFixed(0)} tokens); ` +
      `majority of ${kMax} samples ${pct(o[`maj_at_${kMax}`])} vs one sample ${pct(o.pass_at_1)} (pass@1, temperature ${r.config.temperature}); ` +
      `at least one of ${kMax} right: ${pct(o[`pass_at_${kMax}`])}; ` +
      `thinking budget ${b0 ? `B = 0: ${pct(b0.accuracy)}` : ""}${bMax ? ` → B = ${bMax.budget}: ${pct(bMax.accuracy)}` : ""}.`));
  }
  const claims = (results.claims ?? []).filter((c): c is string => typeof c === "string");
  for (const c of claims) ul.append(h("li", undefined, c));
  return ul;
}
