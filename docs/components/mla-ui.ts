// Page pieces for the MLA lesson: a picture of what one token leaves in the cache, the
// KV-cache calculator, the decode table the run fills, and the recorded results.
// The numbers come from src/ (docs/lib): the formulas of src/nn/kv-cache.ts, the
// learner's models from src/train/presets.ts, the recorded claims from
// src/harness/jobs/mla-claims.ts. Nothing here trains anything.
import { CACHE_KINDS, DEEPSEEK_DIMS, cacheBytes, cacheValuesPerTokenPerLayer, type CacheDims, type CacheKind } from "../lib/nn/kv-cache.js";
import { PRETRAIN_PRESETS, withAttention } from "../lib/train/presets.js";
import type { MlaDecodeView, MlaInfoView } from "../lib/harness/jobs/mla.js";
import { mlaFacts, type RecordedRun } from "../lib/harness/jobs/mla-claims.js";
import { h } from "../lib/viz/dom.js";

const CSS = `
.r1-mla-picture .row { display: flex; align-items: center; gap: 10px; margin: 4px 0; }
.r1-mla-picture .name { width: 3.2em; font-weight: 600; font-size: 13px; }
.r1-mla-picture .cells { display: flex; flex-wrap: wrap; gap: 1px; max-width: 100%; }
.r1-mla-picture .cells i { width: 7px; height: 14px; border-radius: 1px; display: inline-block; }
.r1-mla-picture .k { background: #2f6fdf; } .r1-mla-picture .v { background: #c98a00; }
.r1-mla-picture .c { background: #7a3fbf; } .r1-mla-picture .r { background: #2a9d5b; }
.r1-mla-picture .count { font-size: 12px; color: var(--theme-foreground-muted); white-space: nowrap; }
.r1-mla-legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; margin: 6px 0; }
.r1-mla-legend span::before { content: ""; display: inline-block; width: 10px; height: 12px; margin-right: 5px; vertical-align: -2px; border-radius: 1px; background: var(--c); }
.r1-mla-calc .inputs { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 6px 12px; margin: 8px 0; font-size: 13px; }
.r1-mla-calc .inputs label { display: flex; flex-direction: column; gap: 2px; }
.r1-mla-calc .inputs input { width: 100%; box-sizing: border-box; }
.r1-mla-calc table, .r1-mla-decode table, .r1-mla-results table { display: block; overflow-x: auto; }
.r1-mla-calc td.num, .r1-mla-decode td.num, .r1-mla-results td.num { text-align: right; font-variant-numeric: tabular-nums; }
.r1-mla-calc table.r1-table, .r1-mla-decode table.r1-table, .r1-mla-results table.r1-table { font-size: 13px; }
.r1-mla-calc table.r1-table th, .r1-mla-decode table.r1-table th, .r1-mla-results table.r1-table th { white-space: normal; min-width: 4.5em; }
.r1-mla-calc table.r1-table th, .r1-mla-calc table.r1-table td, .r1-mla-decode table.r1-table th, .r1-mla-decode table.r1-table td,
.r1-mla-results table.r1-table th, .r1-mla-results table.r1-table td { padding: 0.2rem 0.45rem; }
.r1-mla-results table.r1-table td { white-space: nowrap; }
.r1-mla-calc td small { display: block; color: var(--theme-foreground-muted); font-size: 11px; white-space: nowrap; }
`;
let cssDone = false;
export function mlaCss(): void {
  if (cssDone) return;
  cssDone = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}

const NAMES: Record<CacheKind, string> = { mha: "MHA", gqa: "GQA", mqa: "MQA", mla: "MLA" };
const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** the learner's model as calculator dimensions (the CLI preset with MLA's settings from withAttention) */
export function learnerDims(preset: "ci" | "default"): CacheDims {
  const base = PRETRAIN_PRESETS[preset].model;
  const mla = withAttention(base, "mla").attention!;
  return {
    nLayers: base.nLayers, nHeads: base.nHeads, dH: base.dModel / base.nHeads,
    nGroups: withAttention(base, "gqa").nKvHeads, dC: mla.dC, dR: mla.dR,
  };
}

