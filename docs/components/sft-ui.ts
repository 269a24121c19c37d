// Page pieces for the Cold-start SFT lesson: the loss mask drawn over a real trace,
// the trace viewer (prompt, thinking, answer, verdict, each token shaded by its
// probability), the with/without-thinking table per level, and the recorded
// results. The training and scoring code is imported from src/ (docs/lib); nothing
// here trains anything.
import { encodeExample, decode, type Trace } from "../lib/tasks/index.js";
import type { LevelsView, TracesView, TraceView } from "../lib/harness/jobs/sft.js";
import { padBatch } from "../lib/train/sft-data.js";
import { tokenStrip } from "../lib/viz/token-strip.js";
import { fmt } from "../lib/viz/style.js";
import { h } from "../lib/viz/dom.js";
import { wallTime } from "./recorded.js";

const CSS = `
.r1-sft-mask { display: flex; flex-wrap: wrap; gap: 2px; font-family: var(--monospace, monospace); font-size: 13px; line-height: 1; }
.r1-sft-mask span { display: inline-flex; flex-direction: column; align-items: center; min-width: 1.1em; padding: 3px 2px; border-radius: 3px; }
.r1-sft-mask span small { font-size: 9px; margin-top: 3px; color: var(--theme-foreground-muted); }
.r1-sft-mask .prompt { background: color-mix(in srgb, var(--theme-foreground-muted) 14%, transparent); color: var(--theme-foreground-muted); }
.r1-sft-mask .completion { background: color-mix(in srgb, #2f6fdf 22%, transparent); }
.r1-sft-mask .pad { background: repeating-linear-gradient(45deg, transparent 0 3px, color-mix(in srgb, var(--theme-foreground-muted) 25%, transparent) 3px 5px); color: var(--theme-foreground-muted); }
.r1-sft-legend { display: flex; gap: 16px; font-size: 12px; margin: 6px 0; }
.r1-sft-legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -2px; border-radius: 2px; }
.r1-sft-legend .prompt::before { background: color-mix(in srgb, var(--theme-foreground-muted) 20%, transparent); }
.r1-sft-legend .completion::before { background: color-mix(in srgb, #2f6fdf 35%, transparent); }
.r1-sft-legend .pad::before { background: repeating-linear-gradient(45deg, transparent 0 3px, #bbb 3px 5px); }
.r1-sft-trace { margin: 10px 0 16px; }
.r1-sft-trace .r1-sft-head { font-size: 13px; margin-bottom: 4px; }
.r1-sft-trace .r1-sft-prompt { font-family: var(--monospace, monospace); font-size: 13px; color: var(--theme-foreground-muted); }
.r1-sft-levels td.bar { width: 40%; }
.r1-sft-levels .b { height: 9px; border-radius: 2px; margin: 2px 0; }
.r1-sft-levels .b.think { background: #2f6fdf; }
.r1-sft-levels .b.direct { background: #c98a00; }
.r1-sft-estimate { font-size: 13px; }
.r1-sft-results table { display: block; overflow-x: auto; }
`;
let cssDone = false;
export function sftCss(): void {
  if (cssDone) return;
  cssDone = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}

const visible = (s: string) => s.replace(/ /g, "␣").replace(/\n/g, "⏎");

/**
 * One trace as the SFT loss sees it: every position's next token, marked as prompt
 * (no loss), completion (loss) or padding (no loss), exactly as padBatch builds the
 * mask. `padding` extra tokens pad the row, as a longer neighbour in the batch would.
 */
