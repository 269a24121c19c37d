// Page pieces for the GRPO lesson: the group viewer (one prompt, G sampled answers,
// each with its rule reward and group-relative advantage), a live "sample a group"
// panel that runs the shipped SFT model on the page's CPU engine, and the recorded
// results: R1 vs R1-Zero over training, pass@k before and after, the findings.
// Training and scoring code is imported from src/ (docs/lib); nothing here trains.
import type { GroupView } from "../lib/harness/jobs/grpo.js";
import { groupView } from "../lib/harness/jobs/grpo.js";
import { decodeSafetensors } from "../lib/io/safetensors.js";
import { GPT } from "../lib/nn/gpt.js";
import { sampleGroups } from "../lib/rl/groups.js";
import { Engine } from "../lib/tensor/engine.js";
import { createCpuBackend } from "../lib/cpu/index.js";
import { loadModelTensors } from "../lib/train/checkpoint.js";
import { PRETRAIN_PRESETS } from "../lib/train/presets.js";
import { CHAT, DEFAULT_REWARD_WEIGHTS, generateProblems } from "../lib/tasks/index.js";
import { lineChart } from "../lib/viz/line-chart.js";
import { h } from "../lib/viz/dom.js";
import { beforeAfter, madeBy, runsTable } from "./recorded.js";

const CSS = `
.r1-grpo-viewer table { display: table; width: 100%; table-layout: auto; font-size: 13px; }
.r1-grpo-viewer td.reply { font-family: var(--monospace, monospace); white-space: pre-wrap; word-break: break-word; font-size: 12px; }
.r1-grpo-viewer td.adv { width: 28%; min-width: 90px; }
.r1-grpo-viewer .advbar { position: relative; height: 12px; background: color-mix(in srgb, var(--theme-foreground-muted) 10%, transparent); border-radius: 2px; }
.r1-grpo-viewer .advbar span { position: absolute; top: 0; bottom: 0; border-radius: 2px; }
.r1-grpo-viewer .advbar .pos { background: #2f9e44; left: 50%; }
.r1-grpo-viewer .advbar .neg { background: #d9480f; right: 50%; }
.r1-grpo-viewer .advbar::after { content: ""; position: absolute; left: 50%; top: -2px; bottom: -2px; border-left: 1px solid var(--theme-foreground-muted); }
.r1-grpo-viewer .head { font-size: 13px; margin: 4px 0 8px; }
.r1-grpo-viewer .prompt { font-family: var(--monospace, monospace); color: var(--theme-foreground-muted); }
.r1-grpo-results table { display: block; overflow-x: auto; }
.r1-grpo-results td.num { white-space: nowrap; }
.r1-grpo-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px; }
`;
let cssDone = false;
export function grpoCss(): void {
  if (cssDone) return;
  cssDone = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}

const visible = (s: string) => s.replace(/\n/g, "⏎");

export interface GroupViewer {
  element: HTMLElement;
  update(v: GroupView): void;
  clear(message?: string): void;
}

