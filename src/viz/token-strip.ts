// A token strip: a sequence of tokens, each coloured by a value (log-probability,
// advantage, entropy, attention to one position...), with a tooltip per token.
//
//   const strip = tokenStrip({ valueLabel: "p(token)", domain: [0, 1] });
//   strip.update([{ text: "1", value: 0.93 }, { text: "+", value: 0.41 }, ...]);
import * as d3 from "d3";
import { ensureStyles, el, fmt } from "./style.js";

export interface Token {
  text: string;
  value: number;
  /** extra line for the tooltip */
  note?: string;
}

export interface TokenStripOptions {
  title?: string;
  valueLabel?: string;
  /** colour domain; default [min, max] of the values (symmetric when diverging) */
  domain?: readonly [number, number];
  /** "sequential" (white → blue) or "diverging" (red ← 0 → blue) */
  scheme?: "sequential" | "diverging";
  /** how to show whitespace and control characters (default: visible symbols) */
  showWhitespace?: boolean;
}

export interface TokenStrip {
  readonly element: HTMLElement;
  update(tokens: readonly Token[]): void;
}

function visible(text: string): string {
  return text.replace(/ /g, "␣").replace(/\n/g, "⏎").replace(/\t/g, "⇥");
}

export function tokenStrip(options: TokenStripOptions = {}): TokenStrip {
  ensureStyles();
  const root = el("div", "r1v r1v-tokenstrip");
  if (options.title) root.append(el("div", "r1v-title", options.title));
  const strip = el("div", "r1v-tokens");
  root.append(strip);
  const tip = el("div", "r1v-tip");
  tip.hidden = true;
  strip.append(tip);
  const bar = el("div", "r1v-colorbar");
  root.append(bar);
  const diverging = options.scheme === "diverging";

  function update(tokens: readonly Token[]): void {
    let lo = d3.min(tokens, (t) => (Number.isFinite(t.value) ? t.value : undefined)) ?? 0;
    let hi = d3.max(tokens, (t) => (Number.isFinite(t.value) ? t.value : undefined)) ?? 1;
    if (options.domain) [lo, hi] = options.domain;
    if (diverging && !options.domain) { const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1; lo = -m; hi = m; }
    if (lo === hi) hi = lo + 1;
    const t = (v: number) => Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
    const color = diverging ? (v: number) => d3.interpolateRdBu(t(v)) : (v: number) => d3.interpolateBlues(0.05 + 0.8 * t(v));
    const ink = (v: number) => (diverging ? Math.abs(t(v) - 0.5) > 0.35 : t(v) > 0.6) ? "#fff" : "#111";
    const spans = tokens.map((tok) => {
      const s = el("span", "r1v-token", options.showWhitespace === false ? tok.text : visible(tok.text));
      s.style.background = Number.isFinite(tok.value) ? color(tok.value) : "transparent";
      s.style.color = Number.isFinite(tok.value) ? ink(tok.value) : "inherit";
      s.dataset.value = String(tok.value);
      s.addEventListener("pointerenter", () => {
        tip.innerHTML = "";
        const head = el("div");
        head.append(el("b", undefined, JSON.stringify(tok.text)), ` ${options.valueLabel ?? "value"} ${fmt(tok.value)}`);
        tip.append(head);
        if (tok.note) tip.append(el("div", undefined, tok.note));
        tip.hidden = false;
        tip.style.left = `${s.offsetLeft}px`;
        tip.style.top = `${s.offsetTop + s.offsetHeight + 4}px`;
      });
      s.addEventListener("pointerleave", () => { tip.hidden = true; });
      return s;
    });
    strip.replaceChildren(...spans, tip);
    const c = el("canvas");
    const W = 140;
    c.width = W; c.height = 10;
    c.style.width = `${W}px`; c.style.height = "10px";
    const ctx = c.getContext("2d");
    if (ctx) for (let x = 0; x < W; x++) { ctx.fillStyle = color(lo + ((hi - lo) * x) / (W - 1)); ctx.fillRect(x, 0, 1, 10); }
    bar.replaceChildren(el("span", undefined, fmt(lo)), c, el("span", undefined, fmt(hi)), el("span", undefined, options.valueLabel ?? ""));
    root.dataset.tokens = String(tokens.length);
  }

  return { element: root, update };
}
