// Page pieces for the RLHF lesson: the reward model's accuracy and calibration, the
// proxy-vs-gold chart against KL (recorded runs, and a live one from the harness),
// DPO beside them, and sentences built from data/results/rlhf.json. Nothing here
// trains; the numbers come from the results file or from the harness's records.
import type { MetricRecord } from "../lib/harness/jobs.js";
import type { RlhfPhaseView } from "../lib/harness/jobs/rlhf.js";
import { lineChart, type LineChart } from "../lib/viz/line-chart.js";
import { h } from "../lib/viz/dom.js";
import { beforeAfter, madeBy, runsTable } from "./recorded.js";

export interface RlhfRun {
  name: string;
  command: string;
  wall_s?: number;
  metrics: Record<string, number | null>;
  series?: Record<string, [number, number][]>;
  calibration?: { predicted: number | null; observed: number | null; count: number }[];
}
export interface RlhfResults {
  missing?: boolean;
  runs?: RlhfRun[];
  claims?: string[];
  same_kl?: Record<string, Record<string, number | null>>;
}

const CSS = `
.r1-rlhf-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.r1-rlhf-table td.num { white-space: nowrap; text-align: right; }
.r1-rlhf-pairs table { display: table; width: 100%; table-layout: fixed; font-size: 13px; }
.r1-rlhf-pairs th:first-child { width: 16%; }
.r1-rlhf-pairs th:last-child { width: 16%; }
.r1-rlhf-pairs code { white-space: pre-wrap; word-break: break-all; font-size: 12px; }
`;
let cssDone = false;
export function rlhfCss(): void {
  if (cssDone) return;
  cssDone = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}

const find = (r: RlhfResults, name: string) => (r.runs ?? []).find((x) => x.name === name) ?? null;
const pct = (v: number | null | undefined) => (typeof v === "number" ? `${(100 * v).toFixed(1)}%` : "–");
const f3 = (v: number | null | undefined) => (typeof v === "number" ? v.toFixed(3) : "–");

function missing(root: HTMLElement, what: string): HTMLElement {
  root.dataset.recorded = "missing";
  root.append(h("p", "r1-note", `Not recorded yet: data/results/rlhf.json has no ${what}.`));
  return root;
}

/** The reward model: held-out pair accuracy and a calibration chart (predicted vs observed preference rate). */
export function rmPanel(results: RlhfResults, preset = "default"): HTMLElement {
  rlhfCss();
  const root = h("div", "r1-panel r1-rlhf-rm");
  const rm = find(results, `rm-${preset}`);
  if (!rm?.calibration) return missing(root, `reward-model run "rm-${preset}"`);
  root.dataset.recorded = "yes";
  const m = rm.metrics;
  root.append(h("p", undefined,
    `${m.pairs_train} training pairs and ${m.pairs_heldout} held-out pairs (${pct(m.pairs_tie_share)} of the sampled pairs were ties and dropped; ` +
    `${pct(m.pairs_flipped_share)} of the training labels flipped). Held-out pair accuracy: ${pct(m.rm_pair_accuracy)} against the labels ` +
    `(${pct(m.rm_gold_accuracy)} against the gold rule itself), from ${pct(m.rm_pair_accuracy_before)} with the untrained head.`));
  const bins = rm.calibration.filter((b) => b.count > 0 && b.predicted !== null && b.observed !== null);
  const chart = lineChart({ title: "calibration on held-out pairs", series: ["reward model", "perfect calibration"], xLabel: "predicted P(a ≻ b)", yLabel: "observed rate", height: 240, controls: false, yDomain: [0, 1] });
  chart.set("perfect calibration", [[0, 0], [1, 1]]);
  chart.set("reward model", bins.map((b) => [b.predicted!, b.observed!] as const));
  chart.flush();
  root.append(chart.element);
  const t = h("table", "r1-table r1-rlhf-table");
  const hr = h("tr");
  for (const k of ["predicted", "observed", "pairs"]) hr.append(h("th", undefined, k));
  t.append(hr);
  for (const b of bins) {
    const tr = h("tr");
    tr.append(h("td", "num", pct(b.predicted)), h("td", "num", pct(b.observed)), h("td", "num", String(b.count)));
    t.append(tr);
  }
  root.append(t);
  return root;
}

/**
 * a run's held-out (√KL, value) points from its start, sorted by KL (a line chart needs
 * increasing x). The x-axis is √KL, as Gao et al. (2022) plot it (their d = √KL).
 */
