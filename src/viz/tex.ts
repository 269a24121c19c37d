// KaTeX typesetting for pages, offline (katex is bundled from node_modules; its
// stylesheet and fonts come from docs/assets/katex.css).
//
// In a Framework page:
//   import {tex} from "./lib/viz/tex.js";
//   The loss is ${tex`\mathcal{L} = -\log p_\theta(x)`} inline, or as a block:
//   ${tex.block`J(\theta) = \mathbb{E}\left[\ldots\right]`}
// Template literals are read raw, so backslashes need no escaping.
import katex from "katex";

export interface TexOptions {
  displayMode?: boolean;
  /** extra macros, e.g. { "\\E": "\\mathbb{E}" } */
  macros?: Record<string, string>;
}

/** Shared macros for the course's notation. */
export const MACROS: Record<string, string> = {
  "\\E": "\\mathbb{E}",
  "\\R": "\\mathbb{R}",
  "\\KL": "\\mathrm{KL}",
  "\\softmax": "\\operatorname{softmax}",
  "\\clip": "\\operatorname{clip}",
  "\\rms": "\\operatorname{rms}",
};

/** KaTeX HTML for a TeX string (errors render in red instead of throwing). */
export function texToHtml(source: string, options: TexOptions = {}): string {
  return katex.renderToString(source, {
    displayMode: options.displayMode ?? false,
    throwOnError: false,
    errorColor: "#d1453b",
    macros: { ...MACROS, ...options.macros },
    output: "htmlAndMathml",
    trust: false,
    strict: "ignore",
  });
}

/** A DOM element holding typeset math. */
export function texElement(source: string, options: TexOptions = {}): HTMLElement {
  const e = document.createElement(options.displayMode ? "div" : "span");
  e.className = options.displayMode ? "r1-tex r1-tex-block" : "r1-tex";
  e.innerHTML = texToHtml(source, options);
  return e;
}

type TexTag = ((strings: TemplateStringsArray, ...values: unknown[]) => HTMLElement) & {
  /** display (block) math */
  block: (strings: TemplateStringsArray, ...values: unknown[]) => HTMLElement;
  /** inline math from a plain string */
  of: (source: string) => HTMLElement;
};

/** Inline math: tex`x^2`; display math: tex.block`\sum_i x_i`. */
export const tex: TexTag = Object.assign(
  (strings: TemplateStringsArray, ...values: unknown[]) => texElement(String.raw(strings, ...values)),
  {
    block: (strings: TemplateStringsArray, ...values: unknown[]) =>
      texElement(String.raw(strings, ...values), { displayMode: true }),
    of: (source: string) => texElement(source),
  },
);
