// Page pieces for the Pretrain lesson: the model-size panel that follows the inputs,
// the samples panel, the attention-map explorer, the recorded-results panel, and a
// helper to excerpt a class or method from a source file. The model code itself is
// imported from src/ (through docs/lib); nothing here trains anything.
import { CpuBackend } from "../lib/cpu/index.js";
import { Engine } from "../lib/tensor/engine.js";
import { GPT, type GPTConfig } from "../lib/nn/gpt.js";
import type { TensorMap } from "../lib/io/safetensors.js";
import { loadModelTensors } from "../lib/train/checkpoint.js";
import { BOS_ID, VOCAB, encode } from "../lib/tasks/index.js";
import { heatmap } from "../lib/viz/heatmap.js";
import { tokenStrip, type TokenStrip } from "../lib/viz/token-strip.js";
import { fmt } from "../lib/viz/style.js";
import type { Sample, SamplesView } from "../lib/harness/jobs/pretrain.js";
import { h } from "../lib/viz/dom.js";
import { wallTime } from "./recorded.js";

const CSS = `
.r1-pt-size td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.r1-pt-size table.r1-table th { vertical-align: top; white-space: nowrap; }
.r1-pt-size table.r1-table tr.r1-pt-part th { font-weight: 400; padding-left: 1.2rem; }
.r1-pt-samples h4 { margin: 0 0 0.3rem; }
.r1-pt-samples .r1-pt-sample { margin: 0.5rem 0 0.8rem; }
.r1-pt-samples .r1v-colorbar { display: none; }
.r1-pt-samples .r1-pt-sample:last-child .r1v-colorbar { display: flex; }
.r1-pt-prompt { font-family: var(--monospace, monospace); font-size: 12px; color: var(--theme-foreground-muted); }
.r1-pt-mark { font-size: 12px; margin-left: 0.4rem; }
.r1-pt-history { font-family: var(--monospace, monospace); font-size: 12px; white-space: pre-wrap; max-height: 16rem; overflow: auto; margin: 0.3rem 0; }
.r1-pt-history div { margin: 2px 0; }
.r1-pt-controls { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: flex-end; font-family: var(--sans-serif); font-size: 13px; margin-bottom: 0.4rem; }
.r1-pt-controls label { display: flex; flex-direction: column; gap: 2px; font-size: 11px; color: var(--theme-foreground-muted); }
.r1-pt-controls label.r1-pt-prompt-field { flex: 1 1 100%; }
.r1-pt-controls input[type=text] { font-family: var(--monospace, monospace); font-size: 13px; width: 100%; box-sizing: border-box; padding: 2px 5px; }
.r1-pt-controls select { font: inherit; }
.r1-pt-error { color: var(--r1-bad); font-size: 13px; }
.r1-pt-diagram text { user-select: none; }
.r1-pt-tokens { display: flex; flex-wrap: wrap; gap: 2px; margin: 4px 0 8px; font-family: var(--monospace, monospace); font-size: 13px; }
.r1-pt-tok { display: inline-flex; flex-direction: column; align-items: center; min-width: 1.3em; padding: 1px 3px;
  border: 1px solid var(--theme-foreground-faintest); border-radius: 3px; background: var(--theme-background); }
.r1-pt-tok sub { font-size: 9px; color: var(--theme-foreground-muted); }
`;
let cssDone = false;
export function pretrainCss(): void {
  if (cssDone) return;
  cssDone = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}

// ---- source excerpts ----------------------------------------------------------------

/**
 * The lines from the first line matching `start` to the closing brace at the same
 * indent, with the comment block above, de-indented. For a class (`export class
 * Block`) or a method (`  async next()`), which `excerpt` in source.ts does not cover.
 */
export function excerptFrom(source: string, start: RegExp, from = 0): string | null {
  const lines = source.split("\n");
  let i0 = -1;
  for (let i = Math.max(0, from); i < lines.length; i++) if (start.test(lines[i]!)) { i0 = i; break; }
  if (i0 < 0) return null;
  const indent = /^\s*/.exec(lines[i0]!)![0];
  let end = -1;
  for (let i = i0; i < lines.length; i++) if (lines[i] === `${indent}}` || lines[i] === `${indent}};`) { end = i; break; }
  if (end < 0) return null;
  let first = i0;
  while (first > 0 && /^\s*(\/\/|\/\*\*|\*|\*\/)/.test(lines[first - 1]!)) first--;
  return lines.slice(first, end + 1).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join("\n");
}