export function maskPicture(trace: Pick<Trace, "prompt" | "completion">, padding = 0): HTMLElement {
  sftCss();
  const x = encodeExample(trace.prompt, trace.completion);
  const ids = [...x.ids, ...new Array<number>(padding).fill(0)];
  const batch = padBatch([{ ids, promptLength: x.promptLength }]);
  const root = h("div", "r1-panel");
  const strip = h("div", "r1-sft-mask");
  let counted = 0;
  for (let t = 0; t < batch.T; t++) {
    const target = batch.targets[t]!;
    const isPad = t + 1 >= x.ids.length;
    const inLoss = batch.mask[t] === 1 && !isPad;
    if (inLoss) counted++;
    const cell = h("span", isPad ? "pad" : inLoss ? "completion" : "prompt", visible(decode([target])));
    cell.append(h("small", undefined, isPad ? "pad" : inLoss ? "1" : "0"));
    strip.append(cell);
  }
  root.dataset.counted = String(counted);
  const legend = h("div", "r1-sft-legend");
  legend.append(h("span", "prompt", "prompt: given, mask 0"), h("span", "completion", "completion + <eos>: learned, mask 1"), h("span", "pad", "padding: mask 0"));
  root.append(legend, strip);
  return root;
}

export interface TraceViewer {
  element: HTMLElement;
  update(v: TracesView): void;
  clear(message?: string): void;
}

function verdict(t: TraceView): { text: string; cls: string; key: string } {
  if (t.correct && t.formatOk) return { text: `✓ correct (${t.expected}), well formed`, cls: "r1-ok", key: "correct" };
  if (t.correct) return { text: `✓ correct (${t.expected}), but not in the <think>…</think><answer>…</answer> format`, cls: "r1-warn", key: "correct" };
  const said = t.answer === null ? "no readable answer" : `answered ${t.answer}`;
  return { text: `✗ ${said}, expected ${t.expected}${t.formatOk ? " (well formed)" : "; format broken"}`, cls: "r1-fail", key: "wrong" };
}

/** Held-out problems answered by the model, each token shaded by its probability. */
export function traceViewer(): TraceViewer {
  sftCss();
  const root = h("div", "r1-panel r1-sft-traces");
  const title = h("h4", undefined, "No traces yet");
  const note = h("p", "r1-note", "Press Run (or Step) above: the first answers come from the base model, before any fine-tuning.");
  const list = h("div");
  root.append(title, note, list);
  return {
    element: root,
    update(v) {
      root.dataset.step = String(v.step);
      title.textContent = v.step === 0 ? "Before fine-tuning (step 0)" : `After step ${v.step}`;
      note.hidden = true;
      list.replaceChildren();
      for (const t of v.traces) {
        const box = h("div", "r1-sft-trace");
        const d = verdict(t);
        box.dataset.verdict = d.key;
        box.dataset.level = String(t.level);
        const head = h("div", "r1-sft-head");
        head.append(h("b", undefined, `level ${t.level}: `), h("span", "r1-sft-prompt", t.prompt), " ", h("span", `r1-sft-verdict ${d.cls}`, d.text));
        const strip = tokenStrip({ valueLabel: "p(token)", domain: [0, 1] });
        strip.update(t.tokens.map((tok, k) => ({ text: tok, value: t.probs[k] ?? NaN, note: `p = ${fmt(t.probs[k] ?? NaN)}` })));
        box.append(head, strip.element);
        list.append(box);
      }
    },
    clear(message) {
      delete root.dataset.step;
      title.textContent = "No traces yet";
      if (message) note.textContent = message;
      note.hidden = false;
      list.replaceChildren();
    },
  };
}

export interface LevelsPanel {
  element: HTMLElement;
  update(v: LevelsView): void;
  clear(): void;
}

