// The landing page's diagram of the R1 pipeline, drawn with D3. Each stage links to
// its lesson when that page exists, and says "coming" otherwise.
import * as d3 from "d3";
import { LESSONS, type StageId } from "../lessons.js";

interface Stage {
  id: StageId;
  title: string;
  /** what R1 did at scale (from the papers) */
  r1: string;
  /** what the kit does */
  kit: string;
  /** what flows in from above */
  input?: string;
}

const STAGES: readonly Stage[] = [
  { id: "pretrain", title: "Pretrain", r1: "V3-Base, 14.8T tokens", kit: "a tiny GPT on arithmetic", input: "synthetic textbook" },
  { id: "sft", title: "Cold-start SFT", r1: "thousands of long CoTs", kit: "<think>/<answer> traces", input: "CoT traces" },
  { id: "grpo", title: "GRPO", r1: "AIME 15.6% → 71.0%", kit: "groups + rule rewards", input: "accuracy + format rewards" },
  { id: "rejection", title: "Rejection sampling", r1: "~600k + ~200k samples", kit: "keep correct traces", input: "verifier" },
  { id: "distill", title: "Distillation", r1: "1.5B student: 28.9% AIME", kit: "SFT a smaller student" },
  { id: "test-time", title: "Test-time compute", r1: "cons@64: 86.7% AIME", kit: "self-consistency" },
];