/** A method inside a class: the first `name(` after the line matching `classStart`. */
export function excerptMethod(source: string, classStart: RegExp, method: string): string | null {
  const lines = source.split("\n");
  const c = lines.findIndex((l) => classStart.test(l));
  if (c < 0) return null;
  return excerptFrom(source, new RegExp(`^\\s+(async\\s+)?${method}\\s*\\(.*\\{\\s*$`), c);
}

// ---- model size ---------------------------------------------------------------------

export interface SizeConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dFF: number;
  tiedHead: boolean;
  seqLen: number;
  batchSize: number;
  steps: number;
}

export interface ModelStats {
  params: number;
  parts: { embedding: number; attention: number; mlp: number; norms: number; head: number };
  /** forward FLOPs per token at context seqLen: the formula of GPT.flopsPerToken */
  flopsPerToken: number;
  /** ≈ 3 × forward (backward costs about twice the forward) × tokens per step */
  trainFlopsPerStep: number;
  /** floats of KV cache per token (all layers) */
  kvPerToken: number;
}

/**
 * Parameter count and FLOPs of a config without building the model. The same
 * arithmetic as the modules in src/nn (tests/unit/harness-pretrain.test.ts checks
 * it against GPT.parameterCount() and GPT.flopsPerToken()).
 */