/** Greedy accuracy per level with thinking (blue) and with the answer forced at once (amber). */
export function levelsPanel(): LevelsPanel {
  sftCss();
  const root = h("div", "r1-panel r1-sft-levels");
  const body = h("div");
  const empty = h("p", "r1-note", "When a run finishes, each level's held-out problems are answered twice: with thinking, and with the answer forced right after an empty think block.");
  root.append(h("h4", undefined, "Thinking vs answering at once"), empty, body);
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  return {
    element: root,
    update(v) {
      root.dataset.levels = String(v.rows.length);
      empty.hidden = true;
      const t = h("table", "r1-table");
      const head = h("tr");
      for (const k of ["level", "trained", "with thinking", "without", "", "tokens (thinking)"]) head.append(h("th", undefined, k));
      t.append(head);
      for (const r of v.rows) {
        const tr = h("tr");
        tr.dataset.level = String(r.level);
        const bars = h("td", "bar");
        const b1 = h("div", "b think");
        b1.style.width = pct(r.think);
        const b2 = h("div", "b direct");
        b2.style.width = pct(r.noThink);
        bars.append(b1, b2);
        tr.append(h("td", undefined, String(r.level)), h("td", undefined, r.trained ? "yes" : "no"),
          h("td", "num", pct(r.think)), h("td", "num", pct(r.noThink)), bars, h("td", "num", r.thinkTokens.toFixed(0)));
        t.append(tr);
      }
      body.replaceChildren(t, h("p", "r1-note", `${v.rows[0]?.problems ?? 0} held-out problems per level, greedy, after step ${v.step}.`));
    },
    clear() {
      delete root.dataset.levels;
      empty.hidden = false;
      body.replaceChildren();
    },
  };
}

export interface SftRecordedRun {
  name: string;
  command: string;
  backend?: string;
  wall_s?: number;
  params?: number;
  metrics: Record<string, number | null | undefined>;
}
export interface SftResults {
  missing?: boolean;
  runs?: SftRecordedRun[];
  claims?: unknown[];
}

/** data/results/sft.json as a table: per level with and without thinking, pass@k and maj@k. */
export function sftResultsPanel(results: SftResults): HTMLElement {
  sftCss();
  const root = h("div", "r1-panel r1-sft-results");
  root.append(h("h3", undefined, "Recorded results (data/results/sft.json)"));
  if (results.missing || !Array.isArray(results.runs)) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "Not recorded yet: data/results/sft.json is not in this build. It is written from the summary.json of `r1-lab train sft` runs."));
    return root;
  }
  root.dataset.recorded = "yes";
  const pct = (v: number | null | undefined) => (typeof v === "number" ? `${(100 * v).toFixed(0)}%` : "–");
  for (const r of results.runs) {
    const m = r.metrics;
    const box = h("div");
    box.dataset.run = r.name;
    const wall = wallTime(r.wall_s, "");
    box.append(h("h4", undefined, `${r.name} · ${[r.backend, wall].filter(Boolean).join(" · ")}`));
    const t = h("table", "r1-table");
    const ks = Object.keys(m).flatMap((k) => (/^maj_at_(\d+)$/.exec(k)?.[1] ? [Number(/^maj_at_(\d+)$/.exec(k)![1])] : [])).filter((k) => k > 1);
    const head = h("tr");
    for (const k of ["level", "with thinking", "without", "format", ...ks.map((k) => `maj@${k}`), ...ks.map((k) => `pass@${k}`)]) head.append(h("th", undefined, k));
    t.append(head);
    const levels = Object.keys(m).flatMap((k) => (/^heldout_accuracy_L(\d+)$/.exec(k) ? [Number(/^heldout_accuracy_L(\d+)$/.exec(k)![1])] : []));
    for (const l of [...levels, 0]) {
      const sfx = l ? `_L${l}` : "";
      const tr = h("tr");
      tr.append(h("td", undefined, l ? String(l) : "all"), h("td", "num", pct(m[`heldout_accuracy${sfx}`])),
        h("td", "num", pct(l ? m[`heldout_accuracy_no_think_L${l}`] : m["heldout_accuracy_no_think"])), h("td", "num", pct(m[`format_rate${sfx}`])),
        ...ks.map((k) => h("td", "num", pct(m[`maj_at_${k}${sfx}`]))), ...ks.map((k) => h("td", "num", pct(m[`pass_at_${k}${sfx}`]))));
      t.append(tr);
    }
    box.append(t, h("p", "r1-note", `pass@1 (sampled) ${pct(m["pass_at_1"])} · mean completion ${typeof m["mean_completion_tokens"] === "number" ? m["mean_completion_tokens"].toFixed(1) : "–"} tokens · made by `), h("code", undefined, r.command));
    root.append(box);
  }
  const claims = (results.claims ?? []).filter((c): c is string => typeof c === "string");
  if (claims.length) {
    const ul = h("ul");
    for (const c of claims) ul.append(h("li", undefined, c));
    root.append(h("p", undefined, "What these runs show:"), ul);
  }
  return root;
}