/**
 * One token's cache in one layer of the learner's ci model, one cell per value:
 * MHA's keys and values for every head, GQA's per pair of heads, MQA's one pair, and
 * MLA's latent plus its rotary key.
 */
export function cachePicture(d: CacheDims = learnerDims("ci")): HTMLElement {
  mlaCss();
  const root = h("div", "r1-panel r1-mla-picture");
  const legend = h("div", "r1-mla-legend");
  for (const [cls, text, color] of [["k", "key", "#2f6fdf"], ["v", "value", "#c98a00"], ["c", "latent c^KV", "#7a3fbf"], ["r", "rotary key k^R", "#2a9d5b"]] as const) {
    const s = h("span", undefined, text);
    s.dataset.part = cls;
    s.style.setProperty("--c", color);
    legend.append(s);
  }
  root.append(legend);
  const parts: Record<CacheKind, [string, number][]> = {
    mha: [["k", d.nHeads * d.dH], ["v", d.nHeads * d.dH]],
    gqa: [["k", d.nGroups * d.dH], ["v", d.nGroups * d.dH]],
    mqa: [["k", d.dH], ["v", d.dH]],
    mla: [["c", d.dC], ["r", d.dR]],
  };
  for (const kind of CACHE_KINDS) {
    const row = h("div", "row");
    row.dataset.kind = kind;
    const cells = h("div", "cells");
    for (const [cls, n] of parts[kind]) for (let i = 0; i < n; i++) cells.append(h("i", cls));
    const total = cacheValuesPerTokenPerLayer(kind, d);
    row.dataset.values = String(total);
    row.append(h("span", "name", NAMES[kind]), cells, h("span", "count", `${total} values`));
    root.append(row);
  }
  return root;
}

interface CalcField {
  key: keyof CacheDims | "tokens" | "bytes";
  label: string;
}
const FIELDS: CalcField[] = [
  { key: "nLayers", label: "layers" }, { key: "nHeads", label: "heads n_h" }, { key: "dH", label: "head size d_h" },
  { key: "nGroups", label: "GQA groups n_g" }, { key: "dC", label: "latent d_c" }, { key: "dR", label: "rotary key d_h^R" },
  { key: "tokens", label: "context (tokens)" }, { key: "bytes", label: "bytes per value" },
];

type CalcValues = CacheDims & { tokens: number; bytes: number };

/** the calculator's starting points: the learner's models (float32, their context) and DeepSeek's (16-bit, 128K) */
export function calculatorPresets(): Record<string, CalcValues> {
  const learner = (p: "ci" | "default") => ({ ...learnerDims(p), tokens: PRETRAIN_PRESETS[p].model.maxSeqLen, bytes: 4 });
  return {
    "your model (ci preset)": learner("ci"),
    "your model (default preset)": learner("default"),
    "DeepSeek-V2": { ...DEEPSEEK_DIMS["DeepSeek-V2"], tokens: 131_072, bytes: 2 },
    "DeepSeek-V3": { ...DEEPSEEK_DIMS["DeepSeek-V3"], tokens: 131_072, bytes: 2 },
  };
}