export function modelStats(c: SizeConfig): ModelStats {
  const C = c.dModel, L = c.nLayers, V = c.vocabSize;
  const D = C / c.nHeads;
  const kv = c.nKvHeads * D;
  const embedding = V * C;
  const attention = L * (C * C + 2 * C * kv + C * C);
  const mlp = L * 3 * C * c.dFF;
  const norms = L * 2 * C + C;
  const head = c.tiedHead ? 0 : V * C;
  const perLayer = 2 * C * (2 * C + 2 * kv) + 2 * 3 * C * c.dFF + 4 * c.seqLen * C;
  const flopsPerToken = L * perLayer + 2 * C * V;
  return {
    params: embedding + attention + mlp + norms + head,
    parts: { embedding, attention, mlp, norms, head },
    flopsPerToken,
    trainFlopsPerStep: 3 * flopsPerToken * c.batchSize * c.seqLen,
    kvPerToken: 2 * L * kv,
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
function flops(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const units: [number, string][] = [[1e24, "Y"], [1e21, "Z"], [1e18, "E"], [1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
  for (const [v, u] of units) if (n >= v) return `${(n / v).toPrecision(3)} ${u}FLOP`;
  return `${n.toPrecision(3)} FLOP`;
}

export interface SizePanel {
  element: HTMLElement;
  update(c: SizeConfig | null, measured?: { params: number; flopsPerToken: number } | null): void;
}

/** DeepSeek-V3, for scale: active parameters and pretraining tokens (V3 report; 6·N·D is the usual rule of thumb). */
const V3 = { activeParams: 37e9, totalParams: 671e9, tokens: 14.8e12 };

export function sizePanel(): SizePanel {
  pretrainCss();
  const root = h("div", "r1-panel r1-pt-size");
  root.append(h("h3", undefined, "The model you configured"));
  const body = h("div");
  root.append(body);
  function update(c: SizeConfig | null, measured?: { params: number; flopsPerToken: number } | null): void {
    if (!c) {
      body.replaceChildren(h("p", "r1-pt-error", "Fix the highlighted inputs above to see the model's size."));
      root.dataset.params = "";
      return;
    }
    const s = modelStats(c);
    root.dataset.params = String(s.params);
    root.dataset.flops = String(s.flopsPerToken);
    const t = h("table", "r1-table");
    const row = (k: string, v: string, note = "") => {
      const tr = h("tr", k.startsWith("· ") ? "r1-pt-part" : undefined);
      tr.append(h("th", undefined, k), h("td", "num", v), h("td", "r1-muted", note));
      t.append(tr);
    };
    const share = (n: number) => `${((100 * n) / s.params).toFixed(0)}%`;
    row("parameters", int(s.params), measured ? `the running model reports ${int(measured.params)}` : "");
    row("· embedding", int(s.parts.embedding), `${share(s.parts.embedding)} · ${c.vocabSize} tokens × ${c.dModel}`);
    row("· attention", int(s.parts.attention), `${share(s.parts.attention)} · Q, K, V, O in ${c.nLayers} layers`);
    row("· SwiGLU", int(s.parts.mlp), `${share(s.parts.mlp)} · gate, up, down`);
    row("· RMSNorm gains", int(s.parts.norms), share(s.parts.norms));
    row("· output head", int(s.parts.head), c.tiedHead ? "tied: reuses the embedding" : share(s.parts.head));
    row("FLOPs per token (forward)", int(s.flopsPerToken), `at context ${c.seqLen}${measured ? ` · the running model reports ${int(measured.flopsPerToken)}` : ""}`);
    row("FLOPs per training step", flops(s.trainFlopsPerStep), `≈ 3 × forward × ${int(c.batchSize * c.seqLen)} tokens`);
    row("FLOPs for the whole run", flops(s.trainFlopsPerStep * c.steps), `${int(c.steps)} steps, ${int(c.steps * c.batchSize * c.seqLen)} tokens`);
    row("KV cache per token", `${int(s.kvPerToken)} floats`, `2 × ${c.nLayers} layers × ${c.nKvHeads} KV heads × ${c.dModel / c.nHeads}; with ${c.nHeads} KV heads (MHA) it would be ${int((s.kvPerToken * c.nHeads) / c.nKvHeads)}`);
    const v3 = 6 * V3.activeParams * V3.tokens;
    row("DeepSeek-V3 pretraining", flops(v3), `≈ 6 × 37B active parameters × 14.8T tokens: ${(v3 / (s.trainFlopsPerStep * c.steps)).toExponential(1)} × this run`);
    body.replaceChildren(t);
  }
  return { element: root, update };
}

// ---- samples ------------------------------------------------------------------------

export interface SamplesPanel {
  element: HTMLElement;
  update(v: SamplesView): void;
  clear(message?: string): void;
}

const visible = (s: string) => s.replace(/ /g, "␣").replace(/\n/g, "⏎");

export function samplesPanel(): SamplesPanel {
  pretrainCss();
  const root = h("div", "r1-panel r1-pt-samples");
  const title = h("h4", undefined, "No samples yet");
  const note = h("p", "r1-note", "Press Run (or Step) above: the first samples come from the weights before any training.");
  const latest = h("div");
  const details = h("details");
  const history = h("div", "r1-pt-history");
  details.append(h("summary", "r1-note", "earlier samples"), history);
  root.append(title, note, latest, details);
  details.hidden = true;
  const strips: { prompt: HTMLElement; strip: TokenStrip; mark: HTMLElement }[] = [];

  function ensureStrips(n: number): void {
    while (strips.length < n) {
      const box = h("div", "r1-pt-sample");
      const prompt = h("div", "r1-pt-prompt");
      const mark = h("span", "r1-pt-mark");
      const strip = tokenStrip({ valueLabel: "p(token)", domain: [0, 1] });
      box.append(prompt, strip.element);
      latest.append(box);
      strips.push({ prompt, strip, mark });
    }
  }

  function describe(s: Sample): { text: string; cls: string } {
    if (s.correct) return { text: "✓ the textbook's line, exactly", cls: "r1-ok" };
    const len = s.expected.length;
    const cutShort = !s.finished ? " (stopped at the sample length)" : "";
    return { text: `first ${s.matching} of ${len} characters right${cutShort}`, cls: s.matching >= len / 2 ? "r1-warn" : "r1-muted" };
  }

  function update(v: SamplesView): void {
    root.dataset.step = String(v.step);
    root.dataset.samples = String(v.samples.length);
    title.textContent = v.step === 0 ? "Before training (step 0)" : `After step ${v.step}`;
    note.hidden = true;
    ensureStrips(v.samples.length);
    v.samples.forEach((s, i) => {
      const st = strips[i]!;
      st.prompt.textContent = s.prompt;
      const d = describe(s);
      st.mark.textContent = d.text;
      st.mark.className = `r1-pt-mark ${d.cls}`;
      st.prompt.append(st.mark);
      st.strip.update(s.tokens.map((t, k) => ({ text: t, value: s.probs[k] ?? NaN, note: `p = ${fmt(s.probs[k] ?? NaN)}` })));
    });
    const lines = v.samples.map((s) => `  ${s.prompt}${s.tokens.join("").replace(/\n$/, "")}${s.correct ? "  ✓" : ""}`);
    const entry = h("div");
    entry.dataset.step = String(v.step);
    entry.append(h("b", undefined, `step ${v.step}`), document.createTextNode(`\n${lines.join("\n")}`));
    history.prepend(entry);
    details.hidden = false;
  }

  function clear(message?: string): void {
    delete root.dataset.step;
    title.textContent = "No samples yet";
    if (message) note.textContent = message;
    note.hidden = false;
    latest.replaceChildren();
    strips.length = 0;
    history.replaceChildren();
    details.hidden = true;
  }
  return { element: root, update, clear };
}

// ---- attention maps -------------------------------------------------------------------

export interface AttentionPanel {
  element: HTMLElement;
  /** the weights to draw with (the shipped model, or a snapshot of the run) */
  setModel(label: string, config: GPTConfig, tensors: TensorMap): void;
  setMessage(text: string): void;
  destroy(): void;
}

/**
 * Attention probabilities for a prompt the learner types, per layer and head. The
 * maps come from GPT.attentionMaps on a copy of the weights, on the CPU engine in
 * the page (a forward pass of a few dozen tokens: milliseconds), so they are there
 * before, during and after a run.
 */
export function attentionPanel(defaultPrompt: string, start: { layer?: number; head?: number } = {}): AttentionPanel {
  pretrainCss();
  const root = h("div", "r1-panel r1-pt-attention");
  const title = h("h3", undefined, "Attention maps");
  const source = h("p", "r1-note", "Loading the shipped base model…");
  const controls = h("div", "r1-pt-controls");
  const promptLabel = h("label", "r1-pt-prompt-field", "prompt (a line in the textbook's style)");
  const promptInput = h("input");
  promptInput.type = "text";
  promptInput.name = "attention-prompt";
  promptInput.spellcheck = false;
  promptInput.value = defaultPrompt;
  promptLabel.append(promptInput);
  const layerLabel = h("label", undefined, "layer");
  const layerSelect = h("select");
  layerSelect.name = "attention-layer";
  layerLabel.append(layerSelect);
  const headLabel = h("label", undefined, "head");
  const headSelect = h("select");
  headSelect.name = "attention-head";
  headLabel.append(headSelect);
  controls.append(promptLabel, layerLabel, headLabel);
  const error = h("div", "r1-pt-error");
  const mapBox = h("div");
  const headNote = h("p", "r1-note");
  root.append(title, source, controls, error, mapBox, headNote);

  const backend = new CpuBackend();
  const engine = new Engine(backend);
  let model: GPT | null = null;
  let modelKey = "";
  let version = 0;
  /** maps[layer] = Float32Array [H, T, T] for the current prompt and weights */
  let maps: Float32Array[] | null = null;
  let mapsFor = "";
  let tokens: string[] = [];

  /** fill a picker with n options, keeping the choice; the first time, start at `first` (negative: from the end) */
  function fillSelect(sel: HTMLSelectElement, n: number, label: (i: number) => string, first = 0): void {
    const keep = sel.value;
    if (sel.options.length !== n) {
      sel.replaceChildren(...Array.from({ length: n }, (_, i) => Object.assign(h("option", undefined, label(i)), { value: String(i) })));
    }
    const initial = String(Math.min(n - 1, Math.max(0, first < 0 ? n + first : first)));
    sel.value = keep !== "" && Number(keep) < n ? keep : initial;
  }

  async function compute(): Promise<void> {
    if (!model) return;
    const text = promptInput.value;
    let ids: number[];
    try {
      ids = [BOS_ID, ...encode(text)];
    } catch (e) {
      error.textContent = e instanceof Error ? e.message.replace(/^tokenizer: /, "") : String(e);
      root.dataset.state = "invalid";
      return;
    }
    if (text.length === 0) { error.textContent = "type a prompt"; root.dataset.state = "invalid"; return; }
    if (ids.length > model.config.maxSeqLen) {
      error.textContent = `the prompt is ${ids.length} tokens with BOS; this model reads at most ${model.config.maxSeqLen}`;
      root.dataset.state = "invalid";
      return;
    }
    error.textContent = "";
    const key = `${version}\u0000${text}`;
    if (mapsFor !== key) {
      const m = model;
      const T = ids.length;
      const out = await engine.scope(async () => {
        const layers = m.attentionMaps(engine.tensor(ids, [1, T], "i32"));
        const arrays: Float32Array[] = [];
        for (const t of layers) {
          const d = await t.data();
          arrays.push(d instanceof Float32Array ? d : Float32Array.from(d));
        }
        return arrays;
      });
      maps = out;
      mapsFor = key;
      tokens = ids.map((id) => (id === BOS_ID ? "BOS" : visible(VOCAB[id]!)));
    }
    draw();
  }

  function draw(): void {
    if (!model || !maps) return;
    const c = model.config;
    const layer = Math.min(Number(layerSelect.value) || 0, c.nLayers - 1);
    const head = Math.min(Number(headSelect.value) || 0, c.nHeads - 1);
    const T = tokens.length;
    const all = maps[layer]!;
    const data = all.subarray(head * T * T, (head + 1) * T * T);
    const cell = Math.max(7, Math.min(20, Math.floor(680 / T)));
    const hm = heatmap({
      title: `layer ${layer}, head ${head}: how much each query token (row) attends to each earlier token (column)`,
      xLabel: "key (attended to)", yLabel: "query", valueLabel: "attention weight", domain: [0, 1], scheme: "blues",
      cell, labelEvery: cell >= 10 ? 1 : 2,
    });
    hm.update({ rows: T, cols: T, data, rowLabels: tokens, colLabels: tokens });
    mapBox.replaceChildren(hm.element);
    const group = c.nHeads / c.nKvHeads;
    const kvHead = Math.floor(head / group);
    headNote.textContent = c.nKvHeads === c.nHeads
      ? `Multi-head attention: every head has its own keys and values.`
      : `${c.nKvHeads === 1 ? "Multi-query" : "Grouped-query"} attention: heads ${kvHead * group}–${kvHead * group + group - 1} share KV head ${kvHead}, so they look at the same keys through different queries.`;
    root.dataset.state = "drawn";
    root.dataset.tokens = String(T);
  }

  let pending: ReturnType<typeof setTimeout> | null = null;
  const later = () => {
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => { pending = null; void compute().catch((e: unknown) => { error.textContent = String(e); }); }, 150);
  };
  promptInput.addEventListener("input", later);
  layerSelect.addEventListener("change", draw);
  headSelect.addEventListener("change", draw);

  return {
    element: root,
    setModel(label, config, tensors) {
      const key = JSON.stringify(config);
      if (!model || key !== modelKey) {
        model?.dispose();
        model = new GPT(engine, config, 0);
        modelKey = key;
      }
      loadModelTensors(model, tensors);
      version++;
      source.textContent = label;
      root.dataset.source = label;
      fillSelect(layerSelect, config.nLayers, (i) => `layer ${i}`, start.layer ?? 0);
      fillSelect(headSelect, config.nHeads, (i) => `head ${i}`, start.head ?? 0);
      void compute().catch((e: unknown) => { error.textContent = String(e); });
    },
    setMessage(text) { source.textContent = text; },
    destroy() { if (pending) clearTimeout(pending); model?.dispose(); backend.destroy(); },
  };
}

// ---- recorded results ---------------------------------------------------------------------

export interface RecordedRun {
  name: string;
  command: string;
  backend?: string;
  adapter?: string;
  wall_s?: number;
  params?: number;
  metrics: Record<string, number | null | undefined>;
}
export interface RecordedResults {
  missing?: boolean;
  runs?: RecordedRun[];
  claims?: unknown[];
}

/** The recorded run a config corresponds to (matched by the preset and seed in its command), if any. */
export function recordedRunFor(results: RecordedResults, preset: string, seed: number): RecordedRun | null {
  for (const r of results.runs ?? []) {
    if (new RegExp(`--preset ${preset}(\\s|$)`).test(r.command) && new RegExp(`--seed ${seed}(\\s|$)`).test(r.command)) return r;
  }
  return null;
}

export function resultsPanel(results: RecordedResults): HTMLElement {
  const root = h("div", "r1-panel r1-pt-results");
  root.append(h("h3", undefined, "Recorded results (data/results/pretrain.json)"));
  if (results.missing || !Array.isArray(results.runs)) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "Not recorded yet: data/results/pretrain.json does not exist in this build. It is written from the summary.json of the CLI runs (r1-lab train pretrain --preset ci|default); once it is there, this panel quotes it."));
    return root;
  }
  root.dataset.recorded = "yes";
  const t = h("table", "r1-table");
  const head = h("tr");
  for (const [k, title] of [["run", ""], ["val loss", "final validation loss (nats/token)"], ["unigram", "a unigram model's loss on the same validation text"],
    ["held-out", "accuracy on held-out direct questions"], ["steps", ""], ["params", "parameters"], ["engine, time", "backend and wall time"]]) {
    const th = h("th", undefined, k);
    if (title) th.title = title;
    head.append(th);
  }
  t.append(head);
  const num = (v: number | null | undefined, pct = false) => (typeof v === "number" ? (pct ? `${(100 * v).toFixed(1)}%` : v.toFixed(4)) : "–");
  const commands = h("ul", "r1-pt-commands");
  for (const r of results.runs) {
    const tr = h("tr");
    tr.dataset.run = r.name;
    const m = r.metrics ?? {};
    const wall = wallTime(r.wall_s, "");
    tr.append(h("td", undefined, r.name), h("td", "num", num(m["val_loss"])), h("td", "num", num(m["unigram_val_loss"])),
      h("td", "num", num(m["heldout_accuracy"], true)), h("td", "num", typeof m["steps"] === "number" ? int(m["steps"]) : "–"),
      h("td", "num", typeof r.params === "number" ? int(r.params) : "–"), h("td", undefined, [r.backend, wall].filter(Boolean).join(" · ") || "–"));
    t.append(tr);
    const li = h("li");
    li.append(`${r.name}: `, h("code", undefined, r.command));
    commands.append(li);
  }
  root.append(t, h("p", "r1-note", "Each made by the command below (same seed, same engine → the same numbers):"), commands);
  const claimText = (c: unknown): string => {
    if (typeof c === "string") return c;
    if (c && typeof c === "object") {
      const o = c as Record<string, unknown>;
      for (const k of ["text", "claim", "statement"]) if (typeof o[k] === "string") return o[k] as string;
    }
    return JSON.stringify(c);
  };
  const claims = (results.claims ?? []).map(claimText);
  if (claims.length) {
    root.append(h("p", undefined, "Claims recorded with these runs:"));
    const ul = h("ul");
    for (const c of claims) ul.append(h("li", undefined, c));
    root.append(ul);
  }
  return root;
}