function againstKl(r: RlhfRun, key: "heldout_gold_reward" | "heldout_proxy_reward", before: number | null): [number, number][] {
  const kl = new Map(r.series?.heldout_kl ?? []);
  const pts: [number, number][] = typeof before === "number" ? [[0, before]] : [];
  for (const [step, v] of r.series?.[key] ?? []) if (kl.has(step)) pts.push([Math.sqrt(Math.max(0, kl.get(step)!)), v]);
  return pts.sort((a, b) => a[0] - b[0]);
}

/** Gold and proxy reward against KL from the start, for RL with the learned reward, with rules, and DPO's end point. */
export function proxyGoldPanel(results: RlhfResults, preset = "default"): HTMLElement {
  rlhfCss();
  const root = h("div", "r1-panel r1-rlhf-proxy-gold");
  const rm = find(results, `rlhf-rm-${preset}`);
  const rules = find(results, `rlhf-rules-${preset}`);
  const dpo = find(results, `dpo-${preset}`);
  if (!rm?.series || !rules?.series) return missing(root, `RL runs for the ${preset} preset`);
  root.dataset.recorded = "yes";
  const grid = h("div", "r1-rlhf-charts");
  const names = ["RL vs reward model: gold", "RL vs rules: gold", "DPO: gold"];
  const gold = lineChart({ title: "gold reward (the hidden rule) against √KL", series: names, xLabel: "√KL (nats)", yLabel: "gold reward", height: 240, controls: false });
  gold.set(names[0]!, againstKl(rm, "heldout_gold_reward", rm.metrics.gold_reward_before ?? null));
  gold.set(names[1]!, againstKl(rules, "heldout_gold_reward", rules.metrics.gold_reward_before ?? null));
  if (dpo) gold.set(names[2]!, [[0, dpo.metrics.gold_reward_before ?? NaN], [Math.sqrt(dpo.metrics.kl ?? NaN), dpo.metrics.gold_reward ?? NaN]]);
  gold.flush();
  const pnames = ["RL vs reward model: proxy", "RL vs rules: proxy", "DPO: proxy"];
  const proxy = lineChart({ title: "proxy reward (the reward model's score) against √KL", series: pnames, xLabel: "√KL (nats)", yLabel: "reward-model score", height: 240, controls: false });
  proxy.set(pnames[0]!, againstKl(rm, "heldout_proxy_reward", rm.metrics.proxy_reward_before ?? null));
  proxy.set(pnames[1]!, againstKl(rules, "heldout_proxy_reward", rules.metrics.proxy_reward_before ?? null));
  if (dpo && typeof dpo.metrics.proxy_reward === "number") proxy.set(pnames[2]!, [[0, dpo.metrics.proxy_reward_before ?? NaN], [Math.sqrt(dpo.metrics.kl ?? NaN), dpo.metrics.proxy_reward]]);
  proxy.flush();
  grid.append(gold.element, proxy.element);
  root.append(grid);
  return root;
}

/** Live: the harness run's held-out gold and proxy reward against its KL (nats, not √: a short run's
 * estimate can sit just below 0, which √ cannot show), drawn as the records arrive. */
/** What the run is doing before its RL steps, which take the harness's progress bar. */
export function phaseText(v: RlhfPhaseView): string {
  const n = (x: number) => x.toLocaleString("en-US");
  if (v.phase === "pairs") return `1 of 3 · sampling preference pairs from the SFT model: ${n(v.done)} of ${n(v.total)} prompts (two replies each)`;
  if (v.phase === "rm") return `2 of 3 · training the reward model on them: step ${n(v.done)} of ${n(v.total)}`;
  return `3 of 3 · RL: ${n(v.total)} steps, counted by the progress bar above; gold, proxy and KL are measured on held-out prompts as it goes`;
}

