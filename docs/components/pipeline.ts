// The landing page's diagram of how DeepSeek-R1 was made, drawn with D3, as the R1 paper
// has it: R1-Zero (GRPO straight on V3-Base) above; R1's four stages in a row, with the
// second SFT starting again from V3-Base on the 800k rejection-sampled samples;
// distillation as a branch from those samples. Every number is labelled with the model
// it belongs to (facts: /work/shared/reference/deepseek-r1-algorithms.md §4). A box
// links to its lesson when that page exists and says "coming" otherwise.
//
// The picture keeps a fixed size so its labels stay legible; on a narrow screen its
// box scrolls sideways (.r1-scroll-x).
import * as d3 from "d3";
import { LESSONS, type StageId } from "../lessons.js";

interface Box {
  /** data-stage: what the e2e tests and the page's CSS find it by */
  id: string;
  /** the lesson that teaches it (none: a stage the kit does not reproduce) */
  stage?: StageId;
  title: string;
  /** what DeepSeek did, with the model each number belongs to */
  r1: string;
  /** what this kit does, when it does it */
  kit?: string;
  col: number;
  /** columns the box spans (default 1) */
  span?: number;
  row: "zero" | "main" | "branch";
}

const BOXES: readonly Box[] = [
  { id: "pretrain", stage: "pretrain", title: "Pretrain → V3-Base", col: 0, row: "main",
    r1: "14.8T tokens. V3-Base: 15.6% on AIME 2024 before any RL", kit: "a tiny GPT reads an arithmetic textbook" },
  { id: "r1-zero", stage: "grpo", title: "R1-Zero: GRPO on V3-Base", col: 1, span: 2, row: "zero",
    r1: "rule rewards only. R1-Zero: AIME 15.6% → 71.0% pass@1, 86.7% cons@64; hard to read, mixes languages" },
  { id: "sft", stage: "sft", title: "1. Cold-start SFT", col: 1, row: "main",
    r1: "V3-Base on thousands of long, readable CoTs", kit: "<think>/<answer> traces" },
  { id: "grpo", stage: "grpo", title: "2. Reasoning RL (GRPO)", col: 2, row: "main",
    r1: "as R1-Zero, plus a language-consistency reward", kit: "groups + rule rewards" },
  { id: "rejection", stage: "rejection", title: "3. Rejection sampling", col: 3, row: "main",
    r1: "~600k correct reasoning + ~200k other samples = 800k", kit: "keep verified-correct traces" },
  { id: "resft", title: "SFT of V3-Base again", col: 4, row: "main",
    r1: "V3-Base (not the RL model), 2 epochs on the 800k", kit: "not reproduced" },
  { id: "rl-all", title: "4. RL, all scenarios", col: 5, row: "main",
    r1: "rules for reasoning, reward models for the rest. R1: AIME 79.8% pass@1", kit: "not reproduced" },
  { id: "distill", stage: "distill", title: "Distillation (a branch)", col: 3, row: "branch",
    r1: "SFT only, small Qwen/Llama students on the 800k. R1-Distill-Qwen-1.5B: 28.9% AIME", kit: "SFT a smaller student" },
  { id: "test-time", stage: "test-time", title: "Test-time compute", col: 5, row: "branch",
    r1: "AIME scored as pass@1 over k samples; cons@64 = majority of 64", kit: "self-consistency" },
];

const W = 1090, BW = 156, GAP = 26;
const colX = (c: number) => 10 + c * (BW + GAP);
const TITLE = 14, BODY = 12.5, PAD = 8;
const LH = 1.25; // line height, in font sizes
const boxWidth = (b: Box) => (b.span ?? 1) * BW + ((b.span ?? 1) - 1) * GAP;

/** greedy word wrap for SVG text (approximate glyph width: 0.6 em, enough for bold) */
function wrap(text: string, width: number, fontSize: number): string[] {
  const max = Math.max(4, Math.floor(width / (fontSize * 0.6)));
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > max) { lines.push(line); line = word; }
    else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export interface PipelineOptions {
  /** slugs of lessons whose pages exist */
  built: ReadonlySet<string>;
}

function lessonFor(stage: StageId | undefined): { slug: string; title: string } | null {
  if (!stage) return null;
  const l = LESSONS.find((x) => x.stages.includes(stage));
  return l ? { slug: l.slug, title: l.title } : null;
}

type G = d3.Selection<SVGGElement, undefined, null, undefined>;
type Svg = d3.Selection<SVGSVGElement, undefined, null, undefined>;

const MUTED = "var(--theme-foreground-muted)";
const FAINT = "var(--theme-foreground-faint)";
const fillFor = (live: boolean) => live ? "color-mix(in srgb, var(--r1-accent) 12%, var(--theme-background))" : "var(--theme-background-alt)";

