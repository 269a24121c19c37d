// Shared styles for the viz components, injected once per document so that each
// component works on any page (or outside Framework) without a stylesheet import.
// Colours follow the page's theme through CSS variables, with plain fallbacks.

const CSS = `
.r1v { font-family: var(--sans-serif, system-ui, sans-serif); font-size: 12px; color: var(--theme-foreground, #1b1e23); }
.r1v-title { font-weight: 600; font-size: 13px; margin: 0 0 4px 0; }
.r1v-controls { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 14px; margin: 2px 0 4px 0; color: var(--theme-foreground-muted, #555); }
.r1v-controls label { display: inline-flex; align-items: center; gap: 5px; cursor: pointer; }
.r1v-controls input[type=range] { width: 72px; }
.r1v-axis-label { fill: var(--theme-foreground-muted, #555); font-size: 10px; }
.r1v-legend { display: flex; flex-wrap: wrap; gap: 2px 12px; }
.r1v-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.r1v-plot { position: relative; }
.r1v-plot svg { display: block; overflow: visible; }
.r1v-plot canvas { position: absolute; left: 0; top: 0; }
.r1v-axis text { fill: var(--theme-foreground-muted, #555); font-size: 10px; }
.r1v-axis path, .r1v-axis line { stroke: var(--theme-foreground-faint, #999); }
.r1v-grid line { stroke: var(--theme-foreground-faintest, #e5e5e5); }
.r1v-grid path { display: none; }
.r1v-tip { position: absolute; pointer-events: none; background: var(--theme-background, #fff); border: 1px solid var(--theme-foreground-faint, #bbb);
  border-radius: 4px; padding: 4px 7px; font-size: 11px; line-height: 1.45; white-space: nowrap; box-shadow: 0 2px 6px rgba(0,0,0,.12); z-index: 5;
  font-variant-numeric: tabular-nums; }
.r1v-tip[hidden] { display: none; }
.r1v-empty { fill: var(--theme-foreground-faint, #999); font-size: 12px; }
.r1v-progress { display: flex; align-items: center; gap: 10px; max-width: 720px; }
.r1v-progress-track { flex: 1; height: 10px; border-radius: 5px; background: var(--theme-foreground-faintest, #e8e8e8); overflow: hidden; }
.r1v-progress-fill { height: 100%; width: 0%; background: var(--r1-accent, #4269d0); transition: width 120ms linear; }
.r1v-progress-text { min-width: 18em; font-variant-numeric: tabular-nums; color: var(--theme-foreground-muted, #555); }
.r1v-tokens { display: flex; flex-wrap: wrap; gap: 2px; font-family: var(--monospace, ui-monospace, monospace); font-size: 13px; line-height: 1.2; position: relative; }
.r1v-token { padding: 2px 1px; border-radius: 3px; white-space: pre; cursor: default; min-width: 0.6em; text-align: center; }
.r1v-token:hover { outline: 1px solid var(--theme-foreground, #000); }
.r1v-colorbar { display: flex; align-items: center; gap: 6px; margin-top: 4px; color: var(--theme-foreground-muted, #555); }
.r1v-colorbar canvas { border-radius: 2px; }
`;

const injected = new WeakSet<Document>();

export function ensureStyles(doc: Document = document): void {
  if (injected.has(doc)) return;
  injected.add(doc);
  const style = doc.createElement("style");
  style.dataset.r1Viz = "";
  style.textContent = CSS;
  doc.head.appendChild(style);
}

/** A categorical palette that reads on light and dark backgrounds (Observable 10). */
export const PALETTE = [
  "#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e", "#9498a0",
] as const;

/** Format a number compactly for axes and read-outs. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

/** Seconds as "1h 02m", "3m 05s" or "12.3s". */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(r).padStart(2, "0")}s`;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, className?: string, text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