/** One prompt's G answers: reply, verdict, reward, and the advantage as a bar around 0. */
export function groupViewer(title = "One group"): GroupViewer {
  grpoCss();
  const root = h("div", "r1-panel r1-grpo-viewer");
  const heading = h("h4", undefined, title);
  const note = h("p", "r1-note", "No group yet.");
  const head = h("div", "head");
  const body = h("div");
  root.append(heading, note, head, body);
  return {
    element: root,
    update(v) {
      root.dataset.step = String(v.step);
      root.dataset.samples = String(v.samples.length);
      note.hidden = true;
      head.replaceChildren(
        h("b", undefined, `level ${v.level}: `), h("span", "prompt", v.prompt), ` expects ${v.expected}. `,
        v.zeroSpread
          ? h("span", "r1-warn", `Every reward is ${v.mean.toFixed(2)}: zero spread, every advantage is 0, this group teaches nothing.`)
          : h("span", undefined, `Group mean reward ${v.mean.toFixed(3)}, std ${v.std.toFixed(3)}.`),
        v.sampled ? ` (${v.kept} of ${v.sampled} groups sampled at step ${v.step} had a spread and were trained on.)` : "",
      );
      const maxAdv = Math.max(1e-9, ...v.samples.map((s) => Math.abs(s.advantage)));
      const t = h("table", "r1-table");
      const hr = h("tr");
      for (const k of ["#", "answer", "verdict", "reward", "advantage Â", ""]) hr.append(h("th", undefined, k));
      t.append(hr);
      v.samples.forEach((s, i) => {
        const tr = h("tr");
        tr.dataset.reward = String(s.reward);
        const verdict = `${s.correct ? "✓ right" : "✗ wrong"}${s.formatOk ? "" : ", bad format"}`;
        const bar = h("div", "advbar");
        const fill = h("span", s.advantage >= 0 ? "pos" : "neg");
        fill.style.width = `${(50 * Math.abs(s.advantage)) / maxAdv}%`;
        bar.append(fill);
        const adv = h("td", "adv");
        adv.append(bar);
        tr.append(h("td", "num", String(i + 1)), h("td", "reply", visible(s.reply)), h("td", s.correct ? "r1-ok" : "r1-fail", verdict),
          h("td", "num", s.reward.toFixed(2)), h("td", "num", s.advantage.toFixed(2)), adv);
        t.append(tr);
      });
      body.replaceChildren(t);
    },
    clear(message) {
      delete root.dataset.step;
      note.textContent = message ?? "No group yet.";
      note.hidden = false;
      head.replaceChildren();
      body.replaceChildren();
    },
  };
}

/**
 * A button that samples G answers to a training question from the shipped SFT model,
 * on this page's CPU engine, and shows them in a group viewer: the real sampler, the
 * real rule rewards, the real advantages.
 */