// ---- what the model reads ----------------------------------------------------------------

/**
 * A few lines of the textbook, each cut into the tokens the model reads (one per
 * character, BOS first) with their ids, and one next-token question drawn from the
 * first line: the data, before any formula.
 */
export function textbookPanel(lines: readonly string[], maxTokens = 40): HTMLElement {
  pretrainCss();
  const root = h("div", "r1-panel r1-pt-textbook");
  root.append(h("p", "r1-note", `The first ${lines.length} lines of the textbook, as the model reads them: one token per character (a space shows as ␣), each with its id in a vocabulary of ${VOCAB.length}; BOS marks the start of a line.`));
  for (const line of lines) {
    const row = h("div", "r1-pt-tokens");
    const ids = [BOS_ID, ...encode(line)];
    for (const id of ids.slice(0, maxTokens)) {
      const chip = h("span", "r1-pt-tok");
      chip.append(h("span", undefined, id === BOS_ID ? "BOS" : visible(VOCAB[id]!)), h("sub", undefined, String(id)));
      row.append(chip);
    }
    if (ids.length > maxTokens) row.append(h("span", "r1-note", ` … ${ids.length - maxTokens} more`));
    root.append(row);
  }
  const first = lines[0] ?? "";
  const cut = Math.min(first.length - 1, Math.max(1, first.search(/\d/) + 2)); // just inside the first number
  if (first.length > 2) {
    const q = h("p");
    q.append("Training asks, at every position: what comes next? Shown ", h("code", undefined, visible(`BOS${first.slice(0, cut)}`)),
      ", the model should give the most probability to ", h("code", undefined, visible(first[cut]!)),
      "; then it is shown one more character and asked again, all along every line, for the whole textbook.");
    root.append(q);
  }
  return root;
}