export function liveProxyGold(): { element: HTMLElement; add(r: MetricRecord): void; phase(v: RlhfPhaseView): void; clear(): void } {
  rlhfCss();
  const root = h("div", "r1-panel r1-rlhf-live");
  const phaseLine = h("p", "r1-note r1-rlhf-phase", "Press Run: the pairs are sampled and the reward model trained first, then the RL steps begin.");
  const chart: LineChart = lineChart({ title: "live: gold and proxy reward against KL", series: ["gold", "proxy"], xLabel: "KL (nats per reply)", yLabel: "reward", height: 240, controls: false });
  root.append(phaseLine, chart.element);
  const pts: { kl: number; gold: number; proxy: number }[] = [];
  return {
    element: root,
    phase(v) {
      phaseLine.textContent = phaseText(v);
      phaseLine.dataset.phase = v.phase;
    },
    add(r) {
      if (typeof r.heldout_kl !== "number" || typeof r.heldout_gold_reward !== "number" || typeof r.heldout_proxy_reward !== "number") return;
      pts.push({ kl: r.heldout_kl, gold: r.heldout_gold_reward, proxy: r.heldout_proxy_reward });
      pts.sort((a, b) => a.kl - b.kl);
      chart.set("gold", pts.map((p) => [p.kl, p.gold] as const));
      chart.set("proxy", pts.map((p) => [p.kl, p.proxy] as const));
      chart.flush();
      root.dataset.points = String(pts.length);
    },
    clear() {
      pts.length = 0;
      chart.clear();
      root.dataset.points = "0";
      phaseLine.textContent = "Press Run: the pairs are sampled and the reward model trained first, then the RL steps begin.";
      delete phaseLine.dataset.phase;
    },
  };
}

/** Every recorded run with its gold reward, proxy and KL, and the commands. */
export function rlhfResultsPanel(results: RlhfResults): HTMLElement {
  rlhfCss();
  const root = h("div", "r1-panel r1-rlhf-results");
  if (results.missing || !Array.isArray(results.runs)) return missing(root, "runs");
  root.dataset.recorded = "yes";
  const t = runsTable(results.runs, [
    { label: "gold reward", cell: (m) => beforeAfter(m, "gold_reward", f3) },
    { label: "proxy reward", cell: (m) => beforeAfter(m, "proxy_reward", f3) },
    { label: "KL (nats)", cell: (m) => f3(m.kl) },
    { label: "accuracy", cell: (m) => beforeAfter(m, "accuracy", pct) },
  ], "r1-table r1-rlhf-table");
  root.append(t);
  root.append(...madeBy(results.runs));
  return root;
}

/** The claims of data/results/rlhf.json, and the same-KL comparison, as sentences. */
export function rlhfFindings(results: RlhfResults, preset = "default"): HTMLElement {
  rlhfCss();
  const root = h("ul", "r1-rlhf-findings");
  const same = results.same_kl?.[preset];
  const claims = (results.claims ?? []).filter((c): c is string => typeof c === "string");
  if (!same && claims.length === 0) {
    root.dataset.recorded = "missing";
    root.append(h("li", undefined, "Nothing recorded yet (data/results/rlhf.json)."));
    return root;
  }
  root.dataset.recorded = "yes";
  for (const c of claims) root.append(h("li", undefined, c));
  if (same) {
    root.append(h("li", undefined,
      `At the same KL from the start (${f3(same.kl)} nats, where RL with the rules ended): gold reward ${f3(same.gold_rules)} with the rules, ` +
      `${f3(same.gold_rm_at_kl)} with the learned reward model (read off its measured curve).`));
  }
  return root;
}

interface ShownPair {
  question: string;
  answer: string;
  chosenText: string;
  rejectedText: string;
  goldChosen: number;
  goldRejected: number;
  flipped: boolean;
}

/** A few labelled pairs: the prompt, the reply the rater chose and the one it rejected, with their gold scores. */
export function pairsPanel(data: { missing?: boolean; train?: ShownPair[] }, count = 6): HTMLElement {
  rlhfCss();
  const root = h("div", "r1-panel r1-rlhf-pairs");
  if (data.missing || !Array.isArray(data.train)) return missing(root, "pairs (data/preferences/pairs-ci.json)");
  root.dataset.recorded = "yes";
  // the flipped ones first among those shown, so a noisy label is always on screen
  const shown = [...data.train.filter((p) => p.flipped).slice(0, 1), ...data.train.filter((p) => !p.flipped)].slice(0, count);
  const t = h("table", "r1-table r1-rlhf-table");
  const hr = h("tr");
  for (const k of ["question", "chosen reply (gold)", "rejected reply (gold)", "label"]) hr.append(h("th", undefined, k));
  t.append(hr);
  const reply = (text: string, gold: number) => {
    const td = h("td");
    td.append(h("code", undefined, text.replace(/\n/g, "⏎")), h("span", "r1-note", ` (${gold.toFixed(3)})`));
    return td;
  };
  for (const p of shown) {
    const tr = h("tr");
    tr.dataset.flipped = String(p.flipped);
    tr.append(h("td", undefined, `${p.question} = ${p.answer}`), reply(p.chosenText, p.goldChosen), reply(p.rejectedText, p.goldRejected),
      h("td", undefined, p.flipped ? "flipped (noisy rater)" : "as the gold rule says"));
    t.append(tr);
  }
  root.append(t);
  return root;
}