function textLines(g: G, text: string, x: number, y: number, size: number, width: number, attrs: Record<string, string | number>): number {
  const t = g.append("text").attr("x", x).attr("y", y).attr("font-size", size);
  for (const [k, v] of Object.entries(attrs)) t.attr(k, v);
  const ls = wrap(text, width, size);
  ls.forEach((l, k) => t.append("tspan").attr("x", x).attr("dy", k === 0 ? 0 : size * LH).text(l));
  return ls.length;
}

function arrow(svg: Svg, x1: number, y1: number, x2: number, y2: number, dashed = false, label?: string): void {
  svg.append("path").attr("d", `M${x1},${y1}L${x2},${y2}`).attr("fill", "none")
    .attr("stroke", dashed ? FAINT : MUTED).attr("stroke-width", 1.5).attr("stroke-dasharray", dashed ? "4,3" : null)
    .attr("marker-end", "url(#r1-arrow)");
  if (label) svg.append("text").attr("x", (x1 + x2) / 2 + 6).attr("y", (y1 + y2) / 2 - 4).attr("font-size", 11).attr("fill", MUTED).text(label);
}

/** the height a box needs for its wrapped text and its lesson line */
function boxHeight(b: Box): number {
  const inner = boxWidth(b) - 2 * PAD;
  const lines = (t: string, size: number) => wrap(t, inner, size).length;
  return 20 + TITLE * LH * lines(b.title, TITLE) + 3 + BODY * LH * lines(b.r1, BODY) + 3 + (b.kit ? BODY * LH * lines(`here: ${b.kit}`, BODY) : 0) + 22;
}

/** one stage: a box that links to its lesson when the page exists */
function stageBox(svg: Svg, b: Box, built: ReadonlySet<string>, y: number, height: number): void {
  const lesson = lessonFor(b.stage);
  const live = lesson !== null && built.has(lesson.slug);
  const x = colX(b.col);
  const width = boxWidth(b);
  const g0 = svg.append("g").attr("class", `r1-stage ${live ? "r1-live" : "r1-coming"}`).attr("data-stage", b.id);
  const g = (live ? g0.append("a").attr("href", `./${lesson!.slug}`).attr("aria-label", `${b.title}: ${lesson!.title} lesson`) : g0) as unknown as G;
  g.append("rect").attr("x", x).attr("y", y).attr("width", width).attr("height", height).attr("rx", 8)
    .attr("fill", fillFor(live)).attr("stroke", live ? "var(--r1-accent)" : FAINT)
    .attr("stroke-width", live ? 1.6 : 1).attr("stroke-dasharray", live ? null : "4,3");
  const inner = width - 2 * PAD;
  let ty = y + 20;
  ty += TITLE * LH * textLines(g, b.title, x + PAD, ty, TITLE, inner, { "font-weight": 700, fill: "var(--theme-foreground)" }) + 3;
  ty += BODY * LH * textLines(g, b.r1, x + PAD, ty, BODY, inner, { fill: MUTED }) + 3;
  if (b.kit) textLines(g, `here: ${b.kit}`, x + PAD, ty, BODY, inner, { fill: "var(--theme-foreground)" });
  if (lesson) {
    g.append("text").attr("x", x + 8).attr("y", y + height - 9).attr("font-size", 12).attr("font-weight", 600)
      .attr("fill", live ? "var(--r1-accent)" : FAINT).text(live ? `${lesson.title} lesson →` : "lesson coming");
  }
}