/** the KV-cache calculator: per kind, values per token per layer, bytes per token, the cache of a whole context */
export function cacheCalculator(): HTMLElement {
  mlaCss();
  const presets = calculatorPresets();
  const root = h("div", "r1-panel r1-mla-calc");
  const pick = h("select");
  pick.name = "calc-preset";
  for (const k of Object.keys(presets)) pick.append(Object.assign(h("option", undefined, k), { value: k }));
  const top = h("label", "r1-note");
  top.append("start from: ", pick);
  const inputs = h("div", "inputs");
  const boxes = new Map<CalcField["key"], HTMLInputElement>();
  for (const f of FIELDS) {
    const box = h("input");
    box.type = "number";
    box.min = f.key === "dR" || f.key === "dC" ? "0" : "1";
    box.name = f.key;
    const label = h("label", undefined, f.label);
    label.append(box);
    inputs.append(label);
    boxes.set(f.key, box);
  }
  const table = h("table", "r1-table");
  const note = h("p", "r1-note");
  root.append(top, inputs, table, note);

  const fill = (name: string) => {
    const v = presets[name]!;
    for (const f of FIELDS) boxes.get(f.key)!.value = String(v[f.key]);
    update();
  };
  const update = () => {
    const v = Object.fromEntries(FIELDS.map((f) => [f.key, Number(boxes.get(f.key)!.value)])) as unknown as CalcValues;
    const bad = FIELDS.find((f) => !Number.isFinite(v[f.key]) || v[f.key] < 0 || !Number.isInteger(v[f.key]));
    table.replaceChildren();
    if (bad) {
      root.dataset.state = "invalid";
      note.textContent = `${bad.label} must be a whole number ≥ 0.`;
      return;
    }
    root.dataset.state = "ok";
    const head = h("tr");
    for (const t of ["attention: cached per token per layer", "values", "bytes per token, all layers", `cache of ${int(v.tokens)} tokens`, "vs MHA"]) head.append(h("th", undefined, t));
    table.append(head);
    const formula: Record<CacheKind, string> = {
      mha: `2·n_h·d_h = 2·${v.nHeads}·${v.dH}`, gqa: `2·n_g·d_h = 2·${v.nGroups}·${v.dH}`, mqa: `2·d_h = 2·${v.dH}`, mla: `d_c + d_h^R = ${v.dC} + ${v.dR}`,
    };
    const mha = cacheValuesPerTokenPerLayer("mha", v);
    for (const kind of CACHE_KINDS) {
      const values = cacheValuesPerTokenPerLayer(kind, v);
      const total = cacheBytes(kind, v, v.tokens, v.bytes);
      const tr = h("tr");
      tr.dataset.kind = kind;
      tr.dataset.values = String(values);
      tr.dataset.bytes = String(total);
      const name = h("td", undefined, NAMES[kind]);
      name.append(h("small", undefined, formula[kind]));
      tr.append(name, h("td", "num", int(values)),
        h("td", "num", int(cacheBytes(kind, v, 1, v.bytes))), h("td", "num", humanBytes(total)), h("td", "num", `${((100 * values) / mha).toFixed(1)}%`));
      table.append(tr);
    }
    note.textContent = `One sequence of ${int(v.tokens)} tokens at ${v.bytes} byte${v.bytes === 1 ? "" : "s"} per value; a batch of b sequences caches b times as much. GB = 10⁹ bytes.`;
  };
  pick.addEventListener("change", () => fill(pick.value));
  inputs.addEventListener("input", update);
  fill(Object.keys(presets)[0]!);
  return root;
}

function humanBytes(b: number): string {
  if (b >= 1e9) return `${(b / 1e9).toFixed(2)} GB`;
  if (b >= 1e6) return `${(b / 1e6).toFixed(2)} MB`;
  if (b >= 1e3) return `${(b / 1e3).toFixed(1)} kB`;
  return `${b} B`;
}

export interface DecodePanel {
  element: HTMLElement;
  info(v: MlaInfoView): void;
  decode(v: MlaDecodeView): void;
  clear(): void;
}