/** "about N minutes" for a run of `steps`, from a recorded run's seconds per step. */
export function estimateText(steps: number, recorded: Pick<SftRecordedRun, "name" | "wall_s" | "metrics"> | null, included = "evaluations included"): string {
  if (!recorded || typeof recorded.wall_s !== "number" || typeof recorded.metrics["steps"] !== "number") {
    return `${steps} steps. (No recorded run to time it against yet.)`;
  }
  const perStep = recorded.wall_s / recorded.metrics["steps"];
  const s = perStep * steps;
  const when = s < 90 ? `${Math.max(1, Math.round(s))} seconds` : `${Math.round(s / 60)} minutes`;
  return `${steps} steps: about ${when} on the CPU engine of the 2-core machine that recorded the "${recorded.name}" run (${perStep.toFixed(1)} s per step, ${included}). Your engine and machine will differ: the progress bar's ETA measures them once the run starts.`;
}

/**
 * What the recorded default run shows, in sentences built from its numbers (so the
 * page never states a result the file does not hold): format rate, thinking vs
 * answering at once per level, and majority vote vs a single sample.
 */
export function recordedFindings(results: SftResults): HTMLElement {
  sftCss();
  const root = h("ul", "r1-sft-findings");
  const run = (results.runs ?? []).find((r) => r.name === "default");
  if (!run) {
    root.dataset.recorded = "missing";
    root.append(h("li", undefined, "The default run is not recorded in this build (data/results/sft.json), so there is nothing to quote yet."));
    return root;
  }
  root.dataset.recorded = "yes";
  const m = run.metrics;
  const num = (k: string) => (typeof m[k] === "number" ? (m[k] as number) : NaN);
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const format = num("format_rate");
  root.append(h("li", undefined, `Format: ${pct(format)} of the greedy answers after SFT have exactly the <think>…</think><answer>…</answer> shape (${format >= 0.95 ? "at least" : "below"} the 95% a cold start should reach).`));
  const levels = [2, 3, 4, 5].filter((l) => Number.isFinite(num(`heldout_accuracy_L${l}`)));
  const rows = levels.map((l) => ({ l, think: num(`heldout_accuracy_L${l}`), direct: num(`heldout_accuracy_no_think_L${l}`) }));
  const wins = rows.filter((r) => r.think > r.direct).length;
  root.append(h("li", undefined, `Thinking vs answering at once, levels with two or more steps: ${rows.map((r) => `level ${r.l} ${pct(r.think)} vs ${pct(r.direct)}`).join(", ")}. Thinking is ahead at ${wins} of ${rows.length} levels.`));
  const ks = Object.keys(m).flatMap((k) => { const x = /^maj_at_(\d+)$/.exec(k); return x ? [Number(x[1])] : []; }).filter((k) => k > 1).sort((a, b) => a - b);
  const k = ks.at(-1);
  if (k) {
    const maj = num(`maj_at_${k}`);
    const p1 = num("pass_at_1");
    root.append(h("li", undefined, `Self-consistency: the majority answer of ${k} samples is right ${pct(maj)} of the time, a single sample ${pct(p1)} (pass@1, temperature 0.6); at least one of ${k} samples is right ${pct(num(`pass_at_${k}`))} of the time (pass@${k}).`));
  }
  root.append(h("li", undefined, `Held-out accuracy, greedy, all levels: ${pct(num("heldout_accuracy"))} with thinking, ${pct(num("heldout_accuracy_no_think"))} without.`));
  return root;
}