export function pipelineDiagram({ built }: PipelineOptions): HTMLElement {
  // rows as tall as their tallest box
  const rowH = (row: Box["row"]) => Math.max(...BOXES.filter((b) => b.row === row).map(boxHeight));
  const ROW_Y = { zero: 34, main: 34 + rowH("zero") + 56, branch: 0 };
  const BH = rowH("main");
  ROW_Y.branch = ROW_Y.main + BH + 76;
  const ARCH_H = 42, ARCH_GAP = 10;
  const H = ROW_Y.branch + Math.max(rowH("branch"), 2 * ARCH_H + ARCH_GAP) + 24 + 54;
  const svg = d3.create("svg")
    .attr("viewBox", `0 0 ${W} ${H}`).attr("width", "100%")
    .style("min-width", "900px") // below that its labels get too small: the box scrolls instead
    .attr("role", "img")
    .attr("aria-label", "How DeepSeek-R1 was made: V3-Base; R1-Zero by GRPO alone; R1 by cold-start SFT, reasoning RL, rejection sampling, SFT of V3-Base on 800k samples and RL for all scenarios; distillation of small models from the 800k samples")
    .attr("class", "r1-pipeline")
    .style("font-family", "var(--sans-serif)");
  svg.append("defs").append("marker").attr("id", "r1-arrow").attr("viewBox", "0 0 10 10").attr("refX", 9).attr("refY", 5)
    .attr("markerWidth", 7).attr("markerHeight", 7).attr("orient", "auto-start-reverse")
    .append("path").attr("d", "M0,0L10,5L0,10z").attr("fill", MUTED);

  // row labels
  const label = (y: number, text: string) => svg.append("text").attr("x", colX(1)).attr("y", y).attr("font-size", 12)
    .attr("font-weight", 600).attr("fill", MUTED).text(text);
  label(ROW_Y.zero - 12, "DeepSeek-R1-Zero: reinforcement learning alone");
  label(ROW_Y.main - 12, "DeepSeek-R1: four stages (the paper's numbering)");

  const mid = (c: number) => colX(c) + BW / 2;
  const main = ROW_Y.main;
  // R1-Zero branches off V3-Base
  arrow(svg, mid(0), main - 2, colX(1) - 2, ROW_Y.zero + rowH("zero") / 2);
  // R1's chain
  for (let c = 0; c < 5; c++) arrow(svg, colX(c) + BW + 1, main + BH / 2, colX(c + 1) - 2, main + BH / 2);
  // the second SFT starts again from V3-Base: a lane under the chain
  const lane = main + BH + 22;
  svg.append("path").attr("d", `M${mid(0)},${main + BH + 1}L${mid(0)},${lane}L${mid(4)},${lane}L${mid(4)},${main + BH + 3}`)
    .attr("fill", "none").attr("stroke", MUTED).attr("stroke-width", 1.5).attr("stroke-dasharray", "5,3").attr("marker-end", "url(#r1-arrow)");
  svg.append("text").attr("x", mid(1) - 30).attr("y", lane - 5).attr("font-size", 11).attr("fill", MUTED)
    .text("V3-Base again: stage 3's samples fine-tune the base model, not the RL model");
  // distillation branches off the 800k samples; test-time compute reads the finished model
  arrow(svg, mid(3), main + BH + 1, mid(3), ROW_Y.branch - 3, false);
  svg.append("text").attr("x", mid(3) + 6).attr("y", ROW_Y.branch - 12).attr("font-size", 11).attr("fill", MUTED).text("the 800k samples");
  arrow(svg, mid(5), main + BH + 1, mid(5), ROW_Y.branch - 3, false);
  svg.append("text").attr("x", mid(5) + 6).attr("y", ROW_Y.branch - 12).attr("font-size", 11).attr("fill", MUTED).text("evaluate");

  for (const b of BOXES) stageBox(svg, b, built, ROW_Y[b.row], rowH(b.row));
  // architecture variants, beside Pretrain
  const arch = LESSONS.filter((l) => l.stages.includes("arch"));
  const ay = ROW_Y.branch;
  svg.append("text").attr("x", colX(0)).attr("y", ay - 12).attr("font-size", 11).attr("fill", MUTED).text("architecture: dense, or as in V3");
  arch.forEach((l, k) => {
    const live = built.has(l.slug);
    const ax = colX(0), by = ay + k * (ARCH_H + ARCH_GAP);
    const g0 = svg.append("g").attr("class", `r1-stage ${live ? "r1-live" : "r1-coming"}`).attr("data-stage", l.slug);
    const g = live ? g0.append("a").attr("href", `./${l.slug}`) : g0;
    g.append("rect").attr("x", ax).attr("y", by).attr("width", BW).attr("height", ARCH_H).attr("rx", 6)
      .attr("fill", fillFor(live)).attr("stroke", live ? "var(--r1-accent)" : FAINT).attr("stroke-dasharray", live ? null : "4,3");
    g.append("text").attr("x", ax + 10).attr("y", by + 18).attr("font-size", 13).attr("font-weight", 700).attr("fill", "var(--theme-foreground)").text(l.title);
    g.append("text").attr("x", ax + 10).attr("y", by + 34).attr("font-size", 12)
      .attr("fill", live ? "var(--r1-accent)" : FAINT).text(live ? "lesson →" : "coming");
  });

  // the engine underneath everything
  const engine = LESSONS.find((l) => l.stages.includes("engine"));
  if (engine) {
    const live = built.has(engine.slug);
    const ey = H - 54;
    const g0 = svg.append("g").attr("class", `r1-stage ${live ? "r1-live" : "r1-coming"}`).attr("data-stage", "engine");
    const g = live ? g0.append("a").attr("href", `./${engine.slug}`) : g0;
    g.append("rect").attr("x", 10).attr("y", ey).attr("width", W - 20).attr("height", 44).attr("rx", 8)
      .attr("fill", fillFor(live)).attr("stroke", live ? "var(--r1-accent)" : FAINT);
    g.append("text").attr("x", 24).attr("y", ey + 27).attr("font-size", 13).attr("fill", "var(--theme-foreground)")
      .html(`<tspan font-weight="700">Engine</tspan>  —  under every stage here: tensors, kernels and autograd on WebGPU, a CPU twin for every op`);
    g.append("text").attr("x", W - 24).attr("y", ey + 27).attr("text-anchor", "end").attr("font-size", 12).attr("font-weight", 600)
      .attr("fill", live ? "var(--r1-accent)" : FAINT).text(live ? "Engine lesson →" : "coming");
  }

  const box = document.createElement("div");
  box.className = "r1-scroll-x";
  box.append(svg.node()!);
  return box;
}