/** what the run measured on this engine: parameters, the cache counted from its tensors, the bytes held while decoding, tokens/s */
export function decodePanel(): DecodePanel {
  mlaCss();
  const root = h("div", "r1-panel r1-mla-decode");
  root.append(h("h4", undefined, "Measured on your engine"));
  const table = h("table", "r1-table");
  const note = h("p", "r1-note", "Run the four models (above) to fill this table.");
  root.append(table, note);
  let info: MlaInfoView | null = null;
  const draw = (dec: MlaDecodeView | null) => {
    table.replaceChildren();
    if (!info) return;
    const head = h("tr");
    for (const t of ["attention", "parameters", "cached values per token, all layers", "bytes per token (cache tensors)", "bytes per token held while decoding", "decode tokens/s"]) head.append(h("th", undefined, t));
    table.append(head);
    for (const k of info.kinds) {
      const row = dec?.rows.find((r) => r.kind === k.kind);
      const tr = h("tr");
      tr.dataset.kind = k.kind;
      tr.append(h("td", undefined, NAMES[k.kind]), h("td", "num", int(k.params)), h("td", "num", int(k.cacheElementsPerToken)),
        h("td", "num", int(k.cacheBytesPerToken)), h("td", "num", row ? int(row.bytesPerTokenWhileDecoding) : "…"), h("td", "num", row ? int(row.tokensPerS) : "…"));
      table.append(tr);
    }
  };
  return {
    element: root,
    info(v) {
      info = v;
      root.dataset.state = "info";
      note.textContent = `${v.nLayers} layers, ${v.nHeads} heads, d_model ${v.dModel}, context ${v.maxSeqLen}. Decoding is timed after the last step.`;
      draw(null);
    },
    decode(v) {
      root.dataset.state = "decoded";
      note.textContent = `Greedy decoding of ${v.batch} sequences to the full context with each model's cache, on ${v.backend}. ` +
        "“Held while decoding” is what the engine's live memory grew by once the prompt had filled the cache, per cached position. " +
        "Tokens/s is one wall-clock measurement: it moves with whatever else your machine is doing.";
      draw(v);
    },
    clear() {
      info = null;
      delete root.dataset.state;
      table.replaceChildren();
      note.textContent = "Run the four models (above) to fill this table.";
    },
  };
}

export interface MlaResults {
  missing?: boolean;
  runs?: RecordedRun[];
  claims?: string[];
}

/** the recorded ci runs, grouped by kind (mean and range over seeds), with their claims and commands */
export function mlaResultsPanel(results: MlaResults): HTMLElement {
  mlaCss();
  const root = h("div", "r1-panel r1-mla-results");
  if (results.missing || !Array.isArray(results.runs)) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "Not recorded yet: data/results/mla.json is not in this build. It is written from the summary.json of `r1-lab train pretrain --attention …` runs."));
    return root;
  }
  root.dataset.recorded = "yes";
  for (const preset of ["ci", "default"]) {
    if (!results.runs.some((r) => r.command.includes(`--preset ${preset} `))) continue;
    const f = mlaFacts(results.runs, preset);
    root.append(h("h4", undefined, `${preset} preset · ${f.kinds.mla.seeds} seed${f.kinds.mla.seeds > 1 ? "s" : ""} per kind · CPU engine`));
    const t = h("table", "r1-table");
    t.dataset.preset = preset;
    const head = h("tr");
    for (const c of ["attention", "parameters", "cached values per token", "bytes per token", "val loss (mean)", "min–max", "decode tokens/s (median)"]) head.append(h("th", undefined, c));
    t.append(head);
    for (const kind of CACHE_KINDS) {
      const k = f.kinds[kind];
      const tr = h("tr");
      tr.dataset.kind = kind;
      tr.append(h("td", undefined, NAMES[kind]), h("td", "num", int(k.params)), h("td", "num", int(k.cacheElementsPerToken)), h("td", "num", int(k.cacheBytesPerToken)),
        h("td", "num", k.valMean.toFixed(3)), h("td", "num", `${k.valMin.toFixed(3)}–${k.valMax.toFixed(3)}`), h("td", "num", int(k.decodeTokensPerS)));
      t.append(tr);
    }
    root.append(t);
  }
  const claims = (results.claims ?? []).filter((c): c is string => typeof c === "string");
  if (claims.length) {
    const ul = h("ul", "r1-mla-claims");
    for (const c of claims) ul.append(h("li", undefined, c));
    root.append(h("p", undefined, "What these runs show (computed from the runs by src/harness/jobs/mla-claims.ts):"), ul);
  }
  const more = h("details", "r1-more");
  more.append(h("summary", undefined, `The ${results.runs.length} commands`));
  const list = h("ul");
  for (const r of results.runs) {
    const li = h("li");
    li.append(h("code", undefined, r.command), ` → val_loss ${String(r.metrics["val_loss"])}, ${String(r.metrics["decode_tokens_per_s"])} tokens/s`);
    list.append(li);
  }
  more.append(list);
  root.append(more);
  return root;
}