export function sampleGroupPanel(weights: () => Promise<ArrayBuffer>, groupSize = 8): HTMLElement {
  grpoCss();
  const root = h("div", "r1-grpo-sample");
  const viewer = groupViewer("Eight answers to one question, from the shipped SFT model");
  const level = h("select");
  level.name = "group-level";
  for (const l of [1, 2, 3, 4, 5]) level.append(Object.assign(h("option", undefined, `level ${l}`), { value: String(l) }));
  level.value = "3";
  const button = h("button", undefined, "Sample a group");
  button.dataset.action = "sample-group";
  const status = h("span", "r1-note");
  const bar = h("div", "r1-note");
  bar.append(level, " ", button, " ", status);
  root.append(bar, viewer.element);
  viewer.clear("Press the button: the model answers one question eight times (temperature 1, as GRPO samples), on your CPU.");
  let model: GPT | null = null;
  let draw = 0;
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "sampling…";
    try {
      if (!model) {
        const { backend } = await createCpuBackend();
        model = new GPT(new Engine(backend), PRETRAIN_PRESETS.default.model, 1);
        const bytes = new Uint8Array(await weights());
        if (bytes.length === 0) throw new Error("the shipped SFT checkpoint is not part of this build");
        loadModelTensors(model, decodeSafetensors(bytes).tensors);
      }
      const problems = generateProblems({ split: "train", level: Number(level.value), count: 1, seed: 1000 + draw });
      const [group] = await sampleGroups(model, problems, CHAT, {
        groupSize, temperature: 1, topP: 1, maxNewTokens: 120, seed: draw, weights: DEFAULT_REWARD_WEIGHTS, scaleByStd: true,
      });
      draw++;
      viewer.update({ ...groupView(0, [group!], 0, CHAT.prompt)!, sampled: 0 });
      status.textContent = "";
    } catch (e) {
      status.textContent = `could not sample: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      button.disabled = false;
    }
  });
  return root;
}

export interface GrpoRecordedRun {
  name: string;
  command: string;
  backend?: string;
  wall_s?: number;
  params?: number;
  metrics: Record<string, number | null | undefined>;
  /** per-step fields of the run's metrics.jsonl, as [step, value] pairs (scripts/record-results.ts --series) */
  series?: Record<string, [number, number][]>;
}
export interface GrpoResults {
  missing?: boolean;
  runs?: GrpoRecordedRun[];
  claims?: unknown[];
}

const run = (r: GrpoResults, name: string) => (r.runs ?? []).find((x) => x.name === name) ?? null;
const pct = (v: number | null | undefined) => (typeof v === "number" ? `${(100 * v).toFixed(1)}%` : "–");

/** R1 (from SFT) and R1-Zero (from the base) over training: sampled accuracy and completion length. */
export function sideBySide(results: GrpoResults, names: readonly [string, string] = ["default", "r1-zero-default"]): HTMLElement {
  grpoCss();
  const root = h("div", "r1-panel r1-grpo-sides");
  const [a, b] = names.map((n) => run(results, n));
  if (!a?.series || !b?.series) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", `Not recorded yet: data/results/grpo.json has no training curves for "${names[0]}" and "${names[1]}".`));
    return root;
  }
  root.dataset.recorded = "yes";
  const grid = h("div", "r1-grpo-charts");
  const label = { [names[0]]: "R1 (from SFT)", [names[1]]: "R1-Zero (from the base)" };
  const series = [label[names[0]]!, label[names[1]]!];
  const charts = [
    { key: "accuracy" as const, title: "accuracy of the sampled answers", y: "share right" },
    { key: "completions/mean_length" as const, title: "completion length", y: "tokens" },
  ];
  for (const c of charts) {
    const chart = lineChart({ title: c.title, series, xLabel: "step", yLabel: c.y, height: 200, smoothing: 0.8, controls: false });
    for (const r of [a, b]) chart.set(label[r.name]!, r.series![c.key] ?? []);
    chart.flush();
    grid.append(chart.element);
  }
  root.append(grid);
  return root;
}

/** pass@k for k = 1 … 64 before and after GRPO (the SFT model and the trained one, same problems). */
export function passAtKPanel(results: GrpoResults, name = "default"): HTMLElement {
  grpoCss();
  const root = h("div", "r1-panel r1-grpo-passk");
  const r = run(results, name);
  const ks = r ? Object.keys(r.metrics).flatMap((k) => { const m = /^pass_at_(\d+)$/.exec(k); return m ? [Number(m[1])] : []; }).sort((x, y) => x - y) : [];
  if (!r || ks.length === 0) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "Not recorded yet: data/results/grpo.json has no pass@k for the default run."));
    return root;
  }
  root.dataset.recorded = "yes";
  const chart = lineChart({ title: "pass@k on held-out problems", series: ["before (SFT)", "after (GRPO)"], xLabel: "log₂ k", yLabel: "pass@k", height: 220, controls: false, yDomain: [0, 1] });
  chart.set("before (SFT)", ks.map((k) => [Math.log2(k), r.metrics[`pass_at_${k}_before`] ?? NaN] as const));
  chart.set("after (GRPO)", ks.map((k) => [Math.log2(k), r.metrics[`pass_at_${k}`] ?? NaN] as const));
  chart.flush();
  const t = h("table", "r1-table");
  const hr = h("tr");
  for (const k of ["", ...ks.map((k) => `k = ${k}`)]) hr.append(h("th", undefined, k));
  t.append(hr);
  for (const [label, sfx] of [["before", "_before"], ["after", ""]] as const) {
    const tr = h("tr");
    tr.append(h("td", undefined, label), ...ks.map((k) => h("td", "num", pct(r.metrics[`pass_at_${k}${sfx}`]))));
    t.append(tr);
  }
  root.append(chart.element, t);
  return root;
}

/** Every recorded run: held-out accuracy and format before → after, length, time, command. */
export function grpoResultsPanel(results: GrpoResults): HTMLElement {
  grpoCss();
  const root = h("div", "r1-panel r1-grpo-results");
  root.append(h("h3", undefined, "Recorded results (data/results/grpo.json)"));
  if (results.missing || !Array.isArray(results.runs)) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "Not recorded yet: data/results/grpo.json is not in this build. It is written from the summary.json of `r1-lab train grpo` runs."));
    return root;
  }
  root.dataset.recorded = "yes";
  const t = runsTable(results.runs, [
    { label: "held-out accuracy", cell: (m) => beforeAfter(m, "heldout_accuracy", pct) },
    { label: "format", cell: (m) => beforeAfter(m, "format_rate", pct) },
    { label: "pass@1", cell: (m) => beforeAfter(m, "pass_at_1", pct) },
    { label: "completion tokens", cell: (m) => beforeAfter(m, "mean_completion_tokens", (v) => (typeof v === "number" ? v.toFixed(1) : "–")) },
  ]);
  root.append(t);
  root.append(...madeBy(results.runs));
  const claims = (results.claims ?? []).filter((c): c is string => typeof c === "string");
  if (claims.length) {
    const ul = h("ul");
    for (const c of claims) ul.append(h("li", undefined, c));
    root.append(h("p", undefined, "What these runs show:"), ul);
  }
  return root;
}

/** Sentences built from the recorded numbers, so the page states nothing the file does not hold. */
export function grpoFindings(results: GrpoResults): HTMLElement {
  grpoCss();
  const root = h("ul", "r1-grpo-findings");
  const r1 = run(results, "default");
  if (!r1) {
    root.dataset.recorded = "missing";
    root.append(h("li", undefined, "The default run is not recorded in this build (data/results/grpo.json), so there is nothing to quote yet."));
    return root;
  }
  root.dataset.recorded = "yes";
  const m = r1.metrics;
  const num = (k: string, mm = m) => (typeof mm[k] === "number" ? (mm[k] as number) : NaN);
  const gain = num("heldout_accuracy") - num("heldout_accuracy_before");
  root.append(h("li", undefined,
    `R1's path (GRPO from the cold-start SFT model): greedy held-out accuracy ${pct(num("heldout_accuracy_before"))} → ${pct(num("heldout_accuracy"))}, ` +
    `${gain >= 0 ? "+" : "−"}${Math.abs(100 * gain).toFixed(1)} points (the lesson's target was +15).`));
  const levels = [1, 2, 3, 4, 5].filter((l) => Number.isFinite(num(`heldout_accuracy_L${l}`)));
  root.append(h("li", undefined, `Per level, before → after: ${levels.map((l) => `L${l} ${pct(num(`heldout_accuracy_L${l}_before`))} → ${pct(num(`heldout_accuracy_L${l}`))}`).join(", ")}.`));
  const k = Math.max(...Object.keys(m).flatMap((x) => { const mm = /^pass_at_(\d+)$/.exec(x); return mm ? [Number(mm[1])] : []; }));
  if (Number.isFinite(k)) {
    root.append(h("li", undefined,
      `pass@1 ${pct(num("pass_at_1_before"))} → ${pct(num("pass_at_1"))}; pass@${k} ${pct(num(`pass_at_${k}_before`))} → ${pct(num(`pass_at_${k}`))} (temperature 0.6, top-p 0.95).`));
  }
  root.append(h("li", undefined, `Completion length (greedy, tokens): ${num("mean_completion_tokens_before").toFixed(1)} → ${num("mean_completion_tokens").toFixed(1)}.`));
  const zero = run(results, "r1-zero-default");
  if (zero) {
    const z = zero.metrics;
    root.append(h("li", undefined,
      `R1-Zero's path (GRPO from the base model, textbook style): held-out accuracy ${pct(num("heldout_accuracy_before", z))} → ${pct(num("heldout_accuracy", z))}, ` +
      `format ${pct(num("format_rate_before", z))} → ${pct(num("format_rate", z))}.`));
  }
  return root;
}