/** greedy word wrap for SVG text (approximate glyph width: 0.56 em) */
function wrap(text: string, width: number, fontSize: number): string[] {
  const max = Math.max(4, Math.floor(width / (fontSize * 0.56)));
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

function lessonFor(stage: StageId): { slug: string; title: string } | null {
  const l = LESSONS.find((x) => x.stages.includes(stage));
  return l ? { slug: l.slug, title: l.title } : null;
}

export function pipelineDiagram({ built }: PipelineOptions): SVGSVGElement {
  const W = 1000, H = 384;
  const bw = 152, bh = 134, gap = (W - 4 - STAGES.length * bw) / (STAGES.length - 1);
  const y0 = 50;
  const svg = d3.create("svg")
    .attr("viewBox", `0 0 ${W} ${H}`)
    .attr("width", "100%")
    .attr("role", "img")
    .attr("aria-label", "The DeepSeek-R1 pipeline: pretrain, cold-start SFT, GRPO, rejection sampling, distillation, test-time compute")
    .attr("class", "r1-pipeline")
    .style("max-width", `${W}px`)
    .style("font-family", "var(--sans-serif)");

  const defs = svg.append("defs");
  defs.append("marker").attr("id", "r1-arrow").attr("viewBox", "0 0 10 10").attr("refX", 9).attr("refY", 5)
    .attr("markerWidth", 7).attr("markerHeight", 7).attr("orient", "auto-start-reverse")
    .append("path").attr("d", "M0,0L10,5L0,10z").attr("fill", "var(--theme-foreground-muted)");

  const x = (i: number) => 2 + i * (bw + gap);
  type G = d3.Selection<SVGGElement, undefined, null, undefined>;
  const lines = (g: G, text: string, tx: number, ty: number,
    size: number, width: number, attrs: Record<string, string | number>) => {
    const t = g.append("text").attr("x", tx).attr("y", ty).attr("font-size", size);
    for (const [k, v] of Object.entries(attrs)) t.attr(k, v);
    wrap(text, width, size).forEach((l, k) => t.append("tspan").attr("x", tx).attr("dy", k === 0 ? 0 : size * 1.25).text(l));
    return wrap(text, width, size).length;
  };

  // arrows between stages
  for (let i = 0; i + 1 < STAGES.length; i++) {
    svg.append("line").attr("x1", x(i) + bw + 1).attr("x2", x(i + 1) - 2).attr("y1", y0 + bh / 2).attr("y2", y0 + bh / 2)
      .attr("stroke", "var(--theme-foreground-muted)").attr("stroke-width", 1.5).attr("marker-end", "url(#r1-arrow)");
  }

  STAGES.forEach((s, i) => {
    const lesson = lessonFor(s.id);
    const live = lesson !== null && built.has(lesson.slug);
    const g0 = svg.append("g").attr("class", `r1-stage ${live ? "r1-live" : "r1-coming"}`).attr("data-stage", s.id);
    const g = (live
      ? g0.append("a").attr("href", `./${lesson!.slug}`).attr("aria-label", `${s.title}: ${lesson!.title} lesson`)
      : g0) as unknown as G;
    if (s.input) {
      g0.append("text").attr("x", x(i) + bw / 2).attr("y", 14).attr("text-anchor", "middle")
        .attr("font-size", 11).attr("fill", "var(--theme-foreground-muted)").text(s.input);
      g0.append("line").attr("x1", x(i) + bw / 2).attr("x2", x(i) + bw / 2).attr("y1", 21).attr("y2", y0 - 3)
        .attr("stroke", "var(--theme-foreground-faint)").attr("stroke-dasharray", "3,3").attr("marker-end", "url(#r1-arrow)");
    }
    g.append("rect").attr("x", x(i)).attr("y", y0).attr("width", bw).attr("height", bh).attr("rx", 8)
      .attr("fill", live ? "color-mix(in srgb, var(--r1-accent) 12%, var(--theme-background))" : "var(--theme-background-alt)")
      .attr("stroke", live ? "var(--r1-accent)" : "var(--theme-foreground-faint)")
      .attr("stroke-width", live ? 1.6 : 1).attr("stroke-dasharray", live ? null : "4,3");
    const inner = bw - 18;
    let y = y0 + 20;
    y += 16 * lines(g, `${i + 1}. ${s.title}`, x(i) + 9, y, 13, inner, { "font-weight": 700, fill: "var(--theme-foreground)" }) + 4;
    y += 13.75 * lines(g, `R1: ${s.r1}`, x(i) + 9, y, 11, inner, { fill: "var(--theme-foreground-muted)" }) + 3;
    lines(g, `here: ${s.kit}`, x(i) + 9, y, 11, inner, { fill: "var(--theme-foreground-muted)" });
    g.append("text").attr("x", x(i) + 9).attr("y", y0 + bh - 11).attr("font-size", 12).attr("font-weight", 600)
      .attr("fill", live ? "var(--r1-accent)" : "var(--theme-foreground-faint)")
      .text(live ? `${lesson!.title} lesson →` : "lesson coming");
  });

  // architecture variants under Pretrain
  const arch = LESSONS.filter((l) => l.stages.includes("arch"));
  const ay = y0 + bh + 36;
  svg.append("line").attr("x1", x(0) + bw / 2).attr("x2", x(0) + bw / 2).attr("y1", y0 + bh + 2).attr("y2", ay - 3)
    .attr("stroke", "var(--theme-foreground-faint)").attr("stroke-dasharray", "3,3");
  svg.append("text").attr("x", x(0) + bw / 2 + 8).attr("y", y0 + bh + 22).attr("font-size", 11)
    .attr("fill", "var(--theme-foreground-muted)").text("architecture: dense, or as in DeepSeek-V3 →");
  arch.forEach((l, k) => {
    const live = built.has(l.slug);
    const ax = x(0) + k * (bw + 14);
    const g0 = svg.append("g").attr("class", `r1-stage ${live ? "r1-live" : "r1-coming"}`).attr("data-stage", l.slug);
    const g = live ? g0.append("a").attr("href", `./${l.slug}`) : g0;
    g.append("rect").attr("x", ax).attr("y", ay).attr("width", bw).attr("height", 40).attr("rx", 6)
      .attr("fill", live ? "color-mix(in srgb, var(--r1-accent) 12%, var(--theme-background))" : "var(--theme-background-alt)")
      .attr("stroke", live ? "var(--r1-accent)" : "var(--theme-foreground-faint)").attr("stroke-dasharray", live ? null : "4,3");
    g.append("text").attr("x", ax + 10).attr("y", ay + 17).attr("font-size", 13).attr("font-weight", 700)
      .attr("fill", "var(--theme-foreground)").text(l.title);
    g.append("text").attr("x", ax + 10).attr("y", ay + 32).attr("font-size", 11)
      .attr("fill", live ? "var(--r1-accent)" : "var(--theme-foreground-faint)").text(live ? "lesson →" : "lesson coming");
  });

  // the engine underneath everything
  const engine = LESSONS.find((l) => l.stages.includes("engine"));
  if (engine) {
    const live = built.has(engine.slug);
    const ey = H - 52;
    const g0 = svg.append("g").attr("class", `r1-stage ${live ? "r1-live" : "r1-coming"}`).attr("data-stage", "engine");
    const g = live ? g0.append("a").attr("href", `./${engine.slug}`) : g0;
    g.append("rect").attr("x", 10).attr("y", ey).attr("width", W - 20).attr("height", 42).attr("rx", 8)
      .attr("fill", live ? "color-mix(in srgb, var(--r1-accent) 12%, var(--theme-background))" : "var(--theme-background-alt)")
      .attr("stroke", live ? "var(--r1-accent)" : "var(--theme-foreground-faint)");
    g.append("text").attr("x", 24).attr("y", ey + 26).attr("font-size", 13).attr("fill", "var(--theme-foreground)")
      .html(`<tspan font-weight="700">0. Engine</tspan>  —  under every stage: tensors, WGSL kernels and autograd on WebGPU, a CPU twin for every op`);
    g.append("text").attr("x", W - 24).attr("y", ey + 26).attr("text-anchor", "end").attr("font-size", 12).attr("font-weight", 600)
      .attr("fill", live ? "var(--r1-accent)" : "var(--theme-foreground-faint)").text(live ? "Engine lesson →" : "lesson coming");
  }
  return svg.node()!;
}
