// Observable Framework configuration for the R1 Lab site (Framework 1.13.4).
//
// Offline by construction: no Google Fonts (globalStylesheets: []), no CDN imports
// (pages import d3 and katex by bare name, bundled from node_modules), KaTeX's CSS
// and fonts served from docs/assets/katex.css (a data loader that inlines the fonts).
// Pages import the real library through the docs/lib -> ../src symlink.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LESSONS } from "./docs/lessons.js";

const docs = join(dirname(fileURLToPath(import.meta.url)), "docs");

/** Lessons whose page exists, in pipeline order (checked at every render, so the preview picks up new pages). */
function built(): string[] {
  return LESSONS.filter((l) => existsSync(join(docs, `${l.slug}.md`))).map((l) => l.slug);
}

const escapeJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

export default {
  title: "R1 Lab",
  root: "docs",
  pages: [
    ...LESSONS.filter((l) => existsSync(join(docs, `${l.slug}.md`))).map((l) => ({ name: l.title, path: `/${l.slug}` })),
    { name: "For contributors", collapsible: true, open: false, pager: "contributors", pages: [
      { name: "Viz components", path: "/gallery" },
      { name: "Lesson template", path: "/lesson-template" },
    ] },
  ],
  globalStylesheets: [],
  style: "assets/style.css",
  head: () =>
    `<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">` +
    `<link rel="stylesheet" href="/assets/katex.css">` +
    `<script type="application/json" id="r1-built-lessons">${escapeJson(built())}</script>`,
  footer:
    `R1 Lab — the DeepSeek-R1 recipe in miniature, trained live on WebGPU in your browser. ` +
    `MIT licence.`,
  toc: true,
  pager: true,
  search: false,
  sidebar: true,
};
